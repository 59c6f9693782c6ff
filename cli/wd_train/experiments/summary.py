"""The summary of several runs (`Summary`, summary.json): groups (by variant or by any config
key), per-group F1 mean ± std, every seed's F1, paired differences with a 95 % CI and a verdict;
written as summary.md, summary.json and summary.csv with the charts. A comparison and
`wd-train report` both end here.

Units: JSON and CSV keep F1 as a fraction (0–1, as in metrics.json); summary.md and the
differences use F1 points (× 100), the unit papers report.
"""

from __future__ import annotations

import logging
import os
import shutil
from pathlib import Path
from typing import Any

from pydantic import BaseModel, ConfigDict

from ..errors import WdTrainError
from ..files import (
    errors_name,
    make_temp_dir,
    staged_errors,
    to_json,
    write_csv_atomic,
    write_text_atomic,
)
from ..run_dir import now_iso
from .differences import POINTS, Difference, against_baseline, difference_rows, f1_of, per_seed
from .grid_summary import GridSummary, grid_markdown, grid_order, grid_summary, is_grid
from .grouping import BY_VARIANT
from .results import ResultLine
from .stats import Describe, describe

log = logging.getLogger(__name__)


SUMMARY_JSON = "summary.json"


class _Record(BaseModel):
    model_config = ConfigDict(extra="ignore")


class GroupRow(_Record):
    name: str
    n: int  # finished runs (the F1 statistics are over these)
    diverged: int = 0  # runs that diverged: counted, never scored
    degenerate: int = 0  # finished runs that predicted no entity on dev (in the means)
    seeds: list[int]
    runs_per_seed: int
    dev_f1: Describe
    test_f1: Describe
    best_epoch: Describe
    train_seconds: Describe
    wall_seconds: Describe


class SeedRow(_Record):
    seed: int
    cells: dict[str, dict[str, float | None]]  # group → split → F1


class Summary(_Record):
    """summary.json (and `--json` of a comparison or `wd-train report`)."""

    group_by: str
    groups: list[GroupRow]
    per_seed: list[SeedRow]
    differences: list[Difference]
    pairs: str
    runs: list[ResultLine]
    created_at: str
    config: str | None = None  # the comparison's config file
    gate: dict[str, Any] | None = None  # the gate's details, when the config has one
    plots: list[str] = []
    grid: GridSummary | None = None  # a grid comparison's analysis (grid_summary.py)


def _group_row(name: str, all_runs: list[ResultLine]) -> GroupRow:
    runs = [r for r in all_runs if r.finished]
    seeds = sorted({r.seed for r in runs})

    def stats_of(key: str) -> Describe:
        return describe([float(v) for v in (getattr(r, key) for r in runs) if v is not None])

    return GroupRow(
        name=name, n=len(runs), seeds=seeds, diverged=len(all_runs) - len(runs),
        degenerate=sum(r.degenerate for r in runs),
        runs_per_seed=max((sum(r.seed == s for r in runs) for s in seeds), default=0),
        dev_f1=describe([f for f in (f1_of(r, "dev") for r in runs) if f is not None]),
        test_f1=describe([f for f in (f1_of(r, "test") for r in runs) if f is not None]),
        best_epoch=stats_of("best_epoch"), train_seconds=stats_of("train_seconds"),
        wall_seconds=stats_of("wall_seconds"),
    )


def pick_baseline(names: list[str], baseline: str | None = None) -> str:
    """What every other group is compared with: `baseline` when given, else `constant` (or
    `schedule=constant`, grouped by a key) when there is such a group (the tool's question: does a schedule beat a constant rate?), else
    the first."""
    if baseline is not None:
        if baseline not in names:
            raise WdTrainError(f"compare.baseline: {baseline!r} is not one of the groups "
                               f"({', '.join(names)})")
        return baseline
    constant = [n for n in names if n == "constant" or n.endswith("=constant")]
    return constant[0] if constant else names[0]


def build_summary(groups: dict[str, list[ResultLine]], by: str = BY_VARIANT,
                  baseline: str | None = None) -> Summary:
    """The summary of runs already grouped (see `grouping.group_results`); each group's
    paired difference against the baseline (`pick_baseline`), Holm-adjusted when there are
    several."""
    records = [record for runs in groups.values() for record in runs]
    if by == BY_VARIANT and is_grid(records):
        groups = grid_order(groups)
    all_seeds = sorted({r.seed for r in records})
    seed_rows = [SeedRow(seed=seed, cells={
        name: {split: per_seed(runs, split).get(seed) for split in ("dev", "test")}
        for name, runs in groups.items()}) for seed in all_seeds]

    grid = None
    if by == BY_VARIANT and is_grid(records):
        # a grid: the headline differences are each variant at its own best point (dev)
        variants = list(dict.fromkeys(r.variant or "" for r in records))
        grid = grid_summary(records, variants, pick_baseline(variants, baseline))
        baseline = grid.baseline
        differences = grid.at_best
        pairs = (f"each variant at its best grid point (selected on dev) against {baseline} "
                 "at its best")
    else:
        baseline = pick_baseline(list(groups), baseline)
        differences = against_baseline(groups, baseline)
        pairs = f"each against {baseline}"
    return Summary(
        group_by=by,
        groups=[_group_row(name, runs) for name, runs in groups.items()],
        per_seed=seed_rows,
        differences=differences,
        pairs=pairs,
        runs=records,
        created_at=now_iso(),
        grid=grid,
    )


def _points(value: float | None) -> str:
    return "–" if value is None else f"{POINTS * value:.2f}"


def _mean_std(stats: Describe) -> str:
    if stats.mean is None:
        return "–"
    if stats.std is None:
        return _points(stats.mean)
    return f"{_points(stats.mean)} ± {_points(stats.std)}"


def _range(stats: Describe, digits: int) -> str:
    if stats.mean is None:
        return "–"
    mean = f"{stats.mean:.{digits}f}"
    if stats.min == stats.max:
        return mean
    return f"{mean} ({stats.min:.{digits}f}–{stats.max:.{digits}f})"


def _table(header: list[str], rows: list[list[str]], right_from: int = 1) -> list[str]:
    """A Markdown table padded to line up in a terminal too."""
    widths = [max(3, *(len(str(c)) for c in column)) for column in zip(header, *rows)]

    def line(cells: list[str]) -> str:
        padded = [str(c).ljust(w) if i < right_from else str(c).rjust(w)
                  for i, (c, w) in enumerate(zip(cells, widths))]
        return "| " + " | ".join(padded) + " |"

    rule = ["-" * w if i < right_from else "-" * (w - 1) + ":" for i, w in enumerate(widths)]
    return [line(header), line(rule), *map(line, rows)]


def summary_markdown(summary: Summary) -> str:
    by = summary.group_by
    groups = summary.groups
    runs = sum(g.n for g in groups)
    diverged = sum(g.diverged for g in groups)
    if by != BY_VARIANT:
        noun = "group"
    elif summary.grid is not None:
        noun = "grid cell"
    elif any(r.variant for r in summary.runs):
        noun = "variant"
    else:
        noun = "setting"
    what = f"{noun}{'s' * (len(groups) != 1)}" + ("" if by == BY_VARIANT else f" by {by}")
    lines = [f"# Summary: {len(groups)} {what}, {runs} runs"
             + (f" (and {diverged} that diverged)" if diverged else ""), "",
             "Micro F1 in points (× 100): mean ± sample std over seeds, min, max.", ""]
    counts = ["n", *(["diverged"] if diverged else [])]
    header = [by if by != BY_VARIANT else noun, *counts, "seeds", "dev F1", "dev min",
              "dev max", "test F1", "test min", "test max", "best epoch", "train s"]
    rows = [[g.name, str(g.n), *([str(g.diverged)] if diverged else []),
             " ".join(map(str, g.seeds)), _mean_std(g.dev_f1),
             _points(g.dev_f1.min), _points(g.dev_f1.max), _mean_std(g.test_f1),
             _points(g.test_f1.min), _points(g.test_f1.max),
             _range(g.best_epoch, 1), _range(g.train_seconds, 1)] for g in groups]
    lines += _table(header, rows)
    if diverged:
        lines += ["", (f"{diverged} run{'s' * (diverged != 1)} diverged (exit code 3): counted "
                  "in `diverged`, left out of every F1 statistic and of the pairs.")]
    degenerate = [g for g in groups if g.degenerate]
    if degenerate:
        lines += ["", "Degenerate runs (no entity predicted on dev although the training data "
                  "has entities) count in these means: " + ", ".join(
                      f"{g.name} {g.degenerate} of {g.n}" for g in degenerate) + "."]
    if any(g.runs_per_seed > 1 for g in groups):
        note = "Some groups hold several runs per seed: their per-seed F1 is those runs' mean."
        lines += ["", note]

    if summary.grid is not None:
        lines += grid_markdown(summary.grid, _table)
    else:
        lines += ["", "## Per seed (dev / test F1)", ""]
        names = [g.name for g in groups]
        rows = [[str(row.seed)] + [
            f"{_points(row.cells[name]['dev'])} / {_points(row.cells[name]['test'])}"
            for name in names] for row in summary.per_seed]
        lines += _table(["seed", *names], rows)

    if summary.differences and summary.grid is None:
        lines += ["", "## Differences (paired by seed, 95 % CI from Student's t)", ""]
        rows, holm_used = difference_rows(summary.differences)
        lines += [f"Each group against {summary.differences[0].b}"
                  + (" (significance Holm-adjusted over the comparisons of a split; seeds for "
                     "80 % power at 5 %/m for m comparisons, so that they hold after the "
                     "adjustment)." if holm_used else "."), ""]
        lines += _table(["difference", "split", "n", "F1 points", "95 % CI",
                         "p (Holm)" if holm_used else "p", "seeds for 80 % power",
                         "verdict"], rows, right_from=2)
        lines.append("")
        lines += [f"- {d.split} F1: {d.verdict}" for d in summary.differences]
    elif len(groups) > 1 and summary.grid is None:
        lines += ["", "No split scored in every run: no differences."]
    unscored = sum(r.finished and r.test is None for r in summary.runs)
    finished = sum(r.finished for r in summary.runs)
    if len(groups) > 1 and 0 < unscored < finished:
        lines += ["", (f"No test differences: {unscored} of the {finished} runs have "
                       "no test score (data.test unset), and differences use only splits every "
                       "run was scored on.")]

    gate = summary.gate
    if gate:
        lines += ["", "## Gate", "",
                  f"{gate['metric']} >= {gate['min']:.4f}, applied to {gate['applies_to']}: "
                  f"{'passed' if gate['passed'] else 'FAILED'} ("
                  + ", ".join(f"{k} {v:.4f}" for k, v in gate["values"].items()) + ")"]
    if summary.plots:
        lines += ["", "## Charts", ""] + [f"![{p}]({p})" for p in summary.plots]
    return "\n".join(lines) + "\n"


def summary_csv_rows(summary: Summary) -> tuple[list[str], list[list[str]]]:
    """One row per group; F1 as fractions (as metrics.json)."""
    stats_columns = ["dev_f1", "test_f1"]
    header = ["group", "n", "diverged", "degenerate", "seeds"]
    for key in stats_columns:
        header += [f"{key}_{k}" for k in ("mean", "std", "min", "max")]
    header += ["best_epoch_mean", "train_seconds_mean", "wall_seconds_mean"]

    def cell(value: float | None) -> str:
        return "" if value is None else f"{value:.6f}"

    rows = []
    for g in summary.groups:
        row = [g.name, str(g.n), str(g.diverged), str(g.degenerate), " ".join(map(str, g.seeds))]
        for key in stats_columns:
            row += [cell(getattr(getattr(g, key), k)) for k in ("mean", "std", "min", "max")]
        row += [cell(getattr(g, key).mean) for key in ("best_epoch", "train_seconds",
                                                       "wall_seconds")]
        rows.append(row)
    return header, rows


def write_summary(out_dir: Path, summary: Summary, groups: dict[str, list[ResultLine]]
                  ) -> Summary:
    """Charts, summary.csv, summary.md and summary.json into `out_dir`, as one set: all are
    first written whole into a temporary folder inside `out_dir` (a full disk fails there and
    leaves the earlier report as it was), then renamed into place with summary.json last, the
    earlier summary.json removed first. A set caught half-way (a killed process) therefore
    has no summary.json: it cannot be mistaken for a complete report."""
    from .plots import write_plots

    out_dir = Path(out_dir)
    with errors_name(out_dir):
        out_dir.mkdir(parents=True, exist_ok=True)
    staging = make_temp_dir(out_dir, "summary")
    try:
        with staged_errors(staging, out_dir):  # errors name the report's files, not the staging
            summary.plots = write_plots(staging, groups, summary.grid)
            write_csv_atomic(staging / "summary.csv", *summary_csv_rows(summary))
            write_text_atomic(staging / "summary.md", summary_markdown(summary))
            write_text_atomic(staging / SUMMARY_JSON,
                              to_json(summary.model_dump(mode="json"), indent=2) + "\n")
        names = [*summary.plots, "summary.csv", "summary.md"]
        with errors_name(out_dir / SUMMARY_JSON):
            (out_dir / SUMMARY_JSON).unlink(missing_ok=True)
        for name in [*names, SUMMARY_JSON]:
            with errors_name(out_dir / name):
                os.replace(staging / name, out_dir / name)
    finally:
        shutil.rmtree(staging, ignore_errors=True)
    log.info(f"summary: {out_dir / 'summary.md'} (+ .json, .csv, {', '.join(summary.plots)})")
    return summary
