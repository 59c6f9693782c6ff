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
from pathlib import Path
from typing import Any

from .errors import WdTrainError

BERT_CONFIG_FILE = "bert_config.json"
WEIGHTS_PREFIX = "bert_model.ckpt"
VOCAB_FILE = "vocab.txt"
IMPORT_META_FILE = "wd_train.json"
REQUIRED_FILES = (BERT_CONFIG_FILE, f"{WEIGHTS_PREFIX}.index", VOCAB_FILE)


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


def read_import_meta(path: Path) -> dict[str, Any]:
    """wd_train.json, written by `wd-train import-hf` (casing, source); {} when absent."""
    meta = path / IMPORT_META_FILE
    return json.loads(meta.read_text(encoding="utf-8")) if meta.exists() else {}


def read_bert_config(path: Path) -> dict[str, Any]:
    """bert_config.json of the folder."""
    return json.loads((path / BERT_CONFIG_FILE).read_text(encoding="utf-8"))
