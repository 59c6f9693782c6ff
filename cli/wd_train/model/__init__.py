"""The model stage: the tagger (`tagger`: keras_bert backbone + head, its per-part learning-rate
factors), the CRF written here (`crf`: no maintained one for TF 2.21 + tf-keras), each head's
loss and decoder with constrained Viterbi (`decoding`), the GELU and LayerNorm shim
(`activation`), attention dropout (`attention`), mixed precision (`precision`), keras_bert's
AdamWarmup (`optimizer`, its one shim) and its schedules (`schedule`), and `hf_import` (HF
weights → Google-format folder). TensorFlow only inside functions."""
