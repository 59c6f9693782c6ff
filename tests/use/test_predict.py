"""`wd-train predict`: a finished run tags and scores files exactly as the run did."""

import json
import shutil

import pytest

from wd_train.use.predict import predict_file


def test_predict_scores_a_file_as_the_run_did(finished_run):

    metrics, run_dir, dataset, _ = finished_run
    prediction = predict_file(run_dir, dataset["test"], batch_size=7)
    assert prediction.scores.f1 == pytest.approx(metrics["test"]["f1"], abs=1e-9)
    assert prediction.conll_lines() == (run_dir / "predictions.conll").read_text()
    assert prediction.as_dict()["scored"] is True


def test_predict_tags_a_tokens_only_file(finished_run):

    _, run_dir, dataset, tmp = finished_run
    gold_lines = dataset["test"].read_text().splitlines()
    tokens_only = tmp / "tokens.txt"
    tokens_only.write_text("\n".join(line.split()[0] if line else "" for line in gold_lines))
    prediction = predict_file(run_dir, tokens_only)
    assert prediction.scores is None
    expected = [" ".join(line.split()[::2]) if line else ""  # word and predicted tag
                for line in (run_dir / "predictions.conll").read_text().splitlines()]
    assert prediction.conll_lines().splitlines() == expected


def test_predict_command(wd_process, finished_run, tmp_path):
    metrics, run_dir, dataset, _ = finished_run
    out = tmp_path / "pred.conll"
    result = wd_process("predict", run_dir, dataset["test"], "--output", out, "--json")
    assert result.returncode == 0, result.stderr
    assert json.loads(result.stdout)["f1"] == pytest.approx(metrics["test"]["f1"], abs=1e-9)
    assert out.read_text() == (run_dir / "predictions.conll").read_text()
    piped = wd_process("predict", run_dir, dataset["test"], "--quiet")
    assert piped.stdout == out.read_text()
    same = wd_process("predict", run_dir, dataset["test"], "-o", dataset["test"])
    assert same.returncode == 2 and "is the input file" in same.stderr
    damaged = shutil.copytree(run_dir, tmp_path / "damaged")
    (damaged / "weights.h5").unlink()
    no_weights = wd_process("predict", damaged, dataset["test"])
    assert no_weights.returncode == 2 and "weights file not found" in no_weights.stderr
    (damaged / "weights.h5").write_bytes(b"not hdf5")
    bad_weights = wd_process("predict", damaged, dataset["test"])
    assert bad_weights.returncode == 2 and "cannot load" in bad_weights.stderr
    assert "Traceback" not in bad_weights.stderr
    missing = wd_process("predict", tmp_path / "nowhere", dataset["test"])
    assert missing.returncode == 2 and missing.stderr.count("\n") == 1
    assert "not a finished wd-train run" in missing.stderr
