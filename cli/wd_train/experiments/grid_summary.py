"""The summary of a grid comparison (`compare.grid`): does a variant win when each variant has
its own best setting, not one shared setting that may suit one of them only?

- every variant × grid point: dev and test F1 (mean ± std, n) and how many seeds diverged;
- each variant's best point, selected on **dev mean F1 only** (a point where a seed diverged
  or none finished is not eligible), and the variants compared at their own best points against
  the baseline's best point, paired by seed (test and dev, Holm over the variants);
- the same comparison at every grid point the baseline shares (each point its own family);
- robustness: the points within `TOLERANCE` dev F1 points of a variant's best.

Selecting on dev and comparing on test keeps the selection from flattering the comparison;
the dev differences at the best points are flattered by it and are shown as such.
"""

from __future__ import annotations

from typing import Any

from pydantic import BaseModel, ConfigDict

from ..config import flatten_config
from ..errors import WdTrainError
from .differences import (
    POINTS,
    Difference,
    against_baseline,
    difference_rows,
    f1_of,
    scored_splits,
)
from .grid import format_value, group_name, is_number, point_name, short_names
from .results import ResultLine
from .stats import Describe, describe

TOLERANCE = 1.0  # dev F1 points: "trains about as well as the best"
FLATTERED = " (flattered: dev chose the points)"
SELECTION = ("each variant's best grid point is selected on its dev mean F1 only (points "
             "where a seed diverged are not eligible); the variants are compared at their "
             "own best points, paired by seed: the test differences are the unbiased answer, "
             "the dev ones are flattered by the selection")


class _Record(BaseModel):
    model_config = ConfigDict(extra="ignore")


class GridCell(_Record):
    """One variant at one grid point, over its seeds."""

    variant: str
    point: dict[str, Any]
    name: str  # the summary group: `warmup_decay/learning_rate=0.0003`
    n: int  # finished runs
    diverged: int
    degenerate: int = 0
    seeds: list[int]
    dev_f1: Describe
    test_f1: Describe


class VariantBest(_Record):
    variant: str
    point: dict[str, Any] | None  # None: no eligible point
    name: str | None
    dev_f1: float | None
    test_f1: float | None
    # the eligible points whose dev mean is within TOLERANCE points of the best
    near_best: list[dict[str, Any]]
    near_best_text: str
    n: int = 0  # finished seeds at the best point
    most_seeds: int = 0  # the most finished seeds at any of the variant's points


class PointComparison(_Record):
    point: dict[str, Any]
    name: str
    differences: list[Difference]


class GridSummary(_Record):
    keys: list[str]
    baseline: str
    selection: str = SELECTION
    tolerance: float = TOLERANCE
    cells: list[GridCell]
    best: list[VariantBest]
    at_best: list[Difference]
    at_points: list[PointComparison]


def is_grid(records: list[ResultLine]) -> bool:
    return any(r.grid for r in records)


def _point_key(point: dict[str, Any], keys: list[str]) -> tuple:
    """Numbers in numeric order, other values as text."""
    return tuple((0, v, "") if is_number(v) else (1, 0, str(v))
                 for v in (point.get(k) for k in keys))


def _cell(variant: str, point: dict[str, Any], runs: list[ResultLine]) -> GridCell:
    finished = [r for r in runs if r.finished]
    return GridCell(
        variant=variant, point=point, name=group_name(variant, point), n=len(finished),
        diverged=sum(not r.finished for r in runs),
        degenerate=sum(r.degenerate for r in finished),
        seeds=sorted({r.seed for r in runs}),
        dev_f1=describe([f for f in (f1_of(r, "dev") for r in finished) if f is not None]),
        test_f1=describe([f for f in (f1_of(r, "test") for r in finished) if f is not None]))


def _near_best_text(near: list[dict[str, Any]], eligible: int, keys: list[str],
                    contiguous: bool) -> str:
    """`0.0001 … 0.0003 (3 of 5 points, ×3)` for one numeric key when no other point lies
    between them, else the points' names."""
    if not near:
        return "–"
    counted = f"{len(near)} of {eligible} point{'s' * (eligible != 1)}"
    if len(keys) == 1 and contiguous:
        values = [p[keys[0]] for p in near]
        if all(map(is_number, values)):
            low, high = min(values), max(values)
            span = f", ×{high / low:.3g}" if low > 0 and high > low else ""
            text = format_value(low) if low == high else \
                f"{format_value(low)} … {format_value(high)}"
            return f"{text} ({counted}{span})"
    return f"{', '.join(point_name(p) for p in near)} ({counted})"


def _best(variant: str, cells: list[GridCell], keys: list[str]) -> VariantBest:
    eligible = [c for c in cells if c.diverged == 0 and c.n > 0 and c.dev_f1.mean is not None]
    if not eligible:
        return VariantBest(variant=variant, point=None, name=None, dev_f1=None, test_f1=None,
                           near_best=[], near_best_text="–")
    top = max(eligible, key=lambda c: c.dev_f1.mean)  # first in grid order on a tie
    floor = top.dev_f1.mean - TOLERANCE / POINTS
    near = [c.point for c in eligible if c.dev_f1.mean >= floor]
    # a range "a … b" claims every point between a and b (in grid order): a point below the
    # floor, diverged or unfinished there breaks it
    where = [i for i, c in enumerate(cells) if c.point in near]
    contiguous = where == list(range(where[0], where[-1] + 1))
    return VariantBest(variant=variant, point=top.point, name=top.name, dev_f1=top.dev_f1.mean,
                       test_f1=top.test_f1.mean, near_best=near,
                       near_best_text=_near_best_text(near, len(eligible), keys, contiguous),
                       n=top.n, most_seeds=max(c.n for c in cells))


def grid_order(groups: dict[str, list[ResultLine]]) -> dict[str, list[ResultLine]]:
    """A grid's groups by variant (first seen first), then by point (numbers in numeric
    order), whatever order the runs finished in."""
    runs = [r for g in groups.values() for r in g]
    variants = list(dict.fromkeys(r.variant or "" for r in runs))
    keys = sorted({k for r in runs for k in r.grid})

    def order(name: str) -> tuple:
        first = groups[name][0]
        return (variants.index(first.variant or ""), _point_key(first.grid, keys))

    return {name: groups[name] for name in sorted(groups, key=order)}


# Keys that differ between the cells of one grid by design (besides variants' and grid keys).
_PER_CELL = ("training.seed", "output.dir")


def check_one_grid(records: list[ResultLine]) -> None:
    """The runs must be the cells of one grid: the same grid keys, one run per cell, and the
    same resolved config but for what the variants, the grid and the seed set. Results of two
    studies (e.g. a subset grid and its full-data confirmation) would otherwise average into
    the same cells, or compare different keys' points, and give numbers nobody ran."""
    first = records[0]
    for record in records:
        if set(record.grid) != set(first.grid):
            shown = ", ".join(sorted(record.grid)) or "no grid point"
            raise WdTrainError(
                f"not one grid: {first.run_dir} has {', '.join(sorted(first.grid))}, "
                f"{record.run_dir} has {shown}; report them apart")
    cells: dict[tuple[str, str, int], ResultLine] = {}
    for record in records:
        cell = (record.variant or "", point_name(record.grid), record.seed)
        if cell in cells:
            raise WdTrainError(
                f"two runs of the cell {group_name(cell[0], record.grid)}/seed-{cell[2]}: "
                f"{cells[cell].run_dir} and {record.run_dir}; a grid summary takes one run "
                "per cell (report them apart)")
        cells[cell] = record
    varied = {k for r in records for k in (*r.grid, *r.overrides)}
    configs = [(r, flatten_config(r.resolved_config)) for r in records if r.resolved_config]
    for record, config in configs[1:]:
        reference, reference_config = configs[0]
        for key in sorted(config.keys() & reference_config.keys()):
            if key in varied or key in _PER_CELL:
                continue
            if config[key] != reference_config[key]:
                raise WdTrainError(
                    f"not one grid: {key} is {reference_config[key]!r} in "
                    f"{reference.run_dir} but {config[key]!r} in {record.run_dir} (neither a "
                    "variant nor the grid sets it); report them apart")


def grid_summary(records: list[ResultLine], variants: list[str],
                 baseline: str) -> GridSummary:
    """The grid analysis of runs with grid points; `variants` in their order, `baseline` one of
    them."""
    check_one_grid(records)
    keys = sorted({k for r in records for k in r.grid})
    by_cell: dict[tuple[str, str], list[ResultLine]] = {}
    points: dict[str, dict[str, Any]] = {}
    for record in records:
        name = point_name(record.grid)
        points.setdefault(name, record.grid)
        by_cell.setdefault((record.variant or "", name), []).append(record)
    ordered = sorted(points, key=lambda name: _point_key(points[name], keys))
    cells = {variant: [_cell(variant, points[name], by_cell[(variant, name)])
                       for name in ordered if (variant, name) in by_cell]
             for variant in variants}
    best = [_best(variant, cells[variant], keys) for variant in variants]

    splits = scored_splits({"all": records})
    best_runs = {b.name: by_cell[(b.variant, point_name(b.point))]
                 for b in best if b.point is not None}
    base_best = next(b for b in best if b.variant == baseline)
    at_best = (against_baseline(best_runs, base_best.name, splits)
               if base_best.name is not None and len(best_runs) > 1 else [])
    at_points = []
    for name in ordered:
        present = {group_name(v, points[name]): by_cell[(v, name)] for v in variants
                   if (v, name) in by_cell}
        base = group_name(baseline, points[name])
        if base in present and len(present) > 1:
            at_points.append(PointComparison(point=points[name], name=name,
                                             differences=against_baseline(present, base,
                                                                          splits)))
    return GridSummary(keys=keys, baseline=baseline, cells=[c for v in variants for c in cells[v]],
                       best=best, at_best=at_best, at_points=at_points)


def _points_text(value: float | None) -> str:
    return "–" if value is None else f"{POINTS * value:.2f}"


def _mean_std(stats: Describe) -> str:
    if stats.mean is None:
        return "–"
    if stats.std is None:
        return _points_text(stats.mean)
    return f"{_points_text(stats.mean)} ± {_points_text(stats.std)}"


def grid_markdown(grid: GridSummary, table) -> list[str]:
    """The grid's sections of summary.md; `table(header, rows, right_from)` lays them out."""
    short = short_names(grid.keys)
    header_keys = [short[k] for k in grid.keys]
    lines = ["", f"## Grid over {', '.join(grid.keys)}", "",
             f"Selection: {grid.selection}.", ""]
    rows = [[c.variant, *(format_value(c.point.get(k)) for k in grid.keys), str(c.n),
             str(c.diverged), _mean_std(c.dev_f1), _mean_std(c.test_f1)] for c in grid.cells]
    lines += table(["variant", *header_keys, "n", "diverged", "dev F1", "test F1"], rows,
                   1 + len(grid.keys))
    if any(c.degenerate for c in grid.cells):
        lines += ["", "Runs that predicted no entity on dev (degenerate) count in these means: "
                  + ", ".join(f"{c.name} ({c.degenerate})" for c in grid.cells if c.degenerate)
                  + "."]

    lines += ["", "### Each variant's best point (selected on dev only)", ""]
    rows = [[b.variant, b.name.split("/", 1)[1] if b.name else "none eligible",
             _points_text(b.dev_f1), _points_text(b.test_f1), b.near_best_text]
            for b in grid.best]
    lines += table(["variant", "best point", "dev F1", "test F1",
                    f"points within {grid.tolerance:g} dev F1 point of the best"], rows, 2)
    fewer = [b for b in grid.best if b.name and b.n < b.most_seeds]
    if fewer:
        lines += ["", "Chosen on fewer seeds than other points had (a mean of fewer seeds is "
                  "less sure, and the most favourable of unequal samples tends to be a small "
                  "one): " + "; ".join(f"{b.name}, {b.n} finished against up to {b.most_seeds}"
                                       for b in fewer) + "."]

    if len(grid.best) == 1:  # one variant: its grid points are what a reader compares
        key = grid.keys[0]
        lines += ["", ("One variant: no comparison between variants. To compare its grid points "
                  f"paired by seed: `wd-train report FILE --by {key} --baseline "
                  f"{key.split('.')[-1]}=VALUE`.")]
    else:
        lines += ["", f"### At each variant's own best point, against {grid.baseline}'s best",
                  ""]
        if grid.at_best:
            rows, holm_used = difference_rows(grid.at_best)
            for row in rows:
                if row[1] == "dev":
                    row[7] += FLATTERED
            lines += table(["difference", "split", "n", "F1 points", "95 % CI",
                            "p (Holm)" if holm_used else "p", "seeds for 80 % power",
                            "verdict"], rows, 2)
            lines += ["", *(f"- {d.split} F1: {d.verdict}"
                            + (FLATTERED if d.split == "dev" else "") for d in grid.at_best)]
        else:
            lines += [("No comparison: the baseline or every other variant has no eligible "
                      "point.")]

    if grid.at_points:
        lines += ["", ("### At every shared grid point (each point its own family, not adjusted "
                  "across points)"), ""]
        rows, unpaired, any_holm = [], [], False
        for comparison in grid.at_points:
            paired = [d for d in comparison.differences if d.n > 0]
            if not paired:
                unpaired.append(comparison.name)
            point_rows, holm_used = difference_rows(paired)
            any_holm = any_holm or holm_used
            rows += [[comparison.name, *row[:6], row[7]] for row in point_rows]
        if rows:
            lines += table(["point", "difference", "split", "n", "F1 points", "95 % CI",
                            "p (Holm within the point)" if any_holm else "p", "verdict"],
                           rows, 3)
        if unpaired:
            lines += ["", (f"No pair of finished runs (diverged or missing) at: "
                      f"{', '.join(unpaired)}.")]
    return lines
