"""The run directory: its records read back through their models, and the finished-run guard."""

import json

import pytest

from wd_train.errors import WdTrainError
from wd_train.run_dir import (
    RunMetrics,
    TaggerFile,
    prepare_run_dir,
    read_metrics,
    read_tagger_file,
    write_metrics,
    write_tagger_file,
)


def test_a_finished_runs_records_read_back_equal(finished_run):
    from datetime import datetime, timezone

    from wd_train.config import read_saved_config

    metrics, run_dir, dataset, _ = finished_run  # metrics: what train_run returned
    read = read_metrics(run_dir)
    assert read.model_dump(mode="json") == metrics
    finished = datetime.fromisoformat(read.finished_at)  # what orders runs, not file times
    assert finished.tzinfo is not None and finished <= datetime.now(timezone.utc)
    # model.json holds what the run was configured with, read back through its own reader
    config = read_saved_config(run_dir / "config.yaml")
    tagger = read_tagger_file(run_dir)
    init = config.model.random_init
    assert (tagger.backbone.embed_dim, tagger.backbone.transformer_num,
            tagger.backbone.head_num, tagger.backbone.pos_num) == (
        init.hidden, init.layers, init.heads, init.max_position)
    assert (tagger.max_seq_len, tagger.head, tagger.head_dropout) == (
        config.data.max_seq_len, config.model.head, config.model.head_dropout)
    gold_tags = {line.split()[-1] for line in dataset["train"].read_text().splitlines()
                 if line.strip()}
    assert tagger.labels[0] == "O" and set(tagger.labels) == gold_tags == set(metrics["labels"])
    assert tagger.vocab_path(run_dir).read_bytes() == dataset["vocab"].read_bytes()
    assert (run_dir / tagger.weights).is_file()


def test_records_round_trip_and_unknown_keys_are_ignored(finished_run, tmp_path):
    metrics, run_dir, _, _ = finished_run
    later = {**metrics, "a_key_of_a_later_version": 1}
    (tmp_path / "metrics.json").write_text(json.dumps(later))
    assert read_metrics(tmp_path) == RunMetrics.model_validate(metrics)
    write_metrics(tmp_path, read_metrics(tmp_path))
    assert json.loads((tmp_path / "metrics.json").read_text()) == metrics
    tagger = read_tagger_file(run_dir)
    write_tagger_file(tmp_path, tagger)
    assert read_tagger_file(tmp_path) == tagger
    assert "report" not in json.loads((tmp_path / "metrics.json").read_text())["dev"]


@pytest.mark.parametrize(("content", "message"), [
    ("{not json", "cannot read"),
    ('{"seed": 1}', "not a wd-train metrics file"),
])
def test_a_damaged_metrics_file_is_one_error_naming_it(tmp_path, content, message):
    (tmp_path / "metrics.json").write_text(content)
    with pytest.raises(WdTrainError, match=f"metrics.json: .*{message}"):
        read_metrics(tmp_path)


def test_tagger_file_missing_unfinished_or_damaged(tmp_path):
    with pytest.raises(WdTrainError, match="no model.json .not a finished wd-train run"):
        read_tagger_file(tmp_path)
    (tmp_path / "model.json").write_text('{"labels": ["O"]}')
    with pytest.raises(WdTrainError, match=r"no metrics.json \(unfinished or interrupted\)"):
        read_tagger_file(tmp_path)
    (tmp_path / "diverged.json").write_text("{}")
    with pytest.raises(WdTrainError, match=r"no metrics.json \(it diverged\)"):
        read_tagger_file(tmp_path)
    (tmp_path / "metrics.json").write_text("{}")  # only its presence matters here
    with pytest.raises(WdTrainError, match="model.json: cannot read .not a wd-train model file"):
        read_tagger_file(tmp_path)


@pytest.mark.parametrize(("change", "message"), [
    ({"max_seq_len": 2}, "max_seq_len 2: at least 3"),
    ({"backbone": {"head_num": 0}}, "head_num 0: expected at least 1"),
    ({"backbone": {"head_num": 5}}, "head_num 5 does not divide embed_dim 8"),
    ({"backbone": {"token_num": 10**9}}, "parameters"),
    ({"labels": ["O", "B-"]}, "expected distinct tags"),
    ({"labels": ["O", ""]}, "expected distinct tags"),
])
def test_a_damaged_model_json_is_one_line_not_a_hang_or_traceback(tmp_path, change, message):
    """max_seq_len 2 once looped for ever, head_num 0 raised ZeroDivisionError."""
    tagger = {"backbone": {"token_num": 10, "pos_num": 8, "embed_dim": 8, "transformer_num": 1,
                           "head_num": 2, "feed_forward_dim": 8},
              "labels": ["O", "B-PER"], "head_dropout": 0.1, "vocab": "vocab.txt",
              "lowercase": True, "max_seq_len": 8}
    for key, value in change.items():
        tagger[key] = {**tagger[key], **value} if isinstance(value, dict) else value
    (tmp_path / "model.json").write_text(json.dumps(tagger))
    (tmp_path / "metrics.json").write_text("{}")
    with pytest.raises(WdTrainError, match=message):
        read_tagger_file(tmp_path)


def test_prepare_run_dir_guards_a_finished_run(tmp_path):
    run_dir = prepare_run_dir(tmp_path / "run", overwrite=False)
    (run_dir / "notes.txt").write_text("kept: not a finished run yet")
    assert prepare_run_dir(run_dir, overwrite=False) == run_dir
    assert (run_dir / "notes.txt").exists()
    (run_dir / "metrics.json").write_text("{}")
    with pytest.raises(WdTrainError, match="already holds a finished run; pass --overwrite"):
        prepare_run_dir(run_dir, overwrite=False)
    prepare_run_dir(run_dir, overwrite=True)
    assert list(run_dir.iterdir()) == []  # nothing of the old run can be mistaken for the new
    (tmp_path / "file").write_text("")
    with pytest.raises(WdTrainError, match="exists and is not a directory"):
        prepare_run_dir(tmp_path / "file", overwrite=False)


def test_every_file_of_a_run_follows_the_umask(finished_run):
    import os

    _, run_dir, _, _ = finished_run
    mask = os.umask(0)
    os.umask(mask)
    files = [p for p in run_dir.iterdir() if p.is_file() and p.name != ".wd-train.lock"]
    assert {p.name for p in files} >= {"metrics.json", "weights.h5", "config.yaml", "lr.csv"}
    assert {oct(p.stat().st_mode & 0o777) for p in files} == {oct(0o666 & ~mask)}


def test_overwrite_clears_what_an_unfinished_run_left(tmp_path):
    run_dir = tmp_path / "run"
    (run_dir / "tensorboard").mkdir(parents=True)
    (run_dir / "config.yaml").write_text("data: {}\n")
    (run_dir / "history.csv").write_text("epoch\n1\n")
    prepare_run_dir(run_dir, overwrite=False)  # a fresh start goes ahead and rewrites files
    assert (run_dir / "history.csv").exists()
    prepare_run_dir(run_dir, overwrite=True)
    assert list(run_dir.iterdir()) == []
    elsewhere = tmp_path / "project"  # a folder no run wrote is never cleared
    elsewhere.mkdir()
    (elsewhere / "config.yaml").write_text("mine\n")
    prepare_run_dir(elsewhere, overwrite=True)
    assert (elsewhere / "config.yaml").read_text() == "mine\n"


@pytest.mark.parametrize("name", ["checkpoint", "tensorboard", "weights.h5"])
def test_a_symlink_where_a_run_writes_is_refused_not_followed(tmp_path, name):
    outside = tmp_path / "outside"
    outside.mkdir()
    (outside / "precious").write_text("keep")
    run_dir = tmp_path / "run"
    run_dir.mkdir()
    (run_dir / name).symlink_to(outside)
    for overwrite in (False, True):
        with pytest.raises(WdTrainError, match=f"{name} is a symlink; a run writes only inside"):
            prepare_run_dir(run_dir, overwrite=overwrite)
    assert (outside / "precious").read_text() == "keep"


@pytest.mark.parametrize("vocab", ["../../elsewhere/file", "..", ""])
def test_a_vocab_path_leading_out_of_the_run_is_refused(tmp_path, vocab):

    tagger = TaggerFile.model_validate({
        "backbone": {"token_num": 10, "pos_num": 8, "embed_dim": 8, "transformer_num": 1,
                     "head_num": 1, "feed_forward_dim": 8},
        "labels": ["O"], "head_dropout": 0.1, "vocab": vocab, "lowercase": True,
        "max_seq_len": 8})
    with pytest.raises(WdTrainError, match="is not a file of the run directory"):
        tagger.vocab_path(tmp_path)
    assert tagger.model_copy(update={"vocab": "vocab.txt"}).vocab_path(tmp_path) == \
        tmp_path / "vocab.txt"
