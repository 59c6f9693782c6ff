"""The regression gate: exit 0 when it holds, 1 with one line when it fails, 2 for bad input —
through the real command line."""

import json
import subprocess
import sys
from types import SimpleNamespace

import pytest
from typer.testing import CliRunner

from wd_train.cli import app
from wd_train.config import GateConfig, load_config
from wd_train.errors import WdTrainError
from wd_train.evaluation import Scores
from wd_train.experiments.gate import check_groups, check_run, metric_value

DEV = Scores(f1=0.7, precision=0.6, recall=0.8, per_type={})
TEST = Scores(f1=0.6012, precision=0.6, recall=0.6,
              per_type={"PER": {"f1": 0.9, "precision": 0.9, "recall": 0.9, "support": 4}})
SCORES = SimpleNamespace(dev=DEV, test=TEST)  # a run's record, as far as the gate reads it


def invoke(*args):
    return CliRunner().invoke(app, ["train", *map(str, args)])


def test_metric_paths():
    assert metric_value(SCORES, "test.f1") == 0.6012
    assert metric_value(SCORES, "dev.recall") == 0.8
    assert metric_value(SCORES, "test.per_type.PER.f1") == 0.9
    with pytest.raises(WdTrainError, match=r"no entity type 'LOC' in the test set \(types: PER\)"):
        metric_value(SCORES, "test.per_type.LOC.f1")
    with pytest.raises(WdTrainError, match="the run has no test scores"):
        metric_value(SimpleNamespace(dev=DEV, test=None), "test.f1")


def test_gate_lines():
    failed = check_run(GateConfig(min=0.65), SCORES)
    assert not failed.passed and failed.lines == ["gate failed: test.f1 = 0.6012 < 0.6500"]
    held = check_run(GateConfig(metric="dev.f1", min=0.65), SCORES)
    assert held.passed and held.lines == ["gate passed: dev.f1 = 0.7000 >= 0.6500"]
    close = check_run(GateConfig(min=0.60125), SCORES)  # 4 decimals would print them equal
    assert close.lines == ["gate failed: test.f1 = 0.601200 < 0.601250"]
    better = SimpleNamespace(dev=DEV, test=TEST.model_copy(update={"f1": 0.7}))
    groups = {"wd": [SCORES, better], "const": [SCORES]}
    result = check_groups(GateConfig(min=0.62), groups)
    assert result.lines == ["gate failed: const: mean test.f1 over 1 run = 0.6012 < 0.6200"]
    assert result.details["values"]["wd"] == pytest.approx(0.6506)


def test_gate_schema(tiny_config_dict, write_config, tmp_path, tiny_dataset):
    config = tiny_config_dict(tiny_dataset, tmp_path / "o", gate={"metric": "test.f1",
                                                                  "min": 0.5})
    del config["data"]["test"]
    path = write_config(tmp_path / "c.yaml", config)
    with pytest.raises(WdTrainError, match="gate.metric: test.f1 needs data.test"):
        load_config(path)
    assert load_config(path, ["gate.metric=dev.per_type.PER.f1"])[0].gate.min == 0.5
    with pytest.raises(WdTrainError, match=r"c.yaml: gate.metric: expected dev.f1"):
        load_config(path, ["gate.metric=dev.f2"])
    with pytest.raises(WdTrainError, match=r"gate.mni: unknown key; did you mean 'gate.min'"):
        load_config(path, ["gate.mni=0.1"])


def test_failed_gate_on_a_run_exits_1_after_printing_its_results(tiny_config_dict, write_config, tmp_path, tiny_dataset):
    path = write_config(tmp_path / "c.yaml", tiny_config_dict(
        tiny_dataset, tmp_path / "run", training={"epochs": 1}))
    result = invoke(path, "--min-f1", "0.99", "--quiet")
    assert result.exit_code == 1, result.output
    assert "test  micro" in result.stdout  # the results are printed all the same
    *before, line = result.stderr.strip().splitlines()
    metrics = json.loads((tmp_path / "run" / "metrics.json").read_text())
    assert line == f"wd-train: gate failed: test.f1 = {metrics['test']['f1']:.4f} < 0.9900"
    # one epoch of the tiny model tags every word O: said in one line, and the gate still fails
    assert before == ([("degenerate run: the best epoch (1) predicted no entity on dev (every "
                       "word O) although the training data has 505 entity words; its scores "
                       "measure no learning (flagged `degenerate` in metrics.json; summaries "
                       "count such runs apart)")] if metrics["degenerate"] else [])


@pytest.fixture(scope="module")
def cell(write_conll, make_sentences, write_vocab, tiny_config_dict, write_config, tmp_path_factory):
    """A one-variant, one-seed comparison, run once; later calls reuse its finished run."""

    tmp = tmp_path_factory.mktemp("gate")
    dataset = {"train": write_conll(tmp / "train.conll", make_sentences(60, 1)),
               "dev": write_conll(tmp / "dev.conll", make_sentences(20, 2)),
               "test": write_conll(tmp / "test.conll", make_sentences(20, 3)),
               "vocab": write_vocab(tmp / "vocab.txt")}
    config = tiny_config_dict(dataset, tmp / "cmp", training={"epochs": 2}, compare={
        "variants": {"v": {"optimizer.schedule": "constant"}}, "seeds": [1]})
    path = write_config(tmp / "c.yaml", config)
    first = invoke(path, "--variant", "v", "--seed", "1", "--min-f1", "0")
    assert first.exit_code == 0, first.output
    assert "gate passed: test.f1 = " in first.stderr
    metrics = json.loads((tmp / "cmp" / "v" / "seed-1" / "metrics.json").read_text())
    assert 0.1 < metrics["test"]["f1"] < 0.99  # room for a gate on either side
    return path, metrics


def test_gate_exit_codes_through_the_cli(cell):
    path, metrics = cell
    f1 = metrics["test"]["f1"]
    one_cell = ["--variant", "v", "--seed", "1"]
    held = invoke(path, *one_cell, "--min-f1", f"{f1 - 0.01:.4f}", "--json", "--quiet")
    assert held.exit_code == 0
    shown = json.loads(held.stdout)
    assert shown["gate"] == {"metric": "test.f1", "min": round(f1 - 0.01, 4), "value": f1,
                             "passed": True}
    failed = invoke(path, *one_cell, "--min-f1", f"{min(f1 + 0.01, 1):.4f}", "--quiet")
    assert failed.exit_code == 1
    assert failed.stderr.strip().splitlines()[-1].startswith("wd-train: gate failed: test.f1 = ")
    per_type = invoke(path, *one_cell, "--set", "gate.metric=test.per_type.PER.f1",
                      "--min-f1", "1", "--quiet")
    assert per_type.exit_code == (0 if metrics["test"]["per_type"]["PER"]["f1"] == 1 else 1)
    unknown = invoke(path, *one_cell, "--set", "gate.metric=test.per_type.XYZ.f1",
                     "--min-f1", "0.5", "--quiet")
    assert unknown.exit_code == 2 and "no entity type 'XYZ'" in unknown.stderr
    for bad in (["--min-f1", "1.5"], ["--set", "gate.metric=f1", "--min-f1", "0.5"]):
        result = invoke(path, *one_cell, *bad)
        assert result.exit_code == 2 and "Traceback" not in result.output
        assert len(result.stderr.strip().splitlines()) == 1


def test_comparison_gate_is_on_each_variants_mean(cell):
    path, metrics = cell
    result = invoke(path, "--min-f1", "0.999", "--quiet")
    assert result.exit_code == 1
    f1 = metrics["test"]["f1"]
    assert result.stderr.strip().splitlines() == [
        f"wd-train: gate failed: v: mean test.f1 over 1 run = {f1:.4f} < 0.9990"]
    summary = json.loads((path.parent / "cmp" / "summary.json").read_text())
    assert summary["gate"]["applies_to"] == "each variant's mean"
    assert summary["gate"]["passed"] is False


def test_real_process_exit_codes(cell):
    """`wd-train` itself (main's routing of `wd-train CONFIG`); a reused run needs no training."""
    path, _ = cell

    def wd(*args):
        return subprocess.run([sys.executable, "-c", "from wd_train.cli import main; main()",
                               str(path), "--variant", "v", "--seed", "1", "-q", *args],
                              capture_output=True, text=True, timeout=120, check=False)

    assert wd("--min-f1", "0").returncode == 0
    failed = wd("--min-f1", "1")
    assert failed.returncode == 1 and "gate failed: test.f1" in failed.stderr
    assert wd("--set", "gate.min=-1").returncode == 2
