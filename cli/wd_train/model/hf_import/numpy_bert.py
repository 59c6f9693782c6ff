"""An independent NumPy forward pass of a Hugging Face BERT (float64), the yardstick that
`conversion_check.py` holds keras_bert's output on the converted weights against."""

from __future__ import annotations

import math
from typing import TYPE_CHECKING

from .mapping import hf_prefix

if TYPE_CHECKING:
    import numpy as np


def numpy_bert_forward(
    weights: dict[str, np.ndarray],
    config: dict,
    token_ids: np.ndarray,
    segment_ids: np.ndarray,
    *,
    gelu: str = "tanh",
    layer_norm_eps: float = 1e-14,
) -> np.ndarray:
    """Last hidden layer [batch, seq, hidden] of a HF BERT, computed in float64 with NumPy.

    ``weights`` uses HF names (with or without a "bert." prefix, LayerNorm weight/bias or
    gamma/beta) and HF [out, in] Linear weights. Token id 0 is padding and is masked out as a
    key. ``gelu="tanh"`` with eps 1e-14 and a -10000 additive mask is what keras_bert computes;
    ``gelu="erf"`` with eps 1e-12 (the mask then uses float32's most negative value) is HF.
    """
    import numpy as np

    if gelu not in ("tanh", "erf"):
        raise ValueError(f"gelu must be 'tanh' or 'erf', not {gelu!r}")
    prefix = hf_prefix(weights)

    def w(*names: str) -> np.ndarray:
        for name in names:
            if prefix + name in weights:
                return np.asarray(weights[prefix + name], dtype=np.float64)
        raise KeyError(prefix + names[0])

    def layer_norm(x: np.ndarray, hf: str) -> np.ndarray:
        mean = x.mean(axis=-1, keepdims=True)
        var = np.square(x - mean).mean(axis=-1, keepdims=True)
        y = (x - mean) / np.sqrt(var + layer_norm_eps)
        return y * w(f"{hf}.weight", f"{hf}.gamma") + w(f"{hf}.bias", f"{hf}.beta")

    def linear(x: np.ndarray, hf: str) -> np.ndarray:
        return x @ w(f"{hf}.weight").T + w(f"{hf}.bias")

    if gelu == "tanh":

        def act(x: np.ndarray) -> np.ndarray:
            return 0.5 * x * (1.0 + np.tanh(math.sqrt(2.0 / math.pi) * (x + 0.044715 * x**3)))

    else:
        erf = np.vectorize(math.erf, otypes=[np.float64])

        def act(x: np.ndarray) -> np.ndarray:
            return 0.5 * x * (1.0 + erf(x / math.sqrt(2.0)))

    token_ids = np.asarray(token_ids, dtype=np.int64)
    segment_ids = np.asarray(segment_ids, dtype=np.int64)
    batch, seq = token_ids.shape
    hidden = int(config["hidden_size"])
    heads = int(config["num_attention_heads"])
    head_dim = hidden // heads

    x = (
        w("embeddings.word_embeddings.weight")[token_ids]
        + w("embeddings.token_type_embeddings.weight")[segment_ids]
        + w("embeddings.position_embeddings.weight")[np.arange(seq)][None, :, :]
    )
    x = layer_norm(x, "embeddings.LayerNorm")

    key_is_pad = (token_ids == 0)[:, None, None, :]  # [batch, 1 (heads), 1 (queries), keys]
    if gelu == "tanh":
        bias = np.where(key_is_pad, -10000.0, 0.0)
    else:
        bias = np.where(key_is_pad, float(np.finfo(np.float32).min), 0.0)

    def split_heads(t: np.ndarray) -> np.ndarray:
        return t.reshape(batch, seq, heads, head_dim).transpose(0, 2, 1, 3)

    for i in range(int(config["num_hidden_layers"])):
        f = f"encoder.layer.{i}"
        q = split_heads(linear(x, f"{f}.attention.self.query"))
        k = split_heads(linear(x, f"{f}.attention.self.key"))
        v = split_heads(linear(x, f"{f}.attention.self.value"))
        scores = q @ k.transpose(0, 1, 3, 2) / math.sqrt(head_dim) + bias
        scores = scores - scores.max(axis=-1, keepdims=True)
        probs = np.exp(scores)
        probs /= probs.sum(axis=-1, keepdims=True)
        context = (probs @ v).transpose(0, 2, 1, 3).reshape(batch, seq, hidden)
        attn = linear(context, f"{f}.attention.output.dense")
        x = layer_norm(x + attn, f"{f}.attention.output.LayerNorm")
        inter = act(linear(x, f"{f}.intermediate.dense"))
        x = layer_norm(x + linear(inter, f"{f}.output.dense"), f"{f}.output.LayerNorm")
    return x
