"""What a grid summary refuses and what it flags, on hand-made results: runs that are not the
cells of one grid (other keys, a cell twice, another config), a near-best "range" with a worse
point inside it, the dev comparison at the best points labelled as flattered, a best point
chosen on fewer seeds, Holm's p named as such at the shared points, and the gate of a grid
(each variant at its best point, not every cell of the sweep)."""

import pytest

from wd_train.config.schema import GateConfig
from wd_train.errors import WdTrainError
from wd_train.experiments.comparison import _gated_groups
from wd_train.experiments.gate import check_groups
from wd_train.experiments.grid_summary import grid_summary
from wd_train.experiments.grouping import group_results
from wd_train.experiments.summary import build_summary, summary_markdown

from .test_grid_summary import LR, TABLE, line


def lines_of(table: dict, **config) -> list:
    made = []
    for (variant, lr), seeds in table.items():
        for seed, value in enumerate(seeds, start=1):
            record = line(variant, lr, seed, *(value or (None, None)), diverged=value is None)
            record.resolved_config = {"data": {"train": "/d/train", **config},
                                      "optimizer": {"learning_rate": lr}}
            made.append(record)
    return made


def test_runs_of_other_grid_keys_or_no_grid_are_refused():
    runs = lines_of(TABLE)
    plain = line("warmup", 1e-4, 4, 0.9, 0.9)
    plain.grid = {}
    with pytest.raises(WdTrainError, match="not one grid: .* has no grid point"):
        grid_summary([*runs, plain], ["warmup", "constant"], "constant")
    other = line("warmup", 1e-4, 4, 0.9, 0.9)
    other.grid = {"optimizer.warmup_proportion": 0.1}
    with pytest.raises(WdTrainError, match="has optimizer.warmup_proportion; report them apart"):
        grid_summary([*runs, other], ["warmup", "constant"], "constant")


def test_a_cell_run_twice_is_refused_not_averaged():
    runs = lines_of(TABLE)
    again = line("warmup", 3e-4, 2, 0.5, 0.5)
    again.run_dir = "/elsewhere/warmup/3e-4/2"
    with pytest.raises(WdTrainError, match=r"two runs of the cell "
                       r"warmup/learning_rate=0.0003/seed-2: /r/warmup/0.0003/2 and /elsewhere"):
        grid_summary([*runs, again], ["warmup", "constant"], "constant")


def test_runs_of_another_config_are_refused_even_on_other_seeds():
    """A subset grid's seed 1 and a full-data run's seed 2 would otherwise fill one cell."""
    subset = [r for r in lines_of(TABLE, limit=1000) if r.seed == 1]
    full = [r for r in lines_of(TABLE, limit=None) if r.seed == 2]
    with pytest.raises(WdTrainError, match="not one grid: data.limit is 1000 in .* but"):
        grid_summary([*subset, *full], ["warmup", "constant"], "constant")
    grid_summary(lines_of(TABLE), ["warmup", "constant"], "constant")  # one config: fine


def test_near_best_is_a_range_only_without_a_worse_point_inside():
    table = {("a", 1e-4): [(0.90, 0.9)] * 3, ("a", 3e-4): [(0.80, 0.8)] * 3,
             ("a", 1e-3): [(0.905, 0.9)] * 3, ("b", 1e-4): [(0.90, 0.9)] * 3}
    best = grid_summary(lines_of(table), ["a", "b"], "b").best[0]
    assert best.near_best == [{LR: 1e-4}, {LR: 1e-3}]
    assert best.near_best_text == \
        "learning_rate=0.0001, learning_rate=0.001 (2 of 3 points)"


def test_dev_at_the_best_points_is_labelled_flattered_and_fewer_seeds_flagged():
    table = {**TABLE, ("warmup", 3e-3): [(0.99, 0.9), None, None]}
    runs = [r for r in lines_of(table) if r.grid[LR] != 3e-3 or r.seed == 1]
    text = summary_markdown(build_summary(group_results(runs)))
    dev_row = next(row for row in text.splitlines() if "| dev " in row and "−" in row)
    assert "(flattered: dev chose the points)" in dev_row
    assert "- dev F1: " in text and text.count("(flattered: dev chose the points)") == 2
    assert ("Chosen on fewer seeds than other points had" in text
            and "warmup/learning_rate=0.003, 1 finished against up to 3" in text)
    assert "Chosen on fewer seeds" not in summary_markdown(
        build_summary(group_results(lines_of(TABLE))))


def test_holm_p_at_the_shared_points_is_named_holm():
    table = {**TABLE, ("third", 1e-4): [(0.87, 0.85), (0.86, 0.84), (0.88, 0.86)]}
    text = summary_markdown(build_summary(group_results(lines_of(table))))
    shared = text.split("### At every shared grid point")[1]
    assert "p (Holm within the point)" in shared
    two = summary_markdown(build_summary(group_results(lines_of(TABLE))))
    assert "Holm within the point" not in two


def test_the_gate_of_a_grid_checks_each_variant_at_its_best_point():
    groups = group_results(lines_of(TABLE))
    summary = build_summary(groups)
    gated, applies_to = _gated_groups(summary, groups)
    # constant diverged at 1e-3 and warmup at 1e-3 once: points of the sweep, not regressions
    assert list(gated) == ["warmup/learning_rate=0.0003", "constant/learning_rate=0.0001"]
    result = check_groups(GateConfig(metric="test.f1", min=0.8), gated, applies_to)
    assert result.passed and result.details["applies_to"].endswith("best grid point "
                                                                    "(selected on dev)")
    failed = check_groups(GateConfig(metric="test.f1", min=0.845), gated, applies_to)
    assert not failed.passed
    assert failed.lines == [("gate failed: warmup/learning_rate=0.0003: mean test.f1 over 3 "
                             "runs = 0.8400 < 0.8450")]


def test_a_baseline_value_may_be_written_as_the_grid_writes_it(tmp_path):
    """`--by` names groups by the JSON value (`warmup_proportion=0.0`), the grid by its own
    format (`=0`): `--baseline warmup_proportion=0` (the grid summary's hint) finds the group."""
    from pathlib import Path

    from wd_train.experiments.report import report

    results = Path(__file__).parents[2] / "docs/studies/lr-grid/warmup/results.jsonl"
    for written in ("warmup_proportion=0", "warmup_proportion=0.0", "warmup_proportion=0e0"):
        summary = report([results], by="optimizer.warmup_proportion", baseline=written,
                         output_dir=tmp_path / written)
        assert {d.b for d in summary.differences} == {"warmup_proportion=0.0"}
    with pytest.raises(WdTrainError, match="--baseline warmup_proportion=0.7: not one of"):
        report([results], by="optimizer.warmup_proportion", baseline="warmup_proportion=0.7",
               output_dir=tmp_path / "x")
