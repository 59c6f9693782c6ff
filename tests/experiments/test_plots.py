"""The comparison's charts draw exactly the numbers they are given: the figures are read back
from matplotlib's artists (lines and min–max bands) and compared with the runs' history.csv and
lr.csv, and lr_sensitivity.png with the grid summary's own cells."""

import math

import numpy as np
import pytest

from wd_train.evaluation import Scores
from wd_train.experiments import plots
from wd_train.experiments.grid_summary import GridCell, GridSummary
from wd_train.experiments.results import ResultLine
from wd_train.experiments.stats import describe

SCORES = Scores(precision=0.5, recall=0.5, f1=0.5, per_type={})


@pytest.fixture
def drawn(monkeypatch):
    """Every figure write_plots saves, by file name, instead of its PNG."""
    figures = {}
    monkeypatch.setattr(plots, "_save", lambda figure, path: figures.__setitem__(path.name,
                                                                                 figure))
    return figures


def run(tmp_path, name: str, history: list[tuple[int, float, float]], lrs: list[float]
        ) -> ResultLine:
    """A run directory with history.csv (epoch, loss, dev_f1) and lr.csv, and its line."""
    folder = tmp_path / name
    folder.mkdir()
    (folder / "history.csv").write_text("epoch,loss,dev_f1\n" + "".join(
        f"{e},{loss},{f1}\n" for e, loss, f1 in history))
    (folder / "lr.csv").write_text("step,lr\n" + "".join(
        f"{step},{lr}\n" for step, lr in enumerate(lrs)))
    return ResultLine(seed=1, run_dir=str(folder), dev=SCORES)


def band(axes) -> tuple[list[float], list[float]]:
    """The (lower, upper) edges of the one min–max band drawn on `axes`."""
    (collection,) = axes.collections
    vertices = collection.get_paths()[0].vertices
    points = len(vertices) // 2 - 1  # fill_between: start, lower edge, upper edge back, end
    lower = vertices[1:points + 1, 1]
    upper = vertices[points + 2:2 * points + 2, 1][::-1]
    return list(lower), list(upper)


def test_epoch_charts_draw_the_mean_and_band_of_the_runs_histories(tmp_path, drawn):
    groups = {
        "warmup": [run(tmp_path, "w1", [(1, 2.0, 0.10), (2, 1.0, 0.50)], [0.0, 1e-4]),
                   run(tmp_path, "w2", [(1, 1.0, 0.30), (2, 0.5, 0.70)], [0.0, 1e-4])],
        "constant": [run(tmp_path, "c1", [(1, 3.0, 0.20), (2, 2.5, 0.25)], [5e-5, 5e-5])],
    }
    written = plots.write_plots(tmp_path / "out", groups)
    assert written == ["lr.png", "dev_f1.png", "loss.png"]

    axes = drawn["dev_f1.png"].axes[0]
    warmup, constant = axes.lines
    assert list(warmup.get_xdata()) == [1, 2]
    assert list(warmup.get_ydata()) == pytest.approx([20.0, 60.0])  # points, mean of seeds
    assert list(constant.get_ydata()) == pytest.approx([20.0, 25.0])
    assert warmup.get_label() == "warmup (n=2)"
    lower, upper = band(axes)  # only the group with two seeds has a band
    assert lower == pytest.approx([10.0, 50.0]) and upper == pytest.approx([30.0, 70.0])

    loss_axes = drawn["loss.png"].axes[0]
    assert list(loss_axes.lines[0].get_ydata()) == pytest.approx([1.5, 0.75])
    assert list(loss_axes.lines[1].get_ydata()) == pytest.approx([3.0, 2.5])

    lr_lines = drawn["lr.png"].axes[0].lines  # every run's own curve, step by step
    assert [list(line.get_ydata()) for line in lr_lines] == [[0.0, 1e-4], [0.0, 1e-4],
                                                             [5e-5, 5e-5]]
    assert [list(line.get_xdata()) for line in lr_lines] == [[0, 1]] * 3


def test_a_run_without_its_curves_is_left_out_of_the_charts(tmp_path, drawn):
    kept = run(tmp_path, "kept", [(1, 2.0, 0.4)], [1e-4])
    damaged = run(tmp_path, "damaged", [(1, 9.0, 0.9)], [9.0])
    (tmp_path / "damaged" / "history.csv").write_text("epoch,loss\n1,not-a-number\n")
    gone = ResultLine(seed=3, run_dir=str(tmp_path / "gone"), dev=SCORES)
    plots.write_plots(tmp_path / "out", {"a": [kept, damaged, gone]})
    (line,) = drawn["dev_f1.png"].axes[0].lines
    assert list(line.get_ydata()) == pytest.approx([40.0]) and line.get_label() == "a (n=1)"
    assert not plots.write_plots(tmp_path / "none", {"a": [gone]})  # nothing to draw


def cell(variant: str, lr: float, dev: list[float], test: list[float], diverged: int = 0
         ) -> GridCell:
    return GridCell(variant=variant, point={"optimizer.learning_rate": lr},
                    name=f"{variant}/learning_rate={lr}", n=len(dev), diverged=diverged,
                    seeds=list(range(1, len(dev) + diverged + 1)), dev_f1=describe(dev),
                    test_f1=describe(test))


def test_the_sensitivity_chart_draws_the_summary_cells(tmp_path, drawn):
    grid = GridSummary(
        keys=["optimizer.learning_rate"], baseline="constant",
        cells=[cell("constant", 1e-5, [0.5, 0.7], [0.4, 0.6]),
               cell("constant", 1e-4, [0.8, 0.9], [0.7, 0.9]),
               cell("constant", 1e-3, [], [], diverged=2)],
        best=[], at_best=[], at_points=[])
    assert plots.SENSITIVITY_PLOT in plots.write_plots(tmp_path / "out", {}, grid)
    dev_axes, test_axes = drawn[plots.SENSITIVITY_PLOT].axes
    dev_line = next(line for line in dev_axes.lines if line.get_label() == "constant")
    assert list(dev_line.get_xdata()) == [1e-5, 1e-4, 1e-3]
    ys = list(dev_line.get_ydata())
    assert ys[:2] == pytest.approx([60.0, 85.0]) and math.isnan(ys[2])  # no seed finished
    test_line = next(line for line in test_axes.lines if line.get_label() == "constant")
    assert list(test_line.get_ydata())[:2] == pytest.approx([50.0, 80.0])
    lower, upper = band(dev_axes)
    assert lower[:2] == pytest.approx([50.0, 80.0]) and upper[:2] == pytest.approx([70.0, 90.0])
    lower, upper = band(test_axes)  # test has its min–max band over seeds too
    assert lower[:2] == pytest.approx([40.0, 70.0]) and upper[:2] == pytest.approx([60.0, 90.0])
    assert all("band: min–max" in axes.get_title() for axes in (dev_axes, test_axes))
    assert dev_axes.get_xscale() == "log"  # rates spanning 100×
    marked = [line for line in dev_axes.lines if line.get_marker() == "x"]
    assert [(list(m.get_xdata()), list(m.get_ydata())) for m in marked] == [([1e-3], [0])]
    assert any(text.get_text() == "2 diverged" for text in dev_axes.texts)
    assert not dev_axes.get_legend().get_title().get_text()  # no best point: no star to name
    assert np.isfinite(list(dev_line.get_ydata())[:2]).all()
