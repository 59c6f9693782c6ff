"""Results lines: their shape, reading them back, and eight processes appending at once."""

import json
import os
import subprocess
import sys
import time

import pytest

from wd_train.errors import WdTrainError
from wd_train.experiments.results import (
    ResultLine,
    append_result,
    load_results,
    result_line,
)
from wd_train.run_dir import RunMetrics, write_metrics


def fake_metrics(run_dir, seed=1, f1=0.5, variant="a", finished_at="2026-11-28T10:00:00.000+00:00"
                 ) -> RunMetrics:
    scores = {"precision": f1, "recall": f1, "f1": f1,
              "per_type": {"PER": {"precision": f1, "recall": f1, "f1": f1, "support": 3}}}
    return RunMetrics.model_validate({
        "dev": scores, "test": scores, "best_epoch": 2, "epochs_run": 3, "stopped_early": False,
        "steps": 30, "schedule": {"name": "constant", "learning_rate": 1e-4, "warmup_steps": 0,
                                  "decay_steps": 30, "min_lr": 1e-4},
        "seed": seed, "device": "CPU", "versions": {}, "train_seconds": 1.5,
        "train_tokens": 150, "train_tokens_per_s": 100.0, "wall_seconds": 3.0, "data": {},
        "labels": ["O", "B-PER"], "lowercase": True, "run_dir": str(run_dir),
        "variant": variant, "overrides": {"optimizer.schedule": "constant"},
        "config_file": "/c.yaml", "finished_at": finished_at})


def write_run(run_dir, **kwargs):
    run_dir.mkdir(parents=True)
    write_metrics(run_dir, fake_metrics(run_dir, **kwargs))
    return run_dir


def test_a_result_line_carries_what_a_summary_needs(tmp_path):
    metrics = fake_metrics(tmp_path / "r", seed=3, f1=0.75)
    metrics.grid = {"optimizer.learning_rate": 3e-4}
    metrics.code_version = "0.1.0+gabc"
    metrics.peak_rss_mib = 2048.5
    line = result_line(metrics).model_dump(mode="json")
    assert line["seed"] == 3 and line["test"]["f1"] == 0.75 and line["variant"] == "a"
    assert line["overrides"] == {"optimizer.schedule": "constant"}
    assert line["grid"] == {"optimizer.learning_rate": 3e-4}
    assert line["config"] == "/c.yaml" and line["schedule"] == "constant"
    assert line["status"] == "finished" and line["code_version"] == "0.1.0+gabc"
    assert line["peak_rss_mib"] == 2048.5
    assert "report" not in line["dev"]  # seqeval's text report stays in report.txt
    # a line written before some keys existed still reads
    bare = ResultLine.model_validate({"dev": line["dev"], "seed": 1, "run_dir": "/x",
                                      "unknown_later_key": 1})
    assert bare.variant is None and bare.overrides == {} and bare.test is None
    assert bare.finished and bare.grid == {}


def test_a_diverged_run_reads_back_as_a_diverged_line(tmp_path):
    from wd_train.run_dir import DivergedRun, write_diverged

    run_dir = tmp_path / "cmp" / "constant" / "learning_rate=0.001" / "seed-2"
    run_dir.mkdir(parents=True)
    write_diverged(run_dir, DivergedRun(
        epoch=1, step=7, lr=1e-3, loss=None, seed=2, run_dir=str(run_dir), variant="constant",
        grid={"optimizer.learning_rate": 1e-3},
        schedule={"name": "constant", "learning_rate": 1e-3, "warmup_steps": 0,
                  "decay_steps": 30, "min_lr": 1e-3}))
    write_run(tmp_path / "cmp" / "constant" / "learning_rate=0.0001" / "seed-2", seed=2,
              variant="constant")
    lines = {line.status: line for line in load_results([tmp_path / "cmp"])}
    diverged = lines["diverged"]
    assert (diverged.seed, diverged.variant, diverged.dev) == (2, "constant", None)
    assert (diverged.diverged.step, diverged.diverged.lr) == (7, 1e-3)
    assert diverged.grid == {"optimizer.learning_rate": 1e-3}
    assert lines["finished"].dev.f1 == 0.5
    with pytest.raises(ValueError, match="needs its dev scores"):
        ResultLine.model_validate({"seed": 1, "run_dir": "/x"})


def test_a_comparison_folder_reads_in_finishing_order_not_file_time(tmp_path):
    late = write_run(tmp_path / "cmp" / "a" / "seed-1", finished_at="2026-11-28T10:00:05.000+00:00")
    early = write_run(tmp_path / "cmp" / "b" / "seed-1", variant="b",
                      finished_at="2026-11-28T10:00:01.000+00:00")
    os.utime(early / "metrics.json", (1, 1))  # file times say nothing
    os.utime(late / "metrics.json", (2, 2))
    assert [r.variant for r in load_results([tmp_path / "cmp"])] == ["b", "a"]


def test_load_from_files_dirs_and_comparison_folders(tmp_path):
    one = write_run(tmp_path / "single", seed=1, f1=0.1)
    write_run(tmp_path / "cmp" / "a" / "seed-1", seed=1)
    write_run(tmp_path / "cmp" / "b" / "seed-1", seed=1, variant="b")
    (tmp_path / "cmp" / "b" / "seed-2").mkdir()  # unfinished: no metrics.json, not counted
    results = tmp_path / "results.jsonl"
    other = tmp_path / "elsewhere"
    append_result(results, result_line(fake_metrics(other, seed=5)))
    append_result(results, result_line(fake_metrics(one, seed=1, f1=0.9)))  # same run, later
    records = load_results([one, tmp_path / "cmp", results])
    assert len(records) == 4
    by_dir = {r.run_dir: r for r in records}
    # met twice: the last line wins, in the place of the first
    assert records[0].run_dir == str(one) and by_dir[str(one)].test.f1 == 0.9
    assert {r.variant for r in records} == {"a", "b"}


def test_load_errors_name_the_file_and_line(tmp_path):
    with pytest.raises(WdTrainError, match="no such results file or run directory"):
        load_results([tmp_path / "missing.jsonl"])
    (tmp_path / "empty").mkdir()
    with pytest.raises(WdTrainError, match="no finished runs"):
        load_results([tmp_path / "empty"])
    bad = tmp_path / "bad.jsonl"
    good = json.dumps({"seed": 1, "run_dir": "/x", "dev": {"precision": 0.5, "recall": 0.5,
                                                          "f1": 0.5, "per_type": {}}})
    bad.write_text(good + '\n{"half": \n')
    with pytest.raises(WdTrainError, match=r"bad.jsonl:2: not a JSON line"):
        load_results([bad])
    bad.write_text('{"seed": 1}\n')
    with pytest.raises(WdTrainError, match=r"bad.jsonl:1: not a wd-train results line \(run_dir"):
        load_results([bad])
    bad.write_text('{"seed": 1, "run_dir": "/x"}\n')
    with pytest.raises(WdTrainError, match=r"bad.jsonl:1: .*needs its dev scores"):
        load_results([bad])
    broken = write_run(tmp_path / "broken")
    (broken / "metrics.json").write_text('{"seed": 1}')
    with pytest.raises(WdTrainError, match=r"metrics.json: cannot read \(not a wd-train"):
        load_results([broken])


APPENDER = """
import os, sys, time
from wd_train.experiments.results import ResultLine, append_result
index, path, start = int(sys.argv[1]), sys.argv[2], sys.argv[3]
scores = {"precision": 0.5, "recall": 0.5, "f1": 0.5, "per_type": {}}
line = ResultLine(seed=index, dev=scores, run_dir=f"/runs/{index}",
                  config=str(index) * 300_000)  # a 300 kB line
while not os.path.exists(start):  # all eight wait here, then write together
    time.sleep(0.001)
append_result(path, line)
"""


def test_eight_processes_append_eight_whole_lines(tmp_path):
    results, start = tmp_path / "results.jsonl", tmp_path / "start"
    env = {**os.environ, "PYTHONPATH": os.pathsep.join(sys.path)}
    processes = [subprocess.Popen([sys.executable, "-c", APPENDER, str(i), str(results),
                                   str(start)], env=env) for i in range(8)]
    time.sleep(1.0)  # let every process reach the barrier
    start.touch()
    assert [p.wait(timeout=60) for p in processes] == [0] * 8
    lines = results.read_text(encoding="utf-8").splitlines()
    assert len(lines) == 8
    records = [json.loads(line) for line in lines]
    assert sorted(r["seed"] for r in records) == list(range(8))
    for record in records:  # each 300 kB line whole, never another process' bytes inside
        assert record["config"] == str(record["seed"]) * 300_000
    assert len(load_results([results])) == 8
