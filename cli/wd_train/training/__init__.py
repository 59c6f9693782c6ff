"""The training stage: what a run trains with, built from its config (`setup`), the loop that
trains it (`loop`), one run start to finish (`run`), resuming an interrupted run from its epoch
snapshots (`resume`), TensorBoard events (`tensorboard`), the device and its settings (`device`)
and tf.distribute strategies (`distribute`)."""
