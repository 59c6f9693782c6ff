"""Results lines: their shape, reading them back, and eight processes appending at once."""

import json
import os
import subprocess
import sys
import time

import pytest

from wd_train.errors import WdTrainError
from wd_train.results import append_record, load_records, make_record


def fake_metrics(run_dir, seed=1, f1=0.5, variant="a", **extra):
    scores = {"precision": f1, "recall": f1, "f1": f1,
              "per_type": {"PER": {"precision": f1, "recall": f1, "f1": f1, "support": 3}}}
    return {"dev": scores, "test": scores, "seed": seed, "best_epoch": 2, "epochs_run": 3,
            "schedule": {"name": "constant"}, "train_seconds": 1.5, "train_tokens_per_s": 100.0,
            "wall_seconds": 3.0, "run_dir": str(run_dir), "variant": variant,
            "overrides": {"optimizer.schedule": "constant"}, "config_file": "/c.yaml", **extra}


def write_run(run_dir, **kwargs):
    run_dir.mkdir(parents=True)
    (run_dir / "metrics.json").write_text(json.dumps(fake_metrics(run_dir, **kwargs)))
    return run_dir


def test_record_is_flat_and_complete(tmp_path):
    record = make_record(fake_metrics(tmp_path / "r", seed=3, f1=0.75))
    assert set(record) == {"variant", "seed", "overrides", "dev", "test", "best_epoch",
                           "epochs_run", "schedule", "train_seconds", "train_tokens_per_s",
                           "wall_seconds", "run_dir", "config", "finished_at"}
    assert record["seed"] == 3 and record["test"]["f1"] == 0.75 and record["variant"] == "a"
    assert record["overrides"] == {"optimizer.schedule": "constant"}
    assert record["config"] == "/c.yaml"
    # a run made without the runner's annotations (older run directories) still reads
    bare = make_record({"dev": {"f1": 0.1}, "test": None, "seed": 1, "run_dir": "/x"})
    assert bare["variant"] is None and bare["overrides"] == {} and bare["test"] is None


def test_load_from_files_dirs_and_comparison_folders(tmp_path):
    one = write_run(tmp_path / "single", seed=1, f1=0.1)
    write_run(tmp_path / "cmp" / "a" / "seed-1", seed=1)
    write_run(tmp_path / "cmp" / "b" / "seed-1", seed=1, variant="b")
    (tmp_path / "cmp" / "b" / "seed-2").mkdir()  # unfinished: no metrics.json, not counted
    results = tmp_path / "results.jsonl"
    other = tmp_path / "elsewhere"
    append_record(results, make_record(fake_metrics(other, seed=5)))
    append_record(results, make_record(fake_metrics(one, seed=1, f1=0.9)))  # same run, later
    records = load_records([one, tmp_path / "cmp", results])
    assert len(records) == 4
    by_dir = {r["run_dir"]: r for r in records}
    # met twice: the last line wins, in the place of the first
    assert records[0]["run_dir"] == str(one) and by_dir[str(one)]["test"]["f1"] == 0.9
    assert {r["variant"] for r in records} == {"a", "b"}


def test_load_errors_name_the_file_and_line(tmp_path):
    with pytest.raises(WdTrainError, match="no such results file or run directory"):
        load_records([tmp_path / "missing.jsonl"])
    (tmp_path / "empty").mkdir()
    with pytest.raises(WdTrainError, match="no finished runs"):
        load_records([tmp_path / "empty"])
    bad = tmp_path / "bad.jsonl"
    bad.write_text('{"seed": 1, "dev": {}, "run_dir": "/x"}\n{"half": \n')
    with pytest.raises(WdTrainError, match=r"bad.jsonl:2: not a JSON line"):
        load_records([bad])
    bad.write_text('{"seed": 1}\n')
    with pytest.raises(WdTrainError, match=r"bad.jsonl:1: not a wd-train results line"):
        load_records([bad])


APPENDER = """
import os, sys, time
from wd_train.results import append_record
index, path, start = int(sys.argv[1]), sys.argv[2], sys.argv[3]
while not os.path.exists(start):  # all eight wait here, then write together
    time.sleep(0.001)
append_record(path, {"seed": index, "dev": {"f1": 0.5}, "run_dir": f"/runs/{index}",
                     "payload": str(index) * 300_000})
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
        assert record["payload"] == str(record["seed"]) * 300_000
    assert len(load_records([results])) == 8
