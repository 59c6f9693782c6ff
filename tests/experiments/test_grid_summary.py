"""The grid summary on hand-made results: each variant's best point is chosen on dev only (here
dev and test disagree about which point is best), a point where a seed diverged is never chosen,
the comparisons at the best points and at every shared point pair seeds, the near-best range,
the naming of cells, and lr_sensitivity.png drawn from the summary's own numbers."""

import pytest

from wd_train.experiments.grid import format_value, point_name
from wd_train.experiments.grid import points as grid_points
from wd_train.experiments.grid_summary import grid_summary
from wd_train.experiments.results import ResultLine
from wd_train.experiments.summary import build_summary, summary_markdown

LR = "optimizer.learning_rate"


def scores(f1: float) -> dict:
    return {"precision": f1, "recall": f1, "f1": f1, "per_type": {}}


def line(variant: str, lr: float, seed: int, dev: float | None, test: float | None = None,
         diverged: bool = False) -> ResultLine:
    common = {"variant": variant, "seed": seed, "grid": {LR: lr},
              "run_dir": f"/r/{variant}/{lr}/{seed}"}
    if diverged:
        return ResultLine.model_validate({**common, "status": "diverged",
                                          "diverged": {"epoch": 1, "step": 5, "lr": lr}})
    return ResultLine.model_validate({**common, "dev": scores(dev), "test": scores(test)})


# warmup: dev says 3e-4 is best (0.90 vs 0.89), test would say 1e-4 (0.86 vs 0.84);
# 1e-3 has the best dev of all for the seeds that finished, but one seed diverged there.
# constant: best dev at 1e-4; it diverges on every seed at 1e-3.
TABLE = {
    ("warmup", 1e-4): [(0.890, 0.860), (0.888, 0.862), (0.892, 0.858)],
    ("warmup", 3e-4): [(0.900, 0.840), (0.898, 0.842), (0.902, 0.838)],
    ("warmup", 1e-3): [(0.950, 0.900), None, (0.950, 0.900)],
    ("constant", 1e-4): [(0.880, 0.850), (0.878, 0.851), (0.882, 0.849)],
    ("constant", 3e-4): [(0.860, 0.830), (0.858, 0.829), (0.862, 0.831)],
    ("constant", 1e-3): [None, None, None],
}


@pytest.fixture
def records() -> list[ResultLine]:
    made = []
    for (variant, lr), seeds in TABLE.items():
        for seed, value in enumerate(seeds, start=1):
            made.append(line(variant, lr, seed, *(value or (None, None)),
                             diverged=value is None))
    return made


def test_the_best_point_is_selected_on_dev_only(records):
    grid = grid_summary(records, ["warmup", "constant"], "constant")
    best = {b.variant: b for b in grid.best}
    assert best["warmup"].point == {LR: 3e-4}  # not 1e-4, which test would pick
    assert best["warmup"].dev_f1 == pytest.approx(0.900)
    assert best["warmup"].test_f1 == pytest.approx(0.840)
    assert best["constant"].point == {LR: 1e-4}
    # 1e-3 has the highest dev mean of its finished seeds, but a seed diverged there
    assert all(b.point[LR] != 1e-3 for b in grid.best)


def test_the_comparison_at_the_best_points_pairs_seeds_on_test(records):
    grid = grid_summary(records, ["warmup", "constant"], "constant")
    test = next(d for d in grid.at_best if d.split == "test")
    assert (test.a, test.b) == ("warmup/learning_rate=0.0003", "constant/learning_rate=0.0001")
    assert test.differences == pytest.approx([-1.0, -0.9, -1.1])
    assert test.seeds == [1, 2, 3]
    dev = next(d for d in grid.at_best if d.split == "dev")
    assert dev.differences == pytest.approx([2.0, 2.0, 2.0])
    assert dev.no_spread and dev.p_value is None  # the same +2 on every seed: not testable
    assert "not testable" in dev.verdict


def test_comparisons_at_every_shared_point(records):
    grid = grid_summary(records, ["warmup", "constant"], "constant")
    by_point = {c.name: c for c in grid.at_points}
    assert list(by_point) == ["learning_rate=0.0001", "learning_rate=0.0003",
                              "learning_rate=0.001"]
    at_1e4 = next(d for d in by_point["learning_rate=0.0001"].differences if d.split == "test")
    assert at_1e4.differences == pytest.approx([1.0, 1.1, 0.9])
    at_1e3 = by_point["learning_rate=0.001"].differences
    assert all(d.n == 0 for d in at_1e3)  # constant diverged on every seed: no pair


def test_near_best_range_and_diverged_counts(records):
    grid = grid_summary(records, ["warmup", "constant"], "constant")
    best = {b.variant: b for b in grid.best}
    # warmup: 1e-4 (0.890) is within 1 point of 3e-4 (0.900); 1e-3 is not eligible
    assert best["warmup"].near_best == [{LR: 1e-4}, {LR: 3e-4}]
    assert best["warmup"].near_best_text == "0.0001 … 0.0003 (2 of 2 points, ×3)"
    assert best["constant"].near_best == [{LR: 1e-4}]
    cells = {(c.variant, c.point[LR]): c for c in grid.cells}
    assert (cells["warmup", 1e-3].n, cells["warmup", 1e-3].diverged) == (2, 1)
    assert (cells["constant", 1e-3].n, cells["constant", 1e-3].diverged) == (0, 3)


def test_the_summary_states_the_selection_and_counts_divergence(records):
    from wd_train.experiments.grouping import group_results

    summary = build_summary(group_results(records))
    assert summary.grid is not None and summary.grid.baseline == "constant"
    assert [g.name for g in summary.groups] == [
        f"{v}/learning_rate={format_value(lr)}" for v in ("warmup", "constant")
        for lr in (1e-4, 3e-4, 1e-3)]
    assert summary.differences == summary.grid.at_best
    text = summary_markdown(summary)
    assert "(and 4 that diverged)" in text
    assert "selected on its dev mean F1 only" in text
    assert "the test differences are the unbiased answer" in text


def test_a_grid_of_one_variant_points_to_comparing_its_points(records):
    """One variant has no other to be compared with at its best point: the summary says so and
    how to compare its grid points instead, not that a variant has no eligible point."""
    from wd_train.experiments.grouping import group_results

    text = summary_markdown(build_summary(group_results(
        [r for r in records if r.variant == "warmup"])))
    assert "One variant: no comparison between variants" in text
    assert "--by optimizer.learning_rate --baseline learning_rate=VALUE" in text
    assert "No comparison: the baseline" not in text and "own best point, against" not in text
    both = summary_markdown(build_summary(group_results(records)))
    assert "One variant" not in both and "own best point, against" in both


def test_lr_sensitivity_is_drawn_from_the_summary(records, tmp_path):
    from wd_train.experiments.grouping import group_results
    from wd_train.experiments.plots import SENSITIVITY_PLOT, sensitivity_lines
    from wd_train.experiments.summary import write_summary

    groups = group_results(records)
    summary = write_summary(tmp_path, build_summary(groups), groups)
    assert SENSITIVITY_PLOT in summary.plots
    assert (tmp_path / SENSITIVITY_PLOT).read_bytes().startswith(b"\x89PNG")
    lines = {line.label: line for line in sensitivity_lines(summary.grid)}
    assert list(lines) == ["warmup", "constant"]
    for cell in summary.grid.cells:
        drawn = lines[cell.variant]
        index = drawn.x.index(cell.point[LR])
        if cell.dev_f1.mean is None:
            assert drawn.dev_mean[index] != drawn.dev_mean[index]  # NaN: nothing to draw
        else:
            assert drawn.dev_mean[index] == pytest.approx(100 * cell.dev_f1.mean)
            assert drawn.dev_min[index] == pytest.approx(100 * cell.dev_f1.min)
            assert drawn.dev_max[index] == pytest.approx(100 * cell.dev_f1.max)
            assert drawn.test_mean[index] == pytest.approx(100 * cell.test_f1.mean)
            # the test panel has its min–max band over seeds too
            assert drawn.test_min[index] == pytest.approx(100 * cell.test_f1.min)
            assert drawn.test_max[index] == pytest.approx(100 * cell.test_f1.max)
        assert drawn.diverged[index] == cell.diverged
    assert lines["warmup"].x == [1e-4, 3e-4, 1e-3]  # numeric order


def runs_over(grid: dict[str, list], dev=lambda variant, point: 0.80) -> list[ResultLine]:
    """warmup and constant at every point of `grid`, seeds 1 and 2: dev F1 `dev(variant,
    point)` + 0.01 × seed, test 0.05 below it."""
    made = []
    for variant in ("warmup", "constant"):
        for point in grid_points(grid):
            for seed in (1, 2):
                f1 = dev(variant, point) + 0.01 * seed
                made.append(ResultLine.model_validate({
                    "variant": variant, "seed": seed, "grid": point,
                    "run_dir": f"/r/{variant}/{point_name(point)}/{seed}",
                    "dev": scores(f1), "test": scores(f1 - 0.05)}))
    return made


def summary_over(grid: dict[str, list], **dev):
    return grid_summary(runs_over(grid, **dev), ["warmup", "constant"], "constant")


@pytest.mark.parametrize(("grid", "x_key"), [
    ({"model.dropout": [0.1, 0.2, 0.3], LR: [1e-4, 3e-4]}, LR),  # the rate, however few values
    ({"data.batch_size": [16, 32], "model.dropout": [0.0, 0.1, 0.3]}, "model.dropout"),
    ({"data.scheduler": ["a", "b", "c"], "model.dropout": [0.0, 0.1]}, "model.dropout"),
    ({"data.batch_size": [16, 32], "model.dropout": [0.1, 0.2]}, "data.batch_size"),  # tie
])
def test_the_x_axis_is_the_rate_else_the_numeric_key_with_most_values(grid, x_key):
    from wd_train.experiments.plots import sensitivity_figure, sensitivity_lines

    summary = summary_over(grid)
    lines = sensitivity_lines(summary)
    assert all(line.x == grid[x_key] for line in lines)
    other = next(k for k in grid if k != x_key)  # the other key is in the labels
    assert [line.label for line in lines] == [
        f"{variant}, {other.split('.')[-1]}={format_value(value)}"
        for variant in ("warmup", "constant") for value in grid[other]]
    assert all(axes.get_xlabel().startswith(x_key) for axes in sensitivity_figure(summary).axes)


def test_line_labels_name_the_other_keys_as_the_cells_do():
    from wd_train.experiments.plots import sensitivity_lines

    summary = summary_over({LR: [1e-4, 3e-4], "optimizer.weight_decay": [0.0, 1e-5]})
    labels = [line.label for line in sensitivity_lines(summary)]
    assert labels == ["warmup, weight_decay=0", "warmup, weight_decay=1e-5",
                      "constant, weight_decay=0", "constant, weight_decay=1e-5"]  # not 1e-05
    assert any(c.name.endswith("weight_decay=1e-5") for c in summary.cells)


@pytest.mark.parametrize(("grid", "scale", "labels"), [
    ({LR: [1e-4, 3e-4]}, "log", ["0.0001", "0.0003"]),  # a rate: log even over 3×
    ({LR: [3e-5, 1e-4, 3e-4, 1e-3]}, "log", ["3e-5", "0.0001", "0.0003", "0.001"]),
    ({"model.dropout": [0.0, 0.1, 0.3]}, "linear", ["0", "0.1", "0.3"]),
    ({"data.batch_size": [8, 16, 128]}, "log", ["8", "16", "128"]),  # other keys: log from 10×
])
def test_the_x_ticks_are_the_grid_values_on_a_fitting_scale(grid, scale, labels):
    """Ticks at exactly the values that were run, named as the cells are, and no minor-tick
    labels (on a log axis they overlapped or named rates that were not run)."""
    from wd_train.experiments.plots import sensitivity_figure

    (values,) = grid.values()
    for axes in sensitivity_figure(summary_over(grid)).axes:
        assert axes.get_xscale() == scale
        assert list(axes.get_xticks()) == values
        assert [t.get_text() for t in axes.get_xticklabels()] == labels
        assert not any(t.get_text() for t in axes.get_xticklabels(minor=True))


def test_each_variants_best_point_is_starred_on_its_line():
    """With two keys each variant's best point is starred on the line that holds it (here not
    its variant's first line), in that line's colour, as the legend's title says."""
    from wd_train.experiments.plots import sensitivity_figure

    best = {"warmup": {"model.dropout": 0.2, LR: 3e-4},
            "constant": {"model.dropout": 0.1, LR: 1e-4}}
    summary = summary_over({"model.dropout": [0.1, 0.2], LR: [1e-4, 3e-4]},
                           dev=lambda variant, point: 0.85 if point == best[variant] else 0.80)
    assert {b.variant: b.point for b in summary.best} == best
    dev_axes = sensitivity_figure(summary).axes[0]
    colour = {line.get_label(): line.get_color() for line in dev_axes.lines}
    stars = [(list(line.get_xdata()), list(line.get_ydata()), line.get_color())
             for line in dev_axes.lines if line.get_marker() == "*"]
    assert stars == [([3e-4], [pytest.approx(86.5)], colour["warmup, dropout=0.2"]),
                     ([1e-4], [pytest.approx(86.5)], colour["constant, dropout=0.1"])]
    assert dev_axes.get_legend().get_title().get_text() == "★ best on dev"


@pytest.mark.parametrize(("value", "text"), [
    (3e-4, "0.0003"), (2e-5, "2e-5"), (1e-3, "0.001"), (0.1, "0.1"), (0, "0"), (True, "true"),
    (1.2345678e-4, "0.00012345678"), ("warmup_decay", "warmup_decay"), (1e21, "1e21")])
def test_grid_values_name_themselves_readably_and_exactly(value, text):
    assert format_value(value) == text
    if isinstance(value, float):
        assert float(text) == value


def test_point_names_sort_their_keys():
    assert point_name({"optimizer.warmup_proportion": 0.1, LR: 1e-4}) == \
        "learning_rate=0.0001/warmup_proportion=0.1"
    assert point_name({"a.x": 1, "b.x": 2}) == "a.x=1/b.x=2"  # short names would clash


def test_the_f1_axis_fits_the_scores_unless_a_mark_sits_at_zero(records):
    """F1 between 85 and 91 on a 0-100 axis hides the differences: the axis starts at 0 only
    when a diverged or no-entity mark is drawn there."""
    from wd_train.experiments.plots import sensitivity_figure

    close = summary_over({LR: [1e-4, 3e-4]}, dev=lambda variant, point: 0.85 + point[LR] * 100)
    for axes in sensitivity_figure(close).axes:
        assert axes.get_ylim()[0] > 50
    with_divergence = grid_summary(records, ["warmup", "constant"], "constant")
    for axes in sensitivity_figure(with_divergence).axes:
        assert axes.get_ylim()[0] == -2
