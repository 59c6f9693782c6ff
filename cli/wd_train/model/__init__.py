"""The model stage: the tagger (`tagger`: keras_bert backbone + head; `attention`: the
attention-dropout shim), keras_bert's AdamWarmup (`optimizer`, its one shim) and its schedule
(`schedule`), and `hf_import` (HF weights → Google-format folder). TensorFlow only inside
functions."""
