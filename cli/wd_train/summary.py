"""The summary of several runs: groups (by variant or by any config key), per-group F1 mean ± std,
every seed's F1, paired differences with a 95 % CI and a verdict, written as summary.md,
summary.json and summary.csv with the charts. A comparison and `wd-train report` both end here.

Units: JSON and CSV keep F1 as a fraction (0–1, as in metrics.json); summary.md and the
differences use F1 points (× 100), the unit papers report.
"""

from __future__ import annotations

import json
from collections.abc import Callable
from datetime import datetime, timezone
from itertools import combinations
from pathlib import Path
from typing import Any

import yaml

from .errors import WdTrainError
from .rundir import write_csv_atomic, write_json_atomic, write_text_atomic
from .stats import describe, paired_difference, signed, verdict

BY_VARIANT = "variant"
# Overrides that tell runs of one setting apart, or check them, rather than define a setting.
NOT_A_SETTING = ("training.seed", "output.dir", "gate", "compare")
MAX_ALL_PAIRS = 6  # more groups than this: each is compared with the first only
POINTS = 100.0


def _format_value(value: Any) -> str:
    return value if isinstance(value, str) else json.dumps(value)


def _settings(record: dict) -> dict[str, Any]:
    return {k: v for k, v in (record.get("overrides") or {}).items()
            if k not in NOT_A_SETTING and k.split(".")[0] not in NOT_A_SETTING}


def _settings_labels(records: list[dict]) -> list[str]:
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
        config = record.get("config")
        labels.append(", ".join(parts) or (Path(config).stem if config else "run"))
    return labels


def _config_value(record: dict, dotted: str, cache: dict[str, dict]) -> Any:
    """The value a run actually used: its override, else its saved config.yaml."""
    overrides = record.get("overrides") or {}
    if dotted in overrides:
        return overrides[dotted]
    run_dir = record["run_dir"]
    if run_dir not in cache:
        path = Path(run_dir) / "config.yaml"
        try:
            cache[run_dir] = yaml.safe_load(path.read_text(encoding="utf-8")) or {}
        except (OSError, yaml.YAMLError):
            cache[run_dir] = {}
    node: Any = cache[run_dir]
    for key in dotted.split("."):
        if not isinstance(node, dict) or key not in node:
            return None
        node = node[key]
    return node


def group_records(records: list[dict], by: str = BY_VARIANT,
                  order: list[str] | None = None) -> dict[str, list[dict]]:
    """Runs grouped by variant (else by their overrides, seed left out), or by the value of a
    dotted config key (`optimizer.learning_rate`), in `order`, else numeric or first-seen order."""
    groups: dict[str, list[dict]] = {}
    if by == BY_VARIANT:
        unnamed = [r for r in records if not r.get("variant")]
        labels = dict(zip(map(id, unnamed), _settings_labels(unnamed)))
        for record in records:
            name = record.get("variant") or labels[id(record)]
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
    if order:
        groups = {name: groups[name] for name in [*order, *groups] if name in groups}
    return groups


def _f1(record: dict, split: str) -> float | None:
    scores = record.get(split)
    return None if not scores else float(scores["f1"])


def _per_seed(runs: list[dict], split: str) -> dict[int, float]:
    """Seed → F1 (the mean, where a group holds several runs of one seed)."""
    values: dict[int, list[float]] = {}
    for record in runs:
        f1 = _f1(record, split)
        if f1 is not None:
            values.setdefault(int(record["seed"]), []).append(f1)
    return {seed: sum(v) / len(v) for seed, v in values.items()}


def _splits(groups: dict[str, list[dict]]) -> list[str]:
    """Splits every run was scored on: test first (dev picked the epoch, so it flatters)."""
    runs = [r for g in groups.values() for r in g]
    return [s for s in ("test", "dev") if all(_f1(r, s) is not None for r in runs)]


def build_summary(groups: dict[str, list[dict]], by: str = BY_VARIANT) -> dict:
    """The summary of runs already grouped (see `group_records`)."""
    records = [record for runs in groups.values() for record in runs]
    splits = _splits(groups)
    group_rows = []
    for name, runs in groups.items():
        seeds = sorted({int(r["seed"]) for r in runs})
        row = {"name": name, "n": len(runs), "seeds": seeds,
               "runs_per_seed": max(sum(int(r["seed"]) == s for r in runs) for s in seeds)}
        for split in ("dev", "test"):
            values = [f for f in (_f1(r, split) for r in runs) if f is not None]
            row[f"{split}_f1"] = describe(values).as_dict()
        for key in ("best_epoch", "train_seconds", "wall_seconds"):
            row[key] = describe([float(r[key]) for r in runs if r.get(key) is not None]).as_dict()
        group_rows.append(row)

    all_seeds = sorted({int(r["seed"]) for r in records})
    per_seed = [{"seed": seed, "cells": {
        name: {split: _per_seed(runs, split).get(seed) for split in ("dev", "test")}
        for name, runs in groups.items()}} for seed in all_seeds]

    names = list(groups)
    pairs = (list(combinations(names, 2)) if len(names) <= MAX_ALL_PAIRS
             else [(names[0], other) for other in names[1:]])
    differences = []
    for split in splits:
        for a, b in pairs:
            diff = paired_difference(_per_seed(groups[a], split), _per_seed(groups[b], split),
                                     scale=POINTS)
            differences.append({"a": a, "b": b, "split": split, "unit": "F1 points",
                                **diff.as_dict(), "verdict": verdict(a, b, diff)})
    return {
        "group_by": by,
        "groups": group_rows,
        "per_seed": per_seed,
        "differences": differences,
        "pairs": "all" if len(names) <= MAX_ALL_PAIRS else f"each against {names[0]}",
        "runs": records,
        "created_at": datetime.now(timezone.utc).isoformat(timespec="seconds"),
    }


def _points(value: float | None) -> str:
    return "–" if value is None else f"{POINTS * value:.2f}"


def _mean_std(stats: dict) -> str:
    if stats["mean"] is None:
        return "–"
    if stats["std"] is None:
        return _points(stats["mean"])
    return f"{_points(stats['mean'])} ± {_points(stats['std'])}"


def _range(stats: dict, digits: int) -> str:
    if stats["mean"] is None:
        return "–"
    mean = f"{stats['mean']:.{digits}f}"
    if stats["min"] == stats["max"]:
        return mean
    return f"{mean} ({stats['min']:.{digits}f}–{stats['max']:.{digits}f})"


def _table(header: list[str], rows: list[list[str]], right_from: int = 1) -> list[str]:
    """A Markdown table padded to line up in a terminal too."""
    widths = [max(3, *(len(str(c)) for c in column)) for column in zip(header, *rows)]

    def line(cells: list[str]) -> str:
        padded = [str(c).ljust(w) if i < right_from else str(c).rjust(w)
                  for i, (c, w) in enumerate(zip(cells, widths))]
        return "| " + " | ".join(padded) + " |"

    rule = ["-" * w if i < right_from else "-" * (w - 1) + ":" for i, w in enumerate(widths)]
    return [line(header), line(rule), *map(line, rows)]


def summary_markdown(summary: dict) -> str:
    by = summary["group_by"]
    groups = summary["groups"]
    runs = sum(g["n"] for g in groups)
    if by != BY_VARIANT:
        noun = "group"
    elif any(r.get("variant") for r in summary["runs"]):
        noun = "variant"
    else:
        noun = "setting"
    what = f"{noun}{'s' * (len(groups) != 1)}" + ("" if by == BY_VARIANT else f" by {by}")
    lines = [f"# Summary: {len(groups)} {what}, {runs} runs", "",
             "Micro F1 in points (× 100): mean ± sample std over seeds, min, max.", ""]
    header = [by if by != BY_VARIANT else noun, "n", "seeds", "dev F1", "dev min", "dev max", "test F1", "test min",
              "test max", "best epoch", "train s"]
    rows = [[g["name"], str(g["n"]), " ".join(map(str, g["seeds"])), _mean_std(g["dev_f1"]),
             _points(g["dev_f1"]["min"]), _points(g["dev_f1"]["max"]), _mean_std(g["test_f1"]),
             _points(g["test_f1"]["min"]), _points(g["test_f1"]["max"]),
             _range(g["best_epoch"], 1), _range(g["train_seconds"], 1)] for g in groups]
    lines += _table(header, rows)
    if any(g["runs_per_seed"] > 1 for g in groups):
        note = "Some groups hold several runs per seed: their per-seed F1 is those runs' mean."
        lines += ["", note]

    lines += ["", "## Per seed (dev / test F1)", ""]
    names = [g["name"] for g in groups]
    rows = [[str(row["seed"])] + [
        f"{_points(row['cells'][name]['dev'])} / {_points(row['cells'][name]['test'])}"
        for name in names] for row in summary["per_seed"]]
    lines += _table(["seed", *names], rows)

    if summary["differences"]:
        lines += ["", "## Differences (paired by seed, 95 % CI from Student's t)", ""]
        if summary["pairs"] != "all":
            lines += [f"Too many groups for every pair: {summary['pairs']}.", ""]
        rows = []
        for d in summary["differences"]:
            ci = "–" if d["ci_low"] is None else f"[{signed(d['ci_low'])}, {signed(d['ci_high'])}]"
            mean = "–" if d["mean"] is None else signed(d["mean"])
            word = ("n/a" if d["ci_low"] is None
                    else "significant" if d["significant"] else "not significant")
            rows.append([f"{d['a']} − {d['b']}", d["split"], str(d["n"]), mean, ci, word])
        lines += _table(["difference", "split", "n", "F1 points", "95 % CI", "verdict"], rows,
                        right_from=2)
        lines.append("")
        lines += [f"- {d['split']} F1: {d['verdict']}" for d in summary["differences"]]
    elif len(groups) > 1:
        lines += ["", "No split scored in every run: no differences."]

    gate = summary.get("gate")
    if gate:
        lines += ["", "## Gate", "",
                  f"{gate['metric']} >= {gate['min']:.4f}, applied to {gate['applies_to']}: "
                  f"{'passed' if gate['passed'] else 'FAILED'} ("
                  + ", ".join(f"{k} {v:.4f}" for k, v in gate["values"].items()) + ")"]
    if summary.get("plots"):
        lines += ["", "## Charts", ""] + [f"![{p}]({p})" for p in summary["plots"]]
    return "\n".join(lines) + "\n"


def summary_csv_rows(summary: dict) -> tuple[list[str], list[list[str]]]:
    """One row per group; F1 as fractions (as metrics.json)."""
    stats_columns = ["dev_f1", "test_f1"]
    header = ["group", "n", "seeds"]
    for key in stats_columns:
        header += [f"{key}_{k}" for k in ("mean", "std", "min", "max")]
    header += ["best_epoch_mean", "train_seconds_mean", "wall_seconds_mean"]

    def cell(value: float | None) -> str:
        return "" if value is None else f"{value:.6f}"

    rows = []
    for g in summary["groups"]:
        row = [g["name"], str(g["n"]), " ".join(map(str, g["seeds"]))]
        for key in stats_columns:
            row += [cell(g[key][k]) for k in ("mean", "std", "min", "max")]
        row += [cell(g[key]["mean"]) for key in ("best_epoch", "train_seconds", "wall_seconds")]
        rows.append(row)
    return header, rows


def write_summary(out_dir: Path, summary: dict, groups: dict[str, list[dict]],
                  log: Callable[[str], None] = lambda _: None) -> dict:
    """Charts, then summary.csv, summary.md and summary.json into `out_dir`."""
    from .plots import write_plots

    out_dir = Path(out_dir)
    summary["plots"] = write_plots(out_dir, groups, log)
    write_csv_atomic(out_dir / "summary.csv", *summary_csv_rows(summary))
    write_text_atomic(out_dir / "summary.md", summary_markdown(summary))
    write_json_atomic(out_dir / "summary.json", summary)
    log(f"summary: {out_dir / 'summary.md'} (+ .json, .csv, {', '.join(summary['plots'])})")
    return summary


def report(inputs: list[Path], *, by: str = BY_VARIANT, output_dir: Path | None = None,
           log: Callable[[str], None] = lambda _: None) -> dict:
    """`wd-train report`: summarise results files and run directories into `output_dir`
    (default: the one folder given, else the first results file's folder)."""
    from .results import load_records

    groups = group_records(load_records(inputs), by)
    if output_dir is None:
        first = Path(inputs[0])
        output_dir = first if first.is_dir() else first.parent
    return write_summary(output_dir, build_summary(groups, by), groups, log)
