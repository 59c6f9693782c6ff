"""Reading a config: YAML → raw dict → paths resolved → `--set` overrides → validated `Config`.

Relative paths in a config file resolve against that file's folder; relative paths given with
`--set` on the command line resolve against the current directory (where the user typed them).
Every problem is one `WdTrainError` line naming the file and the key.
"""

from __future__ import annotations

import difflib
import re
import reprlib
from pathlib import Path
from typing import Any

import yaml
from pydantic import BaseModel, ValidationError

from ..errors import WdTrainError
from .schema import Config

# Keys holding filesystem paths, as (section, key): resolved to absolute paths at load time.
PATH_KEYS = [
    ("data", "train"),
    ("data", "dev"),
    ("data", "test"),
    ("model", "checkpoint"),
    ("model", "vocab"),
    ("output", "dir"),
]



class _UniqueKeyLoader(yaml.SafeLoader):
    """PyYAML's safe loader, except that a key written twice in one mapping is an error (a
    section written twice would otherwise silently replace the first)."""

    def construct_mapping(self, node, deep=False):
        seen: dict[Any, int] = {}
        for key_node, _ in node.value:
            key = self.construct_object(key_node, deep=True)
            line = key_node.start_mark.line + 1
            if not isinstance(key, (str, int, float, bool)) and key is not None:
                raise yaml.constructor.ConstructorError(
                    None, None, f"a key must be a name, not {type(key).__name__} {key!r}",
                    key_node.start_mark)
            if key in seen:
                raise yaml.constructor.ConstructorError(
                    None, None, f"key {key!r} is written twice (lines {seen[key]} and {line})",
                    key_node.start_mark)
            seen[key] = line
        return super().construct_mapping(node, deep=deep)


# YAML 1.1 (PyYAML) reads `1e-4` as a string (its floats need a dot: `1.0e-4`); YAML 1.2 and
# every user read it as a number. Without this, `learning_rate: [1e-4, 3e-4]` in compare.grid
# named cells by strings that validate to the same float as `0.0001`.
_UniqueKeyLoader.add_implicit_resolver(
    "tag:yaml.org,2002:float",
    re.compile(r"^[-+]?[0-9][0-9_]*(?:\.[0-9_]*)?[eE][-+]?[0-9]+$"),
    list("-+0123456789"))


def _yaml_problem(exc: yaml.YAMLError) -> str:
    """The parser's one-line reason, without its multi-line excerpt of the text."""
    problem = getattr(exc, "problem", None) or str(exc).splitlines()[0]
    return str(problem)


def parse_override(text: str) -> tuple[list[str], Any]:
    """'section.key=value' → (['section', 'key'], value parsed as YAML)."""
    if "=" not in text:
        raise WdTrainError(f"--set {text!r}: expected section.key=value")
    dotted, raw = text.split("=", 1)
    keys = [k for k in dotted.strip().split(".") if k]
    if not keys:
        raise WdTrainError(f"--set {text!r}: empty key")
    try:
        return keys, parse_value(raw)
    except yaml.YAMLError as exc:
        raise WdTrainError(f"--set {text!r}: value is not valid YAML ({_yaml_problem(exc)})"
                           ) from None


def parse_value(text: str) -> Any:
    """A value written on the command line, read as the config file reads it (`1e-4` a
    number); empty text is None. Raises yaml.YAMLError."""
    return yaml.load(text, Loader=_UniqueKeyLoader) if text.strip() else None


def apply_override(raw: dict, keys: list[str], value: Any, *, path_base: Path | None) -> None:
    """Set `value` at the dotted `keys` of a raw config dict (creating sections as needed)."""
    node = raw
    for key in keys[:-1]:
        child = node.get(key)
        if child is None:
            child = node[key] = {}
        if not isinstance(child, dict):
            raise WdTrainError(f"{'.'.join(keys)}: {key} is not a section")
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


# A value quoted in an error stays short, however large: a YAML anchor bomb (a few lines that
# expand to billions of items) or a 50 MB string is shown by its first items only.
_SHORT_REPR = reprlib.Repr()  # (keyword arguments only from Python 3.12)
_SHORT_REPR.maxlevel, _SHORT_REPR.maxdict, _SHORT_REPR.maxlist = 2, 4, 4
_SHORT_REPR.maxstring = _SHORT_REPR.maxother = 80


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
        got = "" if err["type"] in ("missing", "value_error") else \
            f" (got {_SHORT_REPR.repr(err.get('input'))})"
        # A check across sections (loc empty) names its keys in its own message.
        lines.append(f"{source}: {where}: {msg}{got}" if loc else f"{source}: {msg}{got}")
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
        raw = yaml.load(text, Loader=_UniqueKeyLoader)
    except yaml.YAMLError as exc:
        mark = getattr(exc, "problem_mark", None)
        where = f":{mark.line + 1}" if mark is not None else ""
        raise WdTrainError(f"{path}{where}: invalid YAML: {_yaml_problem(exc)}") from None
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


def read_config(path: Path | str) -> dict:
    """The raw dict of a config file, its relative paths resolved against the file's folder."""
    path = Path(path)
    raw = load_raw(path)
    _resolve_paths(raw, path.resolve().parent)
    return raw


def apply_overrides(raw: dict, overrides: list[str] | tuple[str, ...]) -> None:
    """Apply command-line `--set section.key=value` texts (paths resolve against the cwd)."""
    for text in overrides:
        keys, value = parse_override(text)
        try:
            apply_override(raw, keys, value, path_base=Path.cwd())
        except WdTrainError as exc:
            raise WdTrainError(f"--set {exc}") from None


def load_config(
    path: Path | str,
    overrides: list[str] | tuple[str, ...] = (),
    *,
    drop_sections: tuple[str, ...] = (),
) -> tuple[Config, dict]:
    """Read, resolve paths, apply `--set` overrides, validate.

    Returns the validated Config and the raw dict it came from (sections named in
    `drop_sections` are left out of validation).
    """
    path = Path(path)
    raw = read_config(path)
    apply_overrides(raw, overrides)
    core = {k: v for k, v in raw.items() if k not in drop_sections}
    return validate(core, str(path)), raw


def saved_config(config: Config) -> dict:
    """The resolved config as a run records it (config.yaml, metrics.json): without the
    optional sections it does not use."""
    unused = {name for name in ("compare", "gate") if getattr(config, name) is None}
    return config.model_dump(mode="json", exclude=unused)


def config_to_yaml(config: Config) -> str:
    return yaml.safe_dump(saved_config(config), sort_keys=False, allow_unicode=True)


def flatten_config(data: Any, prefix: str = "") -> dict[str, Any]:
    """A nested config dict as dotted key → value."""
    if not isinstance(data, dict):
        return {prefix: data}
    flat: dict[str, Any] = {}
    for key, value in data.items():
        flat.update(flatten_config(value, f"{prefix}.{key}" if prefix else str(key)))
    return flat


def read_saved_config(path: Path) -> Config:
    """A run's saved config.yaml, through the schema (keys added since fill in with their
    defaults): the one way `predict`, `report --by` and the same-config check read it."""
    path = Path(path)
    try:
        raw = yaml.safe_load(path.read_text(encoding="utf-8")) or {}
    except (OSError, UnicodeDecodeError, yaml.YAMLError) as exc:
        raise WdTrainError(f"{path}: cannot read the run's config "
                           f"({getattr(exc, 'strerror', None) or type(exc).__name__})") from None
    if not isinstance(raw, dict):
        raise WdTrainError(f"{path}: cannot read the run's config (not a mapping)")
    return validate(raw, str(path))


def differing_key(saved_path: Path, config: Config) -> tuple[str, Any, Any] | None:
    """The first key where the config saved at `saved_path` differs from `config`, as (key,
    saved value, current value); None if none. output.dir (a run folder may be moved) and the
    gate (it judges a run, it does not change it) are left out.
    Through the schema, so that keys added later with a default compare equal; an unreadable
    saved config differs in every key."""
    try:
        saved = flatten_config(yaml.safe_load(config_to_yaml(read_saved_config(saved_path))))
    except WdTrainError:
        saved = {}
    planned = flatten_config(yaml.safe_load(config_to_yaml(config)))
    changed = sorted(k for k in saved.keys() | planned.keys()
                     if k != "output.dir" and not k.startswith("gate")
                     and saved.get(k) != planned.get(k))
    if not changed:
        return None
    return changed[0], saved.get(changed[0]), planned.get(changed[0])


def require_same_config(run_dir: Path, config: Config, *, holds: str, redo: str) -> None:
    """The one "same config?" check: refuse to go on with the run in `run_dir` (an interrupted
    run to resume, a finished comparison cell to reuse) when its saved config.yaml differs from
    `config`. `holds` says what the folder holds, `redo` what --overwrite would do instead."""
    difference = differing_key(Path(run_dir) / "config.yaml", config)
    if difference is not None:
        key, there, now = difference
        raise WdTrainError(
            f"output.dir: {run_dir} holds {holds} of another config ({key}: {there!r} there, "
            f"{now!r} now); pass --overwrite to {redo} or --output-dir to write elsewhere"
        )
