"""Mixed precision for keras_bert's stack: the one shim that makes it follow a Keras dtype policy.

Under `mixed_bfloat16` / `mixed_float16` Keras layers compute in the low dtype and keep float32
variables, but keras_bert's layers were written for float32:
- keras_self_attention's `ScaledDotProductAttention` casts the scale and the `-10000 · (1 −
  mask)` term with `K.floatx()` (float32), which clashes with bfloat16 scores. While such a
  layer runs, `K.floatx()` answers the layer's compute dtype instead (its formula unchanged);
- keras_layer_normalization's `LayerNormalization` uses epsilon 1e-14, below float16's
  resolution, and a variance in a 8-bit mantissa: these layers are built with a float32 policy
  (Keras casts their inputs up and the next layer's back down), as Keras' own layer norms do;
- the tagger's head (logits) is float32 too (model/tagger.py), so the loss is float32.

`set_precision(name)` sets the global policy before the model is built; `float32` is keras_bert
exactly as it is. TensorFlow is imported inside the functions.
"""

from __future__ import annotations

import contextlib

PRECISIONS = ("float32", "mixed_bfloat16", "mixed_float16")
_PATCHED = False


@contextlib.contextmanager
def _floatx(dtype: str):
    """`K.floatx()` answers `dtype` inside (set_floatx refuses bfloat16, so the global is set
    directly; tracing is single-threaded, and the old value always comes back)."""
    from tf_keras.src import backend_config

    saved = backend_config._FLOATX
    backend_config._FLOATX = dtype
    try:
        yield
    finally:
        backend_config._FLOATX = saved


def _patch() -> None:
    global _PATCHED
    if _PATCHED:
        return
    import tensorflow as tf
    from keras_layer_normalization import LayerNormalization
    from keras_self_attention import ScaledDotProductAttention

    attention_call = ScaledDotProductAttention.call

    def call(self, inputs, mask=None, **kwargs):
        with _floatx(self.compute_dtype):
            return attention_call(self, inputs, mask=mask, **kwargs)

    ScaledDotProductAttention.call = call

    norm_init = LayerNormalization.__init__

    def __init__(self, *args, **kwargs):
        if "dtype" not in kwargs and tf.keras.mixed_precision.global_policy().name != "float32":
            kwargs["dtype"] = "float32"
        norm_init(self, *args, **kwargs)

    LayerNormalization.__init__ = __init__
    _PATCHED = True


def set_precision(name: str) -> None:
    """The Keras dtype policy for models built from now on (and the shim above)."""
    import tensorflow as tf

    if name not in PRECISIONS:
        raise ValueError(f"precision {name!r}: expected one of {PRECISIONS}")
    _patch()
    tf.keras.mixed_precision.set_global_policy(name)
