"""The comparison's charts (PNG, matplotlib's Agg renderer, imported only here):

- lr.png: learning rate per step of every run, one colour per group (warmup ramp and decay);
- dev_f1.png: dev micro F1 per epoch, mean over seeds with a min–max band;
- loss.png: mean training loss per epoch, same layout.

They are read from each run directory's lr.csv and history.csv; runs whose directory is gone are
left out of the charts (their numbers still count in the tables).
"""

from __future__ import annotations

import csv
import io
import logging
from pathlib import Path

from ..files import write_bytes_atomic
from ..run_dir import HISTORY_FILE, LR_FILE
from .results import ResultLine

log = logging.getLogger(__name__)

PLOT_FILES = ("lr.png", "dev_f1.png", "loss.png")


def _read_csv(path: Path) -> list[dict[str, str]]:
    with path.open(encoding="utf-8", newline="") as handle:
        return list(csv.DictReader(handle))


def _series(runs: list[ResultLine], file_name: str) -> list[list[dict[str, str]]]:
    series = []
    for record in runs:
        path = Path(record.run_dir) / file_name
        if path.is_file():
            series.append(_read_csv(path))
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
        for number, rows in enumerate(_series(runs, LR_FILE)):
            steps = [int(r["step"]) for r in rows]
            lrs = [float(r["lr"]) for r in rows]
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
        histories = _series(runs, HISTORY_FILE)
        per_epoch: dict[int, list[float]] = {}
        for rows in histories:
            for row in rows:
                per_epoch.setdefault(int(row["epoch"]), []).append(scale * float(row[column]))
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


def write_plots(out_dir: Path, groups: dict[str, list[ResultLine]]) -> list[str]:
    """Draw the charts into `out_dir`; returns the file names written."""
    out_dir = Path(out_dir)
    out_dir.mkdir(parents=True, exist_ok=True)
    written = []
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
