"""The Google-format BERT folder that `model.checkpoint` names and `wd-train import-hf` writes:
its file names, the check that it is complete, and the files wd-train reads from it.

    bert_config.json          shape of the network (Google's keys)
    bert_model.ckpt.index     TensorFlow checkpoint of the weights (+ bert_model.ckpt.data-*)
    vocab.txt                 wordpiece vocabulary, one token per line, [PAD] first
    wd_train.json             written by import-hf: casing and where the weights came from

Both the data stage (vocab, casing) and the model stage (shape, weights) read this folder, so its
names live here, below both. No TensorFlow.
"""

from __future__ import annotations

import json
from dataclasses import dataclass
from pathlib import Path
from typing import Any

from .errors import WdTrainError

BERT_CONFIG_FILE = "bert_config.json"
WEIGHTS_PREFIX = "bert_model.ckpt"
VOCAB_FILE = "vocab.txt"
IMPORT_META_FILE = "wd_train.json"
REQUIRED_FILES = (BERT_CONFIG_FILE, f"{WEIGHTS_PREFIX}.index", VOCAB_FILE)


PAD, UNK, CLS, SEP = "[PAD]", "[UNK]", "[CLS]", "[SEP]"


def vocab_problem(path: Path, tokens: list[str]) -> str | None:
    """What makes `tokens` (a vocab.txt's lines) unusable for a BERT tagger, as one line
    naming `path`: training and `import-hf` refuse the same vocabularies."""
    present = {token.strip() for token in tokens}
    missing = [t for t in (CLS, SEP, UNK) if t not in present]
    if missing:
        return f"{path}: vocab lacks the special tokens {', '.join(missing)}"
    if tokens and tokens[0].strip() != PAD:
        return f"{path}:1: expected {PAD} as token 0 (keras_bert masks id 0)"
    return None


def check_folder(path: Path) -> None:
    """Refuse a folder that is not a Google-format BERT folder, naming what it lacks."""
    if not path.is_dir():
        raise WdTrainError(f"model.checkpoint: {path} is not a directory")
    missing = [name for name in REQUIRED_FILES if not (path / name).exists()]
    if missing:
        raise WdTrainError(
            f"model.checkpoint: {path} lacks {', '.join(missing)} (expected a Google-format "
            "BERT directory; `wd-train import-hf` makes one from Hugging Face weights)"
        )


# bert_config.json keys wd-train reads, each a positive integer
SHAPE_KEYS = ("vocab_size", "max_position_embeddings", "hidden_size", "num_hidden_layers",
              "num_attention_heads", "intermediate_size")


@dataclass(frozen=True)
class BertShape:
    """bert_config.json: the network's shape (Google's keys) and its activation."""

    vocab_size: int
    max_position_embeddings: int
    hidden_size: int
    num_hidden_layers: int
    num_attention_heads: int
    intermediate_size: int
    hidden_act: Any = "gelu"  # as written; keras_bert supports gelu


@dataclass(frozen=True)
class ImportMeta:
    """wd_train.json, written by `wd-train import-hf`; all None in a folder it did not write."""

    lowercase: bool | None = None
    hidden_act: str | None = None  # HF's, of the weights' training
    layer_norm_eps: float | None = None


@dataclass(frozen=True)
class BertFolder:
    """A checked Google-format folder and what wd-train reads from it, read once per command:
    the data stage takes the casing, the model stage the shape and the activation."""

    path: Path
    shape: BertShape
    meta: ImportMeta


def _read_object(path: Path) -> dict[str, Any]:
    try:
        data = json.loads(path.read_text(encoding="utf-8"))
    except (OSError, UnicodeDecodeError, ValueError) as exc:
        raise WdTrainError(f"{path}: cannot read ({exc})") from None
    if not isinstance(data, dict):
        raise WdTrainError(f"{path}: expected a JSON object, found {type(data).__name__}")
    return data


def read_import_meta(path: Path) -> ImportMeta:
    """wd_train.json of the folder (casing, activation); all None when absent."""
    meta = path / IMPORT_META_FILE
    if not meta.exists():
        return ImportMeta()
    data = _read_object(meta)
    if "lowercase" in data and not isinstance(data["lowercase"], bool):
        raise WdTrainError(f"{meta}: lowercase must be true or false (found "
                           f"{data['lowercase']!r})")
    eps = data.get("layer_norm_eps")
    return ImportMeta(lowercase=data.get("lowercase"), hidden_act=data.get("hidden_act"),
                      layer_norm_eps=None if eps is None else float(eps))


def read_bert_config(path: Path) -> BertShape:
    """bert_config.json of the folder, its shape keys checked."""
    config_path = path / BERT_CONFIG_FILE
    config = _read_object(config_path)
    for key in SHAPE_KEYS:
        value = config.get(key)
        if isinstance(value, bool) or not isinstance(value, int) or value <= 0:
            found = "missing" if key not in config else f"found {value!r}"
            raise WdTrainError(f"{config_path}: {key} must be a positive integer ({found})")
    return BertShape(**{key: config[key] for key in SHAPE_KEYS},
                     hidden_act=config.get("hidden_act", "gelu"))


def read_bert_folder(path: Path | None) -> BertFolder | None:
    """The folder of `model.checkpoint`, checked, with its bert_config.json and wd_train.json
    read; None without one (a randomly initialised model)."""
    if path is None:
        return None
    check_folder(path)
    return BertFolder(path=path, shape=read_bert_config(path), meta=read_import_meta(path))
