"""The backbone's GELU and LayerNorm epsilon: the one shim that makes keras_bert's network
faithful to a checkpoint.

keras_bert builds every feed-forward layer with the tanh approximation of GELU
(keras_transformer's `gelu`) and every LayerNorm with epsilon K.epsilon()² = 1e-14. BERT
checkpoints converted from Hugging Face were trained with the exact (erf) GELU (HF's `gelu`;
`gelu_new` / `gelu_pytorch_tanh` are the tanh form) and epsilon 1e-12 (`layer_norm_eps`), and
Google's TF BERT uses epsilon 1e-12 too. keras_bert's `get_model` takes the feed-forward
activation as an argument (a callable is passed through); the LayerNorm epsilon it never sets,
so LayerNorms built inside `layer_norm_epsilon(eps)` get `eps` as their default.

`model.activation`:
- `gelu_tanh` (default): keras_bert exactly as it is (tanh GELU, epsilon 1e-14);
- `gelu_erf`: exact GELU and the checkpoint's epsilon (wd_train.json's layer_norm_eps, else
  BERT's 1e-12);
- `auto`: what the checkpoint was trained with (import-hf records HF's hidden_act and
  layer_norm_eps in wd_train.json; a Google checkpoint, which has neither, is taken as Google's
  TF BERT: tanh GELU, epsilon 1e-12); a random_init model stays keras_bert's.
"""

from __future__ import annotations

import contextlib
from typing import TYPE_CHECKING

if TYPE_CHECKING:
    from ..bert_folder import ImportMeta

KERAS_BERT_EPSILON = 1e-14
BERT_EPSILON = 1e-12
# HF activation names of the exact GELU; the others keras_bert supports are the tanh form
ERF_GELU_NAMES = ("gelu",)

_epsilon: float | None = None  # while building: the LayerNorm epsilon default
_PATCHED = False


def resolve(activation: str, meta: ImportMeta | None) -> tuple[str, float]:
    """(gelu_tanh | gelu_erf, LayerNorm epsilon) for `model.activation` and the checkpoint's
    wd_train.json (`meta`; None for a randomly initialised model, which has no checkpoint)."""
    if meta is None:
        return (activation if activation != "auto" else "gelu_tanh",
                KERAS_BERT_EPSILON if activation in ("auto", "gelu_tanh") else BERT_EPSILON)
    if activation == "gelu_tanh":
        return "gelu_tanh", KERAS_BERT_EPSILON
    epsilon = BERT_EPSILON if meta.layer_norm_eps is None else meta.layer_norm_eps
    if activation == "gelu_erf":
        return "gelu_erf", epsilon
    hidden_act = meta.hidden_act
    if hidden_act is None:  # a Google checkpoint: its TF code's tanh GELU, epsilon 1e-12
        return "gelu_tanh", epsilon
    return ("gelu_erf" if hidden_act in ERF_GELU_NAMES else "gelu_tanh"), epsilon


def feed_forward_activation(activation: str):
    """What keras_bert's get_model is given for its feed-forward layers: the tanh GELU (its own
    formula) or the exact one, each with a hand-written gradient (see `_lean_gelu`)."""
    return _lean_gelu(activation)


def _lean_gelu(activation: str):
    """The GELU with a hand-written gradient that keeps only its input for the backward pass.

    Differentiated op by op, the tanh form keeps about five tensors of the feed-forward layer's
    size (batch × length × intermediate) per layer until the backward pass: the largest part of
    a step's transient memory. Here the forward values are the same ops in the same order as
    keras_transformer's `gelu` (bit-identical), and the backward pass recomputes the tanh from
    the input: the same derivative, rounded differently (float32 reassociation)."""
    import math

    import tensorflow as tf

    if activation == "gelu_tanh":
        root = math.sqrt(2.0 / math.pi)

        @tf.custom_gradient
        def gelu(x):
            # keras_transformer.gelu.gelu, written identically
            y = 0.5 * x * (1.0 + tf.tanh(root * (x + 0.044715 * x * x * x)))

            def backward(dy):
                t = tf.tanh(root * (x + 0.044715 * x * x * x))
                slope = root * (1.0 + 3.0 * 0.044715 * x * x)
                return dy * (0.5 * (1.0 + t) + 0.5 * x * (1.0 - t * t) * slope)

            return y, backward

        return gelu

    @tf.custom_gradient
    def gelu_erf(x):
        y = tf.nn.gelu(x, approximate=False)

        def backward(dy):
            # d/dx x·Φ(x) = Φ(x) + x·φ(x)
            cdf = 0.5 * tf.math.erfc(-x / math.sqrt(2.0))  # as tf.nn.gelu's forward pass
            pdf = tf.exp(-0.5 * x * x) / math.sqrt(2.0 * math.pi)
            return dy * (cdf + x * pdf)

        return y, backward

    return gelu_erf


def _patch() -> None:
    global _PATCHED
    if _PATCHED:
        return
    from keras_layer_normalization import LayerNormalization

    norm_init = LayerNormalization.__init__

    def __init__(self, *args, **kwargs):
        if kwargs.get("epsilon") is None and _epsilon is not None:
            kwargs["epsilon"] = _epsilon
        norm_init(self, *args, **kwargs)

    LayerNormalization.__init__ = __init__
    _PATCHED = True


@contextlib.contextmanager
def building_backbone(activation: str, epsilon: float):
    """keras_bert networks built inside get `activation` in their feed-forward layers (also
    through keras_bert's checkpoint loader, which passes the config's hidden_act itself) and
    `epsilon` in their LayerNorms."""
    global _epsilon
    import keras_bert.loader

    _patch()
    load_get_model = keras_bert.loader.get_model

    def get_model(**kwargs):
        return load_get_model(**{**kwargs,
                                 "feed_forward_activation": feed_forward_activation(activation)})

    saved, _epsilon = _epsilon, epsilon
    keras_bert.loader.get_model = get_model
    try:
        yield
    finally:
        _epsilon = saved
        keras_bert.loader.get_model = load_get_model
