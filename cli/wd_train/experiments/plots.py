"""The comparison's charts (PNG, matplotlib's Agg renderer, imported only here):

- lr.png: learning rate per step of every run, one colour per group (warmup ramp and decay);
- dev_f1.png: dev micro F1 per epoch, mean over seeds with a min–max band;
- loss.png: mean training loss per epoch, same layout;
- lr_sensitivity.png (a grid): dev and test F1 over the learning rate (else the grid's numeric
  key with the most values), one line per variant and value of the other keys, a min–max band
  over seeds on both, each variant's best point (dev) starred, diverged seeds marked.
  Drawn from the summary's own numbers, not re-read from the runs.

They are read from each run directory's lr.csv and history.csv; runs whose directory is gone are
left out of the charts (their numbers still count in the tables).
"""

from __future__ import annotations

import csv
import io
import logging
from dataclasses import dataclass
from pathlib import Path
from typing import Any

from ..files import write_bytes_atomic
from ..run_dir import HISTORY_FILE, LR_FILE
from .grid import format_value, is_number
from .grid_summary import GridSummary
from .results import ResultLine

log = logging.getLogger(__name__)

PLOT_FILES = ("lr.png", "dev_f1.png", "loss.png")
SENSITIVITY_PLOT = "lr_sensitivity.png"


def _read_csv(path: Path) -> list[dict[str, str]]:
    with path.open(encoding="utf-8", newline="") as handle:
        return list(csv.DictReader(handle))


def _series(runs: list[ResultLine], file_name: str, columns: tuple[str, ...]
            ) -> list[list[dict[str, float]]]:
    """Each run's curve (`columns` as numbers); a run whose file is missing or damaged is left
    out of the chart, with a log line, and still counts in the tables."""
    series = []
    for record in runs:
        path = Path(record.run_dir) / file_name
        try:
            if not path.is_file():  # a folder that cannot be searched raises here
                continue
            rows = [{c: float(row[c]) for c in columns} for row in _read_csv(path)]
        except (OSError, UnicodeDecodeError, csv.Error, KeyError, TypeError, ValueError) as exc:
            log.warning(f"{path}: left out of the charts (cannot read: "
                        f"{type(exc).__name__} {str(exc)[:80]})")
            continue
        series.append(rows)
    return series


def _new_figure(title: str, xlabel: str, ylabel: str):
    # No pyplot: no global state and no GUI backend, just a figure on an Agg canvas.
    from matplotlib.backends.backend_agg import FigureCanvasAgg
    from matplotlib.figure import Figure

    figure = Figure(figsize=(7.5, 4.5), dpi=120, layout="constrained")
    FigureCanvasAgg(figure)
    axes = figure.subplots()
    axes.set_title(title, fontsize=11)
    axes.set_xlabel(xlabel)
    axes.set_ylabel(ylabel)
    axes.grid(True, alpha=0.3)
    return figure, axes


def _save(figure, path: Path) -> None:
    # Whole or not at all, like every other file wd-train writes.
    buffer = io.BytesIO()
    figure.savefig(buffer, format="png")
    write_bytes_atomic(path, buffer.getvalue())


def _colour(index: int) -> str:
    return f"C{index % 10}"


def _lr_chart(groups: dict[str, list[ResultLine]], path: Path) -> bool:
    figure, axes = _new_figure("Learning rate per step (every run)", "step", "learning rate")
    drawn = False
    for index, (name, runs) in enumerate(groups.items()):
        for number, rows in enumerate(_series(runs, LR_FILE, ("step", "lr"))):
            steps = [r["step"] for r in rows]
            lrs = [r["lr"] for r in rows]
            axes.plot(steps, lrs, color=_colour(index), linewidth=1.6 - 0.4 * (number > 0),
                      alpha=1.0 if number == 0 else 0.5, label=name if number == 0 else None)
            drawn = True
    if not drawn:
        return False
    axes.ticklabel_format(axis="y", style="sci", scilimits=(-3, 3))
    axes.xaxis.get_major_locator().set_params(integer=True)
    axes.set_ylim(bottom=0)
    axes.legend(loc="best", fontsize=9)
    _save(figure, path)
    return True


def _epoch_chart(groups: dict[str, list[ResultLine]], column: str, scale: float, title: str,
                 ylabel: str, path: Path) -> bool:
    figure, axes = _new_figure(title, "epoch", ylabel)
    drawn = False
    for index, (name, runs) in enumerate(groups.items()):
        histories = _series(runs, HISTORY_FILE, ("epoch", column))
        per_epoch: dict[int, list[float]] = {}
        for rows in histories:
            for row in rows:
                per_epoch.setdefault(int(row["epoch"]), []).append(scale * row[column])
        if not per_epoch:
            continue
        epochs = sorted(per_epoch)
        means = [sum(per_epoch[e]) / len(per_epoch[e]) for e in epochs]
        colour = _colour(index)
        axes.plot(epochs, means, marker="o", color=colour,
                  label=f"{name} (n={len(histories)})")
        if len(histories) > 1:
            axes.fill_between(epochs, [min(per_epoch[e]) for e in epochs],
                              [max(per_epoch[e]) for e in epochs], color=colour, alpha=0.2,
                              linewidth=0)
        drawn = True
    if not drawn:
        return False
    axes.xaxis.get_major_locator().set_params(integer=True)
    axes.legend(loc="best", fontsize=9)
    _save(figure, path)
    return True


def _is_rate(key: str) -> bool:
    return key.split(".")[-1] == "learning_rate"


def sensitivity_x_key(grid: GridSummary) -> str:
    """The key along lr_sensitivity.png's x axis: the learning rate, which the chart is about;
    else the numeric key with the most distinct values (the first on a tie), the finest sweep,
    so the coarser keys become separate lines."""
    rates = [k for k in grid.keys if _is_rate(k)]
    if rates:
        return rates[0]
    numeric = [k for k in grid.keys if all(is_number(c.point.get(k)) for c in grid.cells)]
    if not numeric:
        return grid.keys[0]
    return max(numeric, key=lambda k: len({c.point.get(k) for c in grid.cells}))


@dataclass
class SensitivityLine:
    """One line of lr_sensitivity.png: a variant (at one value of the grid's other keys) over
    the x key (`sensitivity_x_key`), dev and test F1 in points; NaN where no seed finished."""

    label: str
    x: list[Any]
    dev_mean: list[float]
    dev_min: list[float]
    dev_max: list[float]
    test_mean: list[float]
    test_min: list[float]
    test_max: list[float]
    diverged: list[int]  # seeds that diverged at each x
    degenerate: list[int]  # finished seeds that predicted no entity on dev


def _line_label(variant: str, point: dict[str, Any], other_keys: list[str]) -> str:
    # values written as in the cells' names (`1e-5`, not Python's `1e-05`)
    rest = ", ".join(f"{k.split('.')[-1]}={format_value(point.get(k))}" for k in other_keys)
    return f"{variant}, {rest}" if rest else variant


def sensitivity_lines(grid: GridSummary) -> list[SensitivityLine]:
    """The summary's grid cells as lines over the x key (numeric order, as the summary)."""
    x_key = sensitivity_x_key(grid)
    other_keys = [k for k in grid.keys if k != x_key]
    lines: dict[str, SensitivityLine] = {}
    nan = float("nan")

    def points(value: float | None) -> float:
        return nan if value is None else 100.0 * value

    for cell in grid.cells:
        label = _line_label(cell.variant, cell.point, other_keys)
        line = lines.setdefault(label, SensitivityLine(label, [], [], [], [], [], [], [], [], []))
        line.x.append(cell.point.get(x_key))
        line.dev_mean.append(points(cell.dev_f1.mean))
        line.dev_min.append(points(cell.dev_f1.min))
        line.dev_max.append(points(cell.dev_f1.max))
        line.test_mean.append(points(cell.test_f1.mean))
        line.test_min.append(points(cell.test_f1.min))
        line.test_max.append(points(cell.test_f1.max))
        line.diverged.append(cell.diverged)
        line.degenerate.append(cell.degenerate)
    return list(lines.values())


def sensitivity_figure(grid: GridSummary):
    """lr_sensitivity.png's Figure (kept apart from saving, so a test can read its artists)."""
    from matplotlib.backends.backend_agg import FigureCanvasAgg
    from matplotlib.figure import Figure

    key = sensitivity_x_key(grid)
    lines = sensitivity_lines(grid)
    xs = [x for line in lines for x in line.x]
    numeric = all(map(is_number, xs))
    # Rates are compared by ratio (1e-4 vs 3e-4), so a log axis whenever it can be; other keys
    # only when their values span a decade.
    log_x = numeric and min(xs) > 0 and (_is_rate(key) or max(xs) / min(xs) >= 10)
    categories = list(dict.fromkeys(map(format_value, xs)))
    marked_at_zero = any(any(line.diverged) or any(line.degenerate) for line in lines)
    # each variant's best point, by the label of the line that holds it (same other-key values)
    other_keys = [k for k in grid.keys if k != key]
    best = {_line_label(b.variant, b.point, other_keys): b for b in grid.best
            if b.point is not None}
    figure = Figure(figsize=(11, 4.5), dpi=120, layout="constrained")
    FigureCanvasAgg(figure)
    dev_axes, test_axes = figure.subplots(1, 2, sharex=True)
    for axes, split in ((dev_axes, "dev"), (test_axes, "test")):
        # the key is in the x label: a long key in the title overran the panel
        axes.set_title(f"{split} micro F1 (mean over seeds, band: min–max)", fontsize=10)
        axes.set_xlabel(key + (" (log scale)" if log_x else ""))
        axes.set_ylabel(f"{split} F1 (points)")
        axes.grid(True, alpha=0.3)
        if log_x:
            axes.set_xscale("log")
    for index, line in enumerate(lines):
        colour = _colour(index)
        x = line.x if numeric else [categories.index(format_value(v)) for v in line.x]
        for axes, mean, low, high in ((dev_axes, line.dev_mean, line.dev_min, line.dev_max),
                                      (test_axes, line.test_mean, line.test_min, line.test_max)):
            axes.plot(x, mean, marker="o", color=colour, label=line.label)
            axes.fill_between(x, low, high, color=colour, alpha=0.2, linewidth=0)
        star = best.get(line.label)
        if star is not None:
            dev_axes.plot([x[line.x.index(star.point.get(key))]], [100.0 * star.dev_f1],
                          marker="*", markersize=14, color=colour, linestyle="none")
        for axes in (dev_axes, test_axes):
            for xi, count, bad in zip(x, line.diverged, line.degenerate):
                if count:  # diverged seeds: an x at the bottom with their count
                    axes.plot([xi], [0], marker="x", markersize=10, color=colour,
                              linestyle="none")
                    axes.annotate(f"{count} diverged", (xi, 0), textcoords="offset points",
                                  xytext=(0, 6 + 10 * index), ha="center", fontsize=7,
                                  color=colour)
                elif bad:
                    axes.annotate(f"{bad} no entity", (xi, 0), textcoords="offset points",
                                  xytext=(0, 6 + 10 * index), ha="center", fontsize=7,
                                  color=colour)
    ticks = sorted(set(xs)) if numeric else range(len(categories))
    for axes in (dev_axes, test_axes):
        # Ticks at exactly the values run, named as the cells are; no minor ticks, whose labels
        # on a log axis overlap and name values that were not run.
        axes.set_xticks(ticks, [format_value(v) for v in ticks] if numeric else categories)
        axes.set_xticks([], minor=True)
        if marked_at_zero:  # the diverged / no-entity marks sit at 0: keep them in view
            axes.set_ylim(bottom=-2)
    dev_axes.legend(loc="best", fontsize=8, title="★ best on dev" if best else None,
                    title_fontsize=8)
    return figure


def _sensitivity_chart(grid: GridSummary, path: Path) -> bool:
    _save(sensitivity_figure(grid), path)
    return True


def write_plots(out_dir: Path, groups: dict[str, list[ResultLine]],
                grid: GridSummary | None = None) -> list[str]:
    """Draw the charts into `out_dir` (with a grid, lr_sensitivity.png from the summary's own
    numbers); returns the file names written."""
    out_dir = Path(out_dir)
    out_dir.mkdir(parents=True, exist_ok=True)
    written = []
    if grid is not None and grid.cells and _sensitivity_chart(grid, out_dir / SENSITIVITY_PLOT):
        written.append(SENSITIVITY_PLOT)
    charts = {
        "lr.png": lambda p: _lr_chart(groups, p),
        "dev_f1.png": lambda p: _epoch_chart(
            groups, "dev_f1", 100.0, "Dev micro F1 per epoch (mean over seeds, band: min–max)",
            "dev F1 (points)", p),
        "loss.png": lambda p: _epoch_chart(
            groups, "loss", 1.0, "Training loss per epoch (mean over seeds, band: min–max)",
            "mean training loss", p),
    }
    for name in PLOT_FILES:
        if charts[name](out_dir / name):
            written.append(name)
        else:
            log.info(f"{name}: not drawn (no run directory with its curves)")
    return written
