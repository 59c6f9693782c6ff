"""Convert a Hugging Face BERT folder into the Google-format folder keras_bert loads.

``import_hf`` reads ``config.json``, ``model.safetensors``, ``vocab.txt`` and (optionally)
``tokenizer_config.json`` from a Hugging Face model folder and writes the layout that
``keras_bert.load_trained_model_from_checkpoint`` expects (see ``wd_train.bert_folder``), plus
``wd_train.json`` recording the casing. ``conversion_check.py`` then verifies the result.

What keras_bert 0.89 computes (checked against its sources and its helper packages):

* LayerNormalization epsilon is ``K.epsilon() ** 2`` = 1e-14 (HF BERT uses 1e-12), and the
  variance is the biased mean of squares, as in HF.
* GELU is the tanh approximation ``0.5 x (1 + tanh(sqrt(2/pi) (x + 0.044715 x^3)))`` (HF ``gelu``
  is the exact erf form; HF ``gelu_new`` / ``gelu_pytorch_tanh`` are the tanh form).
* Padding is token id 0 (``mask_zero=True`` on ``Embedding-Token``); the mask only hides *keys*:
  attention scores get ``-10000 * (1 - mask)`` before the softmax. Padded query positions still
  produce (meaningless) outputs.
* ``Embedding-Segment`` always has 2 rows, whatever ``type_vocab_size`` says.

TensorFlow, keras_bert, NumPy and safetensors are imported inside the functions that need them.
"""

from __future__ import annotations

import json
import os
import shutil
import tempfile
from dataclasses import dataclass, field
from pathlib import Path
from typing import TYPE_CHECKING, Any

from ...bert_folder import BERT_CONFIG_FILE, IMPORT_META_FILE, VOCAB_FILE, WEIGHTS_PREFIX
from ...errors import WdTrainError, short_reason
from ...files import errors_name, make_temp_dir, staged_errors, to_json
from .mapping import find_tensor, hf_prefix, plan, pooler_plan
from .source import (
    HF_CONFIG,
    HF_VOCAB,
    HF_WEIGHTS,
    check_vocab,
    google_config,
    load_safetensors,
    read_json,
    require_file,
    resolve_lowercase,
)

if TYPE_CHECKING:
    import numpy as np

FORMAT = "hf-bert"

# keras_bert's Embedding-Segment layer is built with input_dim=2, whatever the config says.
_KERAS_BERT_SEGMENTS = 2


@dataclass
class ImportResult:
    """What ``import_hf`` did: which source tensors went into the checkpoint and which did not."""

    dst: Path
    num_tensors: int
    used: list[str]
    unused: list[str]
    lowercase: bool
    lowercase_source: str
    config: dict[str, Any]
    notes: list[str] = field(default_factory=list)


def _gather(
    weights_path: Path, tensors: dict[str, np.ndarray], cfg: dict[str, Any], notes: list[str]
) -> tuple[dict[str, np.ndarray], list[str]]:
    """Map HF tensors onto Google variable names; returns (variables, used HF names)."""
    import numpy as np

    prefix = hf_prefix(tensors)
    entries = plan(cfg)
    pooler = pooler_plan(cfg)
    pooler_found = [find_tensor(tensors, prefix, e) for e in pooler]
    if any(pooler_found):
        entries += pooler  # a half-present pooler is reported as missing below
    else:
        notes.append("no pooler tensors; the checkpoint has no bert/pooler/dense")

    variables: dict[str, np.ndarray] = {}
    used: list[str] = []
    for entry in entries:
        name = find_tensor(tensors, prefix, entry)
        if name is None:
            raise WdTrainError(f"{weights_path}: missing tensor {prefix + entry.candidates[0]}")
        value = tensors[name]
        if tuple(value.shape) != entry.shape:
            raise WdTrainError(
                f"{weights_path}: tensor {name} has shape {tuple(value.shape)}, "
                f"expected {entry.shape} from config.json"
            )
        if not np.issubdtype(value.dtype, np.floating):
            raise WdTrainError(f"{weights_path}: tensor {name} has dtype {value.dtype}, not float")
        value = value.astype(np.float32)
        if entry.transpose:
            value = value.T
        variables[entry.google] = np.ascontiguousarray(value)
        used.append(name)

    segments = variables["bert/embeddings/token_type_embeddings"]
    if segments.shape[0] > _KERAS_BERT_SEGMENTS:
        variables["bert/embeddings/token_type_embeddings"] = segments[:_KERAS_BERT_SEGMENTS]
        notes.append(
            f"type_vocab_size {segments.shape[0]}: kept the first {_KERAS_BERT_SEGMENTS} "
            "token type rows (keras_bert has exactly 2)"
        )
    elif segments.shape[0] < _KERAS_BERT_SEGMENTS:
        variables["bert/embeddings/token_type_embeddings"] = np.concatenate(
            [segments] + [segments[-1:]] * (_KERAS_BERT_SEGMENTS - segments.shape[0])
        )
        notes.append(
            f"type_vocab_size {segments.shape[0]}: repeated the last token type row "
            "(keras_bert has exactly 2)"
        )
    return variables, used



# --------------------------------------------------------------------------------------------
# Writing the destination folder


def _write_checkpoint(prefix: Path, variables: dict[str, np.ndarray]) -> None:
    """Write a TF V2 checkpoint (index + data shard) with exactly these variable names;
    TensorFlow's write error (a full disk) becomes an OSError naming `prefix` with its reason,
    as a Python write error would be."""
    import tensorflow as tf

    names = sorted(variables)
    try:
        tf.raw_ops.SaveV2(
            prefix=str(prefix),
            tensor_names=names,
            shape_and_slices=[""] * len(names),
            tensors=[tf.constant(variables[n]) for n in names],
        )
    except tf.errors.OpError as exc:
        raise OSError(0, short_reason(exc), str(prefix)) from None


def _write_files(tmp: Path, variables: dict[str, np.ndarray], google_cfg: dict,
                 vocab_path: Path, meta: dict) -> None:
    _write_checkpoint(tmp / WEIGHTS_PREFIX, variables)
    (tmp / BERT_CONFIG_FILE).write_text(
        json.dumps(google_cfg, indent=2, sort_keys=True) + "\n", encoding="utf-8"
    )
    shutil.copyfile(vocab_path, tmp / VOCAB_FILE)
    (tmp / IMPORT_META_FILE).write_text(to_json(meta, indent=2) + "\n", encoding="utf-8")


def _check_dst(dst: Path, overwrite: bool) -> None:
    if dst.is_symlink():
        raise WdTrainError(f"{dst}: is a symbolic link; give the real folder")
    if dst.exists() and not dst.is_dir():
        raise WdTrainError(f"{dst}: exists and is not a directory")
    if dst.is_dir() and any(dst.iterdir()) and not overwrite:
        raise WdTrainError(f"{dst}: directory exists and is not empty (use overwrite)")


def _move_into_place(tmp: Path, dst: Path) -> None:
    if not dst.exists():
        os.replace(tmp, dst)
        return
    # Keep the old folder until the new one is in place, so a failure loses neither.
    old = Path(tempfile.mkdtemp(prefix=f".{dst.name}.old-", dir=dst.parent))
    old.rmdir()
    os.replace(dst, old)
    try:
        os.replace(tmp, dst)
    except OSError:
        os.replace(old, dst)
        raise
    shutil.rmtree(old, ignore_errors=True)


def import_hf(
    src: Path, dst: Path, *, lowercase: bool | None = None, overwrite: bool = False
) -> ImportResult:
    """Convert the HF BERT folder ``src`` into a keras_bert-loadable folder ``dst``.

    ``lowercase`` None takes ``do_lower_case`` from ``src/tokenizer_config.json`` (True when
    absent). Raises WdTrainError for anything the user can fix; ``dst`` is only created (or
    replaced, with ``overwrite``) once everything has been written.
    """
    src = Path(src)
    dst = Path(dst)
    if not src.is_dir():
        raise WdTrainError(f"{src}: not a directory")
    config_path = require_file(src, HF_CONFIG)
    weights_path = require_file(src, HF_WEIGHTS)
    vocab_path = require_file(src, HF_VOCAB)
    if dst.exists() and dst.resolve() == src.resolve():
        raise WdTrainError(f"{dst}: the destination must not be the source folder")
    _check_dst(dst, overwrite)

    notes: list[str] = []
    hf_config = read_json(config_path)
    hf_act = hf_config.get("hidden_act", "gelu")
    hf_eps = float(hf_config.get("layer_norm_eps", 1e-12))
    cfg = google_config(config_path, hf_config, notes)
    lower, lower_source = resolve_lowercase(src, lowercase, notes)
    n_vocab = check_vocab(vocab_path, cfg["vocab_size"])
    if n_vocab < cfg["vocab_size"]:
        notes.append(f"vocab.txt has {n_vocab} tokens, fewer than vocab_size {cfg['vocab_size']}")

    tensors = load_safetensors(weights_path)
    variables, used = _gather(weights_path, tensors, cfg, notes)
    used_set = set(used)
    unused = sorted(k for k in tensors if k not in used_set)
    google_cfg = dict(cfg, type_vocab_size=_KERAS_BERT_SEGMENTS)

    with errors_name(dst):
        dst.parent.mkdir(parents=True, exist_ok=True)
    tmp = make_temp_dir(dst.parent, dst.name)  # the umask's permissions, not mkdtemp's 0700
    try:
        with staged_errors(tmp, dst):  # errors name DST's files, not the temporary folder
            _write_files(tmp, variables, google_cfg, vocab_path, {
                "lowercase": lower,
                "lowercase_source": lower_source,
                "source": str(src),
                "format": FORMAT,
                "unused": unused,
                # what the checkpoint was trained with (model.activation: auto reads these)
                "hidden_act": hf_act,
                "layer_norm_eps": hf_eps,
            })
        _check_dst(dst, overwrite)  # it may have appeared while we were writing
        if dst.is_dir() and not any(dst.iterdir()):
            dst.rmdir()
        _move_into_place(tmp, dst)
    except BaseException:
        shutil.rmtree(tmp, ignore_errors=True)
        raise

    return ImportResult(
        dst=dst,
        num_tensors=len(tensors),
        used=used,
        unused=unused,
        lowercase=lower,
        lowercase_source=lower_source,
        config=google_cfg,
        notes=notes,
    )

