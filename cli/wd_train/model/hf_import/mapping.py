"""Which Hugging Face tensor becomes which variable of the Google-format checkpoint keras_bert
loads (names, expected shapes, transposes). No TensorFlow."""

from __future__ import annotations

from dataclasses import dataclass
from typing import Any


@dataclass(frozen=True)
class Entry:
    google: str  # variable name in the Google checkpoint
    candidates: tuple[str, ...]  # HF names without the "bert." prefix, first one preferred
    shape: tuple[int, ...]  # expected HF shape
    transpose: bool  # HF Linear weight [out, in] -> Google kernel [in, out]


def linear(google: str, hf: str, n_out: int, n_in: int) -> list[Entry]:
    return [
        Entry(f"{google}/kernel", (f"{hf}.weight",), (n_out, n_in), True),
        Entry(f"{google}/bias", (f"{hf}.bias",), (n_out,), False),
    ]


def layer_norm(google: str, hf: str, hidden: int) -> list[Entry]:
    return [
        Entry(f"{google}/gamma", (f"{hf}.weight", f"{hf}.gamma"), (hidden,), False),
        Entry(f"{google}/beta", (f"{hf}.bias", f"{hf}.beta"), (hidden,), False),
    ]


def plan(cfg: dict[str, Any]) -> list[Entry]:
    """Every variable keras_bert loads (pooler excluded), with its HF source and HF shape."""
    h = cfg["hidden_size"]
    inter = cfg["intermediate_size"]
    entries = [
        Entry(
            "bert/embeddings/word_embeddings",
            ("embeddings.word_embeddings.weight",),
            (cfg["vocab_size"], h),
            False,
        ),
        Entry(
            "bert/embeddings/position_embeddings",
            ("embeddings.position_embeddings.weight",),
            (cfg["max_position_embeddings"], h),
            False,
        ),
        Entry(
            "bert/embeddings/token_type_embeddings",
            ("embeddings.token_type_embeddings.weight",),
            (cfg["type_vocab_size"], h),
            False,
        ),
        *layer_norm("bert/embeddings/LayerNorm", "embeddings.LayerNorm", h),
    ]
    for i in range(cfg["num_hidden_layers"]):
        g = f"bert/encoder/layer_{i}"
        f = f"encoder.layer.{i}"
        for part in ("query", "key", "value"):
            entries += linear(f"{g}/attention/self/{part}", f"{f}.attention.self.{part}", h, h)
        entries += linear(f"{g}/attention/output/dense", f"{f}.attention.output.dense", h, h)
        entries += layer_norm(
            f"{g}/attention/output/LayerNorm", f"{f}.attention.output.LayerNorm", h
        )
        entries += linear(f"{g}/intermediate/dense", f"{f}.intermediate.dense", inter, h)
        entries += linear(f"{g}/output/dense", f"{f}.output.dense", h, inter)
        entries += layer_norm(f"{g}/output/LayerNorm", f"{f}.output.LayerNorm", h)
    return entries


def pooler_plan(cfg: dict[str, Any]) -> list[Entry]:
    h = cfg["hidden_size"]
    return linear("bert/pooler/dense", "pooler.dense", h, h)


def hf_prefix(tensors: dict[str, Any]) -> str:
    for prefix in ("", "bert."):
        if f"{prefix}embeddings.word_embeddings.weight" in tensors:
            return prefix
    return "bert." if any(k.startswith("bert.") for k in tensors) else ""


def find_tensor(tensors: dict[str, Any], prefix: str, entry: Entry) -> str | None:
    for cand in entry.candidates:
        if prefix + cand in tensors:
            return prefix + cand
    return None
