"""Config: YAML → one validated, typed object (pydantic). Defaults live here and only here.

Relative paths in a config file resolve against that file's folder; relative paths given with
`--set` on the command line resolve against the current directory (where the user typed them).
"""

from __future__ import annotations

import difflib
from pathlib import Path
from typing import Any, Literal

import yaml
from pydantic import BaseModel, ConfigDict, Field, ValidationError, model_validator

from .errors import WdTrainError

# Keys holding filesystem paths, as (section, key): resolved to absolute paths at load time.
PATH_KEYS = [
    ("data", "train"),
    ("data", "dev"),
    ("data", "test"),
    ("model", "checkpoint"),
    ("model", "vocab"),
    ("output", "dir"),
]


class Section(BaseModel):
    model_config = ConfigDict(extra="forbid", validate_assignment=True)


class DataConfig(Section):
    train: Path = Field(description="Training file (CoNLL columns, or one character per line).")
    dev: Path = Field(description="Dev file: picks the best epoch and drives early stopping.")
    test: Path | None = Field(None, description="Test file, scored once with the best weights.")
    format: Literal["conll", "chars"] = Field(
        "conll",
        description="`conll`: word-level columns. `chars`: one character per line (Chinese); "
        "same reader, tokens are characters.",
    )
    label_column: int = Field(-1, description="Column holding the tag (0-based; -1 = last).")
    scheme: Literal["iob2", "iob1", "bioes"] = Field(
        "iob2", description="Tag scheme of the files. IOB1 is converted to IOB2 on reading."
    )
    max_seq_len: int = Field(
        128, ge=8, le=512,
        description="Max wordpieces per window, [CLS]/[SEP] included. Longer sentences are split "
        "into several windows; every word is still predicted and scored.",
    )
    encoding: str = Field("utf-8", description="Text encoding of the data files.")
    limit: int | None = Field(
        None, ge=1, description="Use only the first N sentences of each file (quick runs)."
    )


class RandomInit(Section):
    layers: int = Field(2, ge=1, description="Transformer layers.")
    hidden: int = Field(64, ge=8, description="Hidden size.")
    heads: int = Field(2, ge=1, description="Attention heads (must divide hidden).")
    feed_forward: int | None = Field(None, ge=8, description="FFN size (default 4 × hidden).")
    max_position: int = Field(512, ge=8, description="Position embeddings.")

    @model_validator(mode="after")
    def _heads_divide_hidden(self) -> RandomInit:
        if self.hidden % self.heads:
            raise ValueError(f"heads ({self.heads}) must divide hidden ({self.hidden})")
        return self


class ModelConfig(Section):
    checkpoint: Path | None = Field(
        None,
        description="Google-format BERT directory (bert_config.json, bert_model.ckpt.*, "
        "vocab.txt), e.g. one written by `wd-train import-hf`.",
    )
    random_init: RandomInit | None = Field(
        None, description="Instead of a checkpoint: a randomly initialised BERT (tests)."
    )
    vocab: Path | None = Field(
        None, description="vocab.txt; default: the checkpoint's. Required with random_init."
    )
    lowercase: bool | None = Field(
        None,
        description="Lower-case and strip accents before wordpiece. Default: from the "
        "checkpoint's wd_train.json (written by import-hf), else guessed from the vocab.",
    )
    head_dropout: float = Field(0.1, ge=0.0, lt=1.0, description="Dropout before the tag layer.")

    @model_validator(mode="after")
    def _one_backbone(self) -> ModelConfig:
        if (self.checkpoint is None) == (self.random_init is None):
            raise ValueError("set exactly one of model.checkpoint or model.random_init")
        if self.random_init is not None and self.vocab is None:
            raise ValueError("model.random_init needs model.vocab")
        return self


class OptimizerConfig(Section):
    learning_rate: float = Field(5e-5, gt=0, description="Peak learning rate.")
    schedule: Literal["warmup_decay", "constant"] = Field(
        "warmup_decay",
        description="`warmup_decay`: linear warmup to learning_rate, then linear decay to "
        "min_lr over the remaining steps. `constant`: the same AdamWarmup with no warmup and "
        "min_lr = learning_rate.",
    )
    warmup_proportion: float = Field(
        0.1, ge=0.0, lt=1.0, description="Warmup steps as a share of all training steps."
    )
    warmup_steps: int | None = Field(
        None, ge=0, description="Warmup as a step count; overrides warmup_proportion."
    )
    min_lr: float = Field(0.0, ge=0.0, description="Learning rate at the last step (warmup_decay).")
    weight_decay: float = Field(0.01, ge=0.0, description="Decoupled (AdamW-style) weight decay.")
    decay_all_weights: bool = Field(
        False,
        description="Also decay LayerNorm, bias and embedding weights (keras_bert's TF2 "
        "AdamWarmup does this by default; BERT's recipe does not).",
    )
    clipnorm: float | None = Field(
        1.0, gt=0, description="Clip the global gradient norm to this (null = no clipping)."
    )
    epsilon: float = Field(1e-6, gt=0, description="Adam epsilon.")


class TrainingConfig(Section):
    epochs: int = Field(3, ge=1, description="Maximum epochs.")
    batch_size: int = Field(32, ge=1, description="Sentences (windows) per batch.")
    seed: int = Field(42, ge=0, description="Seeds shuffling, dropout and initialisation.")
    patience: int | None = Field(
        None, ge=1, description="Stop after this many epochs without a better dev F1."
    )


class OutputConfig(Section):
    dir: Path = Field(Path("runs/default"), description="Run directory.")


class Config(Section):
    data: DataConfig
    model: ModelConfig
    optimizer: OptimizerConfig = OptimizerConfig()
    training: TrainingConfig = TrainingConfig()
    output: OutputConfig = OutputConfig()


def _parse_override(text: str) -> tuple[list[str], Any]:
    if "=" not in text:
        raise WdTrainError(f"--set {text!r}: expected section.key=value")
    dotted, raw = text.split("=", 1)
    keys = [k for k in dotted.strip().split(".") if k]
    if not keys:
        raise WdTrainError(f"--set {text!r}: empty key")
    try:
        value = yaml.safe_load(raw) if raw.strip() else None
    except yaml.YAMLError as exc:
        raise WdTrainError(f"--set {text!r}: value is not valid YAML ({exc})") from None
    return keys, value


def apply_override(raw: dict, keys: list[str], value: Any, *, path_base: Path | None) -> None:
    """Set `value` at the dotted `keys` of a raw config dict (creating sections as needed)."""
    node = raw
    for key in keys[:-1]:
        child = node.get(key)
        if child is None:
            child = node[key] = {}
        if not isinstance(child, dict):
            raise WdTrainError(f"--set {'.'.join(keys)}: {key} is not a section")
        node = child
    if path_base is not None and tuple(keys) in PATH_KEYS and isinstance(value, str):
        value = str((path_base / value).resolve())
    node[keys[-1]] = value


def _resolve_paths(raw: dict, base: Path) -> None:
    for section, key in PATH_KEYS:
        sect = raw.get(section)
        if isinstance(sect, dict) and isinstance(sect.get(key), str):
            sect[key] = str((base / sect[key]).expanduser().resolve())


def _field_names(model: type[BaseModel], loc: tuple) -> list[str]:
    """Valid key names at the place `loc` of the schema (for 'did you mean')."""
    current: Any = model
    for part in loc[:-1]:
        fields = getattr(current, "model_fields", {})
        if part not in fields:
            return []
        annotation = fields[part].annotation
        candidates = [annotation, *getattr(annotation, "__args__", ())]
        current = next((c for c in candidates if isinstance(c, type) and
                        issubclass(c, BaseModel)), None)
        if current is None:
            return []
    return list(getattr(current, "model_fields", {}))


def format_validation_error(exc: ValidationError, source: str) -> str:
    """One line per problem: 'source: section.key: what is wrong (got X)'."""
    lines = []
    for err in exc.errors():
        loc = tuple(str(p) for p in err["loc"])
        where = ".".join(loc) or "(top level)"
        if err["type"] == "extra_forbidden":
            close = difflib.get_close_matches(loc[-1], _field_names(Config, loc), n=1)
            hint = f"; did you mean '{'.'.join((*loc[:-1], close[0]))}'?" if close else ""
            lines.append(f"{source}: {where}: unknown key{hint}")
            continue
        msg = err["msg"].removeprefix("Value error, ")
        got = "" if err["type"] in ("missing", "value_error") else f" (got {err.get('input')!r})"
        lines.append(f"{source}: {where}: {msg}{got}")
    return "\n".join(lines)


def load_raw(path: Path) -> dict:
    path = Path(path)
    try:
        text = path.read_text(encoding="utf-8")
    except FileNotFoundError:
        raise WdTrainError(f"{path}: config file not found") from None
    except (OSError, UnicodeDecodeError) as exc:
        raise WdTrainError(f"{path}: cannot read config ({exc})") from None
    try:
        raw = yaml.safe_load(text)
    except yaml.YAMLError as exc:
        mark = getattr(exc, "problem_mark", None)
        where = f":{mark.line + 1}" if mark is not None else ""
        problem = getattr(exc, "problem", None) or str(exc).splitlines()[0]
        raise WdTrainError(f"{path}{where}: invalid YAML: {problem}") from None
    if raw is None:
        raw = {}
    if not isinstance(raw, dict):
        raise WdTrainError(f"{path}: expected a mapping of sections at the top level")
    return raw


def validate(raw: dict, source: str) -> Config:
    try:
        return Config.model_validate(raw)
    except ValidationError as exc:
        raise WdTrainError(format_validation_error(exc, source)) from None


def load_config(
    path: Path | str,
    overrides: list[str] | tuple[str, ...] = (),
    *,
    drop_sections: tuple[str, ...] = (),
) -> tuple[Config, dict]:
    """Read, resolve paths, apply `--set` overrides, validate.

    Returns the validated Config and the raw dict it came from (other sections, such as
    `compare` or `gate`, are validated by their own modules and may be dropped here).
    """
    path = Path(path)
    raw = load_raw(path)
    _resolve_paths(raw, path.resolve().parent)
    for text in overrides:
        keys, value = _parse_override(text)
        apply_override(raw, keys, value, path_base=Path.cwd())
    core = {k: v for k, v in raw.items() if k not in drop_sections}
    return validate(core, str(path)), raw


def config_to_yaml(config: Config) -> str:
    data = config.model_dump(mode="json")
    return yaml.safe_dump(data, sort_keys=False, allow_unicode=True)
