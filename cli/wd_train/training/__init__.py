"""The training stage: the loop (`loop`), one run start to finish (`run`), resuming an
interrupted run (`resume`), TensorBoard events (`tensorboard`), the device and its settings
(`device`) and tf.distribute strategies (`distribute`)."""
