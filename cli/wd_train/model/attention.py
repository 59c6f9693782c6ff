"""Dropout on keras_bert's attention probabilities (BERT's `attention_probs_dropout_prob`).

keras_bert builds its self-attention from keras_multi_head's `MultiHeadAttention`, which creates a
keras_self_attention `ScaledDotProductAttention` inside every call; neither has a dropout, so
keras_bert silently leaves out this part of BERT's recipe (the loader ignores the checkpoint's
`attention_probs_dropout_prob`). No library option restores it, hence this small shim:

- the module-level name `ScaledDotProductAttention` that `MultiHeadAttention.call` looks up is
  pointed at a subclass that, when training, multiplies the attention probabilities the parent
  computed by a dropout mask before they weight the values (the parent's own math is reused; its
  undropped product goes unused and is pruned from the traced graph);
- `MultiHeadAttention.call` is wrapped to hand each layer's rate to the attention it creates.

The rate is per layer (`set_attention_dropout(model, rate)`), so models with different rates can
live in one process. Rate 0 leaves keras_bert's computation exactly as it was.
"""

from __future__ import annotations

import contextvars

_current_rate = contextvars.ContextVar("wd_train_attention_dropout", default=0.0)
_PATCHED = False


def _patch() -> None:
    global _PATCHED
    if _PATCHED:
        return
    import keras_multi_head.multi_head_attention as mha_module
    import tensorflow as tf
    from keras_multi_head import MultiHeadAttention
    from tensorflow.keras import backend as K

    parent = mha_module.ScaledDotProductAttention

    class DropoutScaledDotProductAttention(parent):
        def __init__(self, **kwargs):
            super().__init__(**kwargs)
            self.dropout_rate = _current_rate.get()

        def call(self, inputs, mask=None, training=None, **kwargs):
            output = super().call(inputs, mask=mask, **kwargs)
            if not training or self.dropout_rate <= 0.0 or self.return_attention:
                return output
            value = inputs[2] if isinstance(inputs, list) else inputs
            return K.batch_dot(tf.nn.dropout(self.attention, rate=self.dropout_rate), value)

    original_call = MultiHeadAttention.call

    def call(self, inputs, mask=None):
        token = _current_rate.set(getattr(self, "attention_dropout", 0.0))
        try:
            return original_call(self, inputs, mask)
        finally:
            _current_rate.reset(token)

    mha_module.ScaledDotProductAttention = DropoutScaledDotProductAttention
    MultiHeadAttention.call = call
    _PATCHED = True


def set_attention_dropout(model, rate: float) -> int:
    """Apply dropout `rate` to the attention probabilities of every keras_bert attention layer
    of `model` (at the next trace). Returns how many layers were set."""
    from keras_multi_head import MultiHeadAttention

    _patch()
    layers = [layer for layer in model.layers if isinstance(layer, MultiHeadAttention)]
    for layer in layers:
        layer.attention_dropout = float(rate)
    return len(layers)
