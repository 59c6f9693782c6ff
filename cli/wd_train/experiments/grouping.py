"""Grouping runs for a summary: by comparison variant (runs without one by the overrides that
tell them apart), or by the value of any config key (`--by optimizer.learning_rate`)."""

from __future__ import annotations

import json
import logging
from pathlib import Path
from typing import Any

import yaml

from ..config import parse_value, read_saved_config
from ..errors import WdTrainError
from ..run_dir import CONFIG_FILE
from .grid import group_name
from .results import ResultLine

log = logging.getLogger(__name__)

BY_VARIANT = "variant"
# Overrides that tell runs of one setting apart, or check them, rather than define a setting.
NOT_A_SETTING = ("training.seed", "output.dir", "gate", "compare")


def _format_value(value: Any) -> str:
    return value if isinstance(value, str) else json.dumps(value)


def _settings(record: ResultLine) -> dict[str, Any]:
    return {k: v for k, v in record.overrides.items() if k not in record.grid
            and k not in NOT_A_SETTING and k.split(".")[0] not in NOT_A_SETTING}


def _settings_labels(records: list[ResultLine]) -> list[str]:
    """Names for runs without a variant: the overridden keys whose values differ between them
    (`learning_rate=0.001, warmup_proportion=0.1`), short where the short name is unambiguous;
    with nothing differing, all their overrides, else the config file's name."""
    settings = [_settings(r) for r in records]
    keys = sorted({k for s in settings for k in s})
    varying = [k for k in keys if len({_format_value(s.get(k)) for s in settings}) > 1] or keys
    short = {k: k.split(".")[-1] for k in varying}
    if len(set(short.values())) < len(short):
        short = {k: k for k in varying}
    labels = []
    for record, setting in zip(records, settings):
        parts = [f"{short[k]}={_format_value(setting[k])}" for k in varying if k in setting]
        config = record.config
        labels.append(", ".join(parts) or (Path(config).stem if config else "run"))
    return labels


def _dotted(config: dict, dotted: str) -> Any:
    node: Any = config
    for key in dotted.split("."):
        if not isinstance(node, dict) or key not in node:
            return None
        node = node[key]
    return node


def _config_value(record: ResultLine, dotted: str, cache: dict[str, dict]) -> Any:
    """The value a run actually used: its override, else its resolved config (in its results
    line, else its run directory's config.yaml)."""
    if dotted in record.overrides:
        return record.overrides[dotted]
    run_dir = record.run_dir
    if record.resolved_config is not None:
        return _dotted(record.resolved_config, dotted)
    if run_dir not in cache:
        try:
            cache[run_dir] = read_saved_config(Path(run_dir) / CONFIG_FILE).model_dump(
                mode="json")
        except WdTrainError:  # a run whose folder is gone or damaged: the key is unknown
            cache[run_dir] = {}
    return _dotted(cache[run_dir], dotted)


def group_results(records: list[ResultLine], by: str = BY_VARIANT,
                  order: list[str] | None = None) -> dict[str, list[ResultLine]]:
    """Runs grouped by variant (else by their overrides, seed left out), or by the value of a
    dotted config key (`optimizer.learning_rate`), in `order`, else numeric or first-seen order."""
    groups: dict[str, list[ResultLine]] = {}
    if by == BY_VARIANT:
        unnamed = [r for r in records if not r.variant]
        labels = dict(zip(map(id, unnamed), _settings_labels(unnamed)))
        for record in records:
            name = record.variant or labels[id(record)]
            if record.grid:  # a grid cell: its variant at its point
                name = group_name(name, record.grid)
            groups.setdefault(name, []).append(record)
    else:
        if "." not in by:
            raise WdTrainError(f"--by {by}: expected 'variant' or a dotted config key such as "
                               "optimizer.learning_rate")
        cache: dict[str, dict] = {}
        values = [_config_value(record, by, cache) for record in records]
        if all(value is None for value in values):
            raise WdTrainError(f"--by {by}: no run has this key (neither overridden nor in its "
                               "config.yaml)")
        keyed = list(zip(values, records))
        if all(isinstance(v, (int, float)) and not isinstance(v, bool) for v in values):
            keyed.sort(key=lambda pair: pair[0])
        short = by.split(".")[-1]
        for value, record in keyed:
            groups.setdefault(f"{short}={_format_value(value)}", []).append(record)
    return order_groups(groups, order or [])


def same_group_name(name: str, names: list[str]) -> str:
    """`name` as one of `names`, where `key=VALUE` may write the value otherwise
    (`warmup_proportion=0` for `warmup_proportion=0.0`, `learning_rate=3e-4` for
    `learning_rate=0.0003`); else `name` itself."""
    if name in names or "=" not in name:
        return name
    def value(text: str) -> Any:
        try:
            return parse_value(text)
        except yaml.YAMLError:
            return text

    key, _, text = name.rpartition("=")
    for other in names:
        other_key, _, other_text = other.rpartition("=")
        if other_key == key and value(other_text) == value(text):
            return other
    return name


def order_groups(groups: dict[str, list[ResultLine]],
                 order: list[str]) -> dict[str, list[ResultLine]]:
    """The groups named in `order` first, in that order, then the others as they were."""
    return {name: groups[name] for name in [*order, *groups] if name in groups}


def check_renames(pairs: list[str]) -> list[str]:
    """The `--rename OLD=NEW` options, checked for their form before any file is read."""
    for pair in pairs:
        if "=" not in pair or not pair.partition("=")[0].strip() or \
                not pair.rpartition("=")[2].strip():
            raise WdTrainError(f"--rename {pair}: expected OLD=NEW, e.g. warmup_decay=softmax")
    return pairs


def _resolve_renames(pairs: list[str], names: list[str]) -> dict[str, str]:
    """{old: new} from `OLD=NEW` options, OLD matched against the group names, which may hold
    "=" themselves (`learning_rate=0.001=small` renames the group `learning_rate=0.001`)."""
    renames: dict[str, str] = {}
    for pair in pairs:
        splits = [(pair[:i].strip(), pair[i + 1:].strip()) for i, c in enumerate(pair)
                  if c == "="]
        matches = [(old, new) for old, new in splits if old in names and new]
        if not matches:
            old = splits[0][0]
            raise WdTrainError(f"--rename {pair}: no group {old!r} (groups: {', '.join(names)})")
        if len(matches) > 1:
            raise WdTrainError(f"--rename {pair}: ambiguous, it could rename "
                               + " or ".join(repr(old) for old, _ in matches))
        old, new = matches[0]
        if old in renames:
            raise WdTrainError(f"--rename {pair}: {old!r} is renamed twice")
        renames[old] = new
    return renames


def rename_groups(groups: dict[str, list[ResultLine]], pairs: list[str],
                  by: str = BY_VARIANT) -> dict[str, list[ResultLine]]:
    """The groups with some renamed (`OLD=NEW`), in the same order. The runs of a renamed group
    take the new name as their variant too (grouped by a config key, they keep theirs), so that
    summary.json's runs say what its tables say. Lets one report put runs of different
    comparisons side by side (the compare's `warmup_decay` as the heads study's `softmax`)
    without editing their results files.

    Groups renamed to one name are merged when no seed is in two of them: the same setting,
    recorded under different names (one seed run with an override, the others without), so
    that its seeds pair with the baseline's. Two runs of one seed under one name would be
    ambiguous, so that is refused."""
    renames = _resolve_renames(pairs, list(groups))
    renamed: dict[str, list[ResultLine]] = {}
    merged_from: dict[str, list[str]] = {}
    for name, runs in groups.items():
        new = renames.get(name, name)
        runs = runs if new == name or by != BY_VARIANT else [
            r.model_copy(update={"variant": new}) for r in runs]
        if new in renamed:
            shared = sorted({r.seed for r in renamed[new]} & {r.seed for r in runs})
            if shared:
                raise WdTrainError(
                    f"--rename: {' and '.join(map(repr, [*merged_from[new], name]))} would both "
                    f"be called {new!r} and both have seed {shared[0]}; runs of one seed are "
                    "not merged")
        renamed.setdefault(new, []).extend(runs)
        merged_from.setdefault(new, []).append(name)
    for new, names in merged_from.items():
        if len(names) > 1:
            log.info(f"{new}: the runs of groups {', '.join(names)} (renamed to one name)")
    return renamed


def select_groups(groups: dict[str, list[ResultLine]],
                  names: list[str]) -> dict[str, list[ResultLine]]:
    """Only the named groups, in that order (all of them when none is named): one study's cells
    out of a results file that holds another's too."""
    if not names:
        return groups
    missing = [name for name in names if name not in groups]
    if missing:
        raise WdTrainError(f"--only {missing[0]}: no group {missing[0]!r} "
                           f"(groups: {', '.join(groups)})")
    return {name: groups[name] for name in dict.fromkeys(names)}
