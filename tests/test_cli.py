"""The command line as users and scripts meet it: subprocesses, exit codes, stdout/stderr."""

import json
import os
import subprocess
import sys
from pathlib import Path

import yaml


def test_help_does_not_import_tensorflow():
    code = ("import sys\nfrom wd_train.cli import main\ntry:\n    main(['--help'])\n"
            "except SystemExit:\n    pass\n"
            "heavy = [m for m in ('tensorflow', 'keras_bert', 'matplotlib', 'seqeval', 'scipy') "
            "if m in sys.modules]\nprint('HEAVY', heavy)")
    result = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True,
                            check=False)
    assert "HEAVY []" in result.stdout, result.stdout + result.stderr
    assert "import-hf" in result.stdout and "train" in result.stdout


def test_bad_config_is_one_line_and_exit_2(tiny_config_dict, write_config, wd_process, tmp_path, tiny_dataset):
    config = tiny_config_dict(tiny_dataset, tmp_path / "out")
    config["optimizer"]["learning_rat"] = 1e-4
    path = write_config(tmp_path / "c.yaml", config)
    result = wd_process(path)
    assert result.returncode == 2
    lines = result.stderr.strip().splitlines()
    assert len(lines) == 1, result.stderr
    assert "optimizer.learning_rat: unknown key; did you mean 'optimizer.learning_rate'?" in lines[0]
    assert "Traceback" not in result.stderr
    assert not (tmp_path / "out").exists()


def test_bad_data_line_is_reported_with_file_and_line(tiny_config_dict, write_config, wd_process, tmp_path, tiny_dataset):
    broken = tmp_path / "broken.conll"
    broken.write_text("EU B-ORG\nrejects\n", encoding="utf-8")
    config = tiny_config_dict({**tiny_dataset, "train": broken}, tmp_path / "out")
    result = wd_process(write_config(tmp_path / "c.yaml", config))
    assert result.returncode == 2
    assert f"{broken}:2: expected at least 2 columns" in result.stderr
    assert "Traceback" not in result.stderr
    assert not (tmp_path / "out" / "metrics.json").exists()


def test_set_override_and_missing_config(tiny_config_dict, write_config, wd_process, tmp_path, tiny_dataset):
    path = write_config(tmp_path / "c.yaml", tiny_config_dict(tiny_dataset, tmp_path / "o"))
    result = wd_process(path, "--set", "training.epochs=0")
    assert result.returncode == 2 and "training.epochs" in result.stderr
    result = wd_process(tmp_path / "missing.yaml")
    assert result.returncode == 2 and "config file not found" in result.stderr


def test_json_output_output_dir_and_overwrite(tiny_config_dict, write_config, wd_process, tmp_path, tiny_dataset):
    config = tiny_config_dict(tiny_dataset, tmp_path / "ignored", training={"epochs": 1})
    path = write_config(tmp_path / "c.yaml", config)
    out = tmp_path / "chosen"
    result = wd_process(path, "--output-dir", out, "--json", "--set", "data.limit=20")
    assert result.returncode == 0, result.stderr
    metrics = json.loads(result.stdout)  # stdout holds exactly one JSON object
    assert metrics["run_dir"] == str(out.resolve())
    assert (out / "metrics.json").exists() and not (tmp_path / "ignored").exists()
    resolved = yaml.safe_load((out / "config.yaml").read_text())
    assert resolved["data"]["limit"] == 20
    assert Path(resolved["output"]["dir"]) == out.resolve()
    again = wd_process(path, "--output-dir", out, "--quiet")
    assert again.returncode == 2 and "already holds a finished run" in again.stderr
    replaced = wd_process(path, "--output-dir", out, "--quiet", "--overwrite", "--set", "data.limit=10")
    assert replaced.returncode == 0, replaced.stderr
    assert "micro" in replaced.stdout  # the F1 table
    assert json.loads((out / "metrics.json").read_text())["data"]["train"]["sentences"] == 10


def test_resume_and_overwrite_exclude_each_other(tiny_config_dict, write_config, wd_process, tmp_path, tiny_dataset):
    path = write_config(tmp_path / "c.yaml", tiny_config_dict(tiny_dataset, tmp_path / "out"))
    result = wd_process(path, "--resume", "--overwrite")
    assert result.returncode == 2 and result.stderr.count("\n") == 1
    assert "--resume and --overwrite" in result.stderr


def test_a_reader_that_stops_early_is_not_a_failed_gate():
    """`wd-train info --json | head -c1`: stdout's reader is gone before the output is written.
    Exit 0 and no error (click's default is exit 1, the code of a failed gate)."""
    read_end, write_end = os.pipe()
    os.close(read_end)  # no reader at all: the first write breaks the pipe
    try:
        result = subprocess.run([sys.executable, "-m", "wd_train.cli", "info", "--json"],
                                stdout=write_end, stderr=subprocess.PIPE, text=True,
                                timeout=120, check=False)
    finally:
        os.close(write_end)
    assert result.returncode == 0, result.stderr
    assert "Traceback" not in result.stderr and "error" not in result.stderr.lower()
