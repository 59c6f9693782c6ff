"""A run that learned nothing is flagged (issue 20): a tiny run whose tagger is forced to tag
every word O gets one warning line, `degenerate: true` in metrics.json and its results line,
a DEGENERATE line under its table, and a count apart in a summary; the per-epoch share of
predicted entity words is in history.csv."""

import csv
import json
import logging

import pytest

import wd_train.evaluation


@pytest.fixture(scope="module")
def all_o_run(tmp_path_factory, write_tiny_dataset, train_tiny):
    tmp = tmp_path_factory.mktemp("degenerate")
    dataset = write_tiny_dataset(tmp)
    real = wd_train.evaluation.predict_tags

    def only_o(*args, **kwargs):
        return [["O"] * len(tags) for tags in real(*args, **kwargs)]

    with pytest.MonkeyPatch.context() as patch:
        patch.setattr(wd_train.evaluation, "predict_tags", only_o)
        handler = _Capture()
        logging.getLogger("wd_train").addHandler(handler)
        try:
            metrics, run_dir = train_tiny(tmp, dataset, "all-o")
        finally:
            logging.getLogger("wd_train").removeHandler(handler)
    healthy, healthy_dir = train_tiny(tmp, dataset, "healthy",
                                      training={"epochs": 3, "batch_size": 8, "seed": 7},
                                      optimizer={"learning_rate": 0.01})
    return {"metrics": metrics, "run_dir": run_dir, "log": handler.lines, "healthy": healthy,
            "healthy_dir": healthy_dir}


class _Capture(logging.Handler):
    def __init__(self):
        super().__init__()
        self.lines = []

    def emit(self, record):
        self.lines.append(record.getMessage())


def test_an_all_o_run_is_flagged(all_o_run):
    metrics = all_o_run["metrics"]
    assert metrics["degenerate"] is True
    assert metrics["dev"]["predicted_entity_share"] == 0.0
    assert metrics["dev"]["gold_entity_share"] > 0.2
    warnings = [line for line in all_o_run["log"] if line.startswith("degenerate run")]
    assert len(warnings) == 1 and "predicted no entity on dev" in warnings[0]
    for row in csv.DictReader((all_o_run["run_dir"] / "history.csv").open()):
        assert float(row["dev_entity_share"]) == 0.0


def test_a_run_that_tags_entities_is_not_flagged(all_o_run):
    healthy = all_o_run["healthy"]
    assert healthy["dev"]["predicted_entity_share"] > 0, "the tiny run learned nothing"
    assert healthy["degenerate"] is False
    rows = list(csv.DictReader((all_o_run["healthy_dir"] / "history.csv").open()))
    assert float(rows[-1]["dev_entity_share"]) > 0


def test_the_flag_reaches_the_table_the_results_line_and_the_summary(all_o_run, tmp_path):
    from wd_train.experiments.report import report
    from wd_train.experiments.results import result_from_run_dir
    from wd_train.experiments.summary import summary_markdown
    from wd_train.experiments.tables import metrics_table
    from wd_train.run_dir import read_metrics

    assert "DEGENERATE: no entity predicted on dev" in metrics_table(
        read_metrics(all_o_run["run_dir"]))
    assert "DEGENERATE" not in metrics_table(read_metrics(all_o_run["healthy_dir"]))
    line = result_from_run_dir(all_o_run["run_dir"])
    assert line.degenerate
    results = tmp_path / "results.jsonl"
    results.write_text("".join(
        json.dumps({**result_from_run_dir(d).model_dump(mode="json"), "variant": "v"}) + "\n"
        for d in (all_o_run["run_dir"], all_o_run["healthy_dir"])))
    summary = report([results], output_dir=tmp_path / "s")
    (group,) = summary.groups
    assert (group.n, group.degenerate) == (2, 1)
    assert "Degenerate runs (no entity predicted on dev" in summary_markdown(summary)
    assert "v 1 of 2" in summary_markdown(summary)
