"""Train a tiny randomly initialised keras_bert tagger end to end (seconds on CPU): the run
directory it leaves, the schedule it followed, reproducibility, a Google-format checkpoint."""

import csv
import json

import numpy as np
import pytest
import yaml

from wd_train.config import load_config
from wd_train.errors import WdTrainError
from wd_train.model.schedule import Schedule, schedule_lr
from wd_train.training.run import train_run
from wd_train.use.trained import load_trained


def test_run_directory_contract(finished_run):
    """Each record's numbers agree with the files they describe, computed here independently:
    the predictions rescored with seqeval, the data files counted, the history and LR trace."""
    from seqeval.metrics import f1_score

    metrics, run_dir, dataset, _ = finished_run
    for name in ("config.yaml", "metrics.json", "history.csv", "lr.csv", "report.txt",
                 "predictions.conll", "predictions.dev.conll", "model.json", "weights.h5",
                 "vocab.txt", "checkpoint/state.json", "checkpoint/epoch-3.index"):
        assert (run_dir / name).exists(), name
    for split, predictions in (("dev", "predictions.dev.conll"), ("test", "predictions.conll")):
        blocks = (run_dir / predictions).read_text().strip().split("\n\n")
        rows = [[line.split() for line in block.splitlines()] for block in blocks]
        gold, predicted = [[r[1] for r in b] for b in rows], [[r[2] for r in b] for b in rows]
        assert metrics[split]["f1"] == pytest.approx(f1_score(gold, predicted), abs=1e-12)
        counted = [block for block in dataset[split].read_text().strip().split("\n\n")]
        assert metrics["data"][split]["sentences"] == len(counted) == len(rows)
        assert metrics["data"][split]["words"] == sum(len(b.splitlines()) for b in counted)
    history = list(csv.DictReader((run_dir / "history.csv").open()))
    assert [int(r["epoch"]) for r in history] == [1, 2, 3] and metrics["epochs_run"] == 3
    best = max(history, key=lambda r: float(r["dev_f1"]))
    assert int(best["epoch"]) == metrics["best_epoch"]
    assert float(best["dev_f1"]) == pytest.approx(metrics["dev"]["f1"], abs=1e-6)
    assert metrics["steps"] == int(history[-1]["steps"]) == sum(
        1 for _ in csv.DictReader((run_dir / "lr.csv").open()))
    assert metrics["train_seconds"] == pytest.approx(
        sum(float(r["train_seconds"]) for r in history), abs=2e-3)
    assert metrics["resumed_after_epoch"] is None and not metrics["stopped_early"]
    assert (run_dir / "vocab.txt").read_bytes() == dataset["vocab"].read_bytes()
    # the resolved config travels in metrics.json (and so in results lines): config.yaml's
    assert metrics["resolved_config"] == yaml.safe_load((run_dir / "config.yaml").read_text())
    # the process's peak memory: TensorFlow alone takes far more than 100 MiB, and no test
    # process gets near 64 GiB (a value in KiB or bytes taken for MiB would be out of range)
    assert 100 < metrics["peak_rss_mib"] < 64 * 1024
    report = (run_dir / "report.txt").read_text()
    assert report.startswith(f"dev (best epoch {metrics['best_epoch']})") and "\ntest\n" in report


def test_every_gold_word_is_predicted_and_scored(finished_run):
    _, run_dir, dataset, _ = finished_run
    for predictions, gold_file in (("predictions.conll", "test"), ("predictions.dev.conll", "dev")):
        gold = [line.split() for line in dataset[gold_file].read_text().splitlines()]
        predicted = [line.split() for line in (run_dir / predictions).read_text().splitlines()]
        assert len(predicted) == len(gold)
        for g, p in zip(gold, predicted):
            assert (g == [] and p == []) or (p[:2] == g and len(p) == 3)
    # the data has sentences longer than max_seq_len: they were windowed, not cut
    metrics = json.loads((run_dir / "metrics.json").read_text())
    assert metrics["data"]["test"]["windows"] > metrics["data"]["test"]["sentences"]


def test_lr_trace_follows_the_schedule(finished_run):
    metrics, run_dir, _, _ = finished_run
    schedule = Schedule(**metrics["schedule"])
    rows = list(csv.DictReader((run_dir / "lr.csv").open()))
    steps = [int(r["step"]) for r in rows]
    assert steps == list(range(metrics["steps"]))
    lrs = np.array([float(r["lr"]) for r in rows])
    warmup, total, peak = schedule.warmup_steps, schedule.decay_steps, schedule.learning_rate
    assert total == len(rows) and warmup == round(0.2 * total)
    assert lrs[0] == pytest.approx(peak / warmup)
    assert lrs[warmup - 1] == pytest.approx(peak)
    assert lrs[warmup] == pytest.approx(peak * (1 - (warmup + 1) / total))
    assert lrs[-1] == pytest.approx(0.0, abs=1e-12)
    mid = (warmup + total) // 2
    assert lrs[mid] == pytest.approx(peak * (1 - (mid + 1) / total))


def test_constant_schedule_trace(train_tiny, tmp_path, tiny_dataset):
    metrics, run_dir = train_tiny(tmp_path, tiny_dataset, training={"epochs": 1},
                           optimizer={"schedule": "constant"})
    lrs = [float(r["lr"]) for r in csv.DictReader((run_dir / "lr.csv").open())]
    assert len(lrs) == metrics["steps"] and set(lrs) == {0.005}
    assert metrics["schedule"]["warmup_steps"] == 0
    assert schedule_lr(Schedule(**metrics["schedule"]), 0) == 0.005


def test_same_seed_same_metrics(train_tiny, finished_run):
    metrics, _, dataset, tmp = finished_run
    again, _ = train_tiny(tmp, dataset, name="again", training={"epochs": 3})
    for key in ("dev", "test", "best_epoch", "steps"):
        assert again[key] == metrics[key], key
    other, _ = train_tiny(tmp, dataset, name="other", training={"epochs": 3, "seed": 8})
    assert other["dev"] != metrics["dev"] or other["test"] != metrics["test"]


def test_reloaded_weights_predict_the_same(finished_run):
    from wd_train.data.dataset import load_data
    from wd_train.evaluation import evaluate, make_predict_function

    metrics, run_dir, _, _ = finished_run
    model, meta = load_trained(run_dir)
    config, _ = load_config(run_dir / "config.yaml")
    data = load_data(config, folder=None)  # random_init: no BERT folder
    scores, _ = evaluate(make_predict_function(model), data.test, meta.labels, meta.scheme,
                         16)
    assert scores.f1 == pytest.approx(metrics["test"]["f1"], abs=1e-9)


def test_finished_run_needs_overwrite(finished_run):
    _, run_dir, _, _ = finished_run
    config, _ = load_config(run_dir / "config.yaml")
    with pytest.raises(WdTrainError, match="already holds a finished run"):
        train_run(config)


def test_patience_stops_early(train_tiny, tmp_path, tiny_dataset):
    metrics, _ = train_tiny(tmp_path, tiny_dataset, training={"epochs": 6, "patience": 1},
                     optimizer={"learning_rate": 1e-9})
    assert metrics["stopped_early"] and metrics["epochs_run"] < 6
    assert metrics["epochs_run"] == metrics["best_epoch"] + 1


def test_training_from_a_google_format_checkpoint(hf_bert, tiny_vocab_tokens, tiny_config_dict, write_config, tmp_path, tiny_dataset):
    """The model.checkpoint path: a tiny HF BERT written here, imported into Google format,
    loaded by keras_bert's own loader, fine-tuned; the pretrained weights really arrive."""
    import tensorflow as tf

    from wd_train.model.hf_import import import_hf


    hf = hf_bert.write(tmp_path / "hf", vocab=tiny_vocab_tokens())
    google = tmp_path / "google"
    import_hf(hf, google)
    config = tiny_config_dict(tiny_dataset, tmp_path / "ckpt-run",
                              training={"epochs": 1}, optimizer={"learning_rate": 1e-12})
    config["model"] = {"checkpoint": str(google)}
    config_path = write_config(tmp_path / "ckpt.yaml", config)
    metrics = train_run(load_config(config_path)[0])
    assert metrics.lowercase is True
    model, meta = load_trained(tmp_path / "ckpt-run")
    assert meta.vocab == "vocab.txt"  # a copy in the run directory: it works on its own
    assert (tmp_path / "ckpt-run" / "vocab.txt").read_bytes() == (google / "vocab.txt").read_bytes()
    embeddings = model.get_layer("Embedding-Token").get_weights()[0]
    original = tf.train.load_variable(str(google / "bert_model.ckpt"),
                                      "bert/embeddings/word_embeddings")
    np.testing.assert_allclose(embeddings, original, atol=1e-6)  # lr ~0: still the checkpoint


def test_the_code_version_is_read_when_a_run_starts(tmp_path, tiny_config_dict, write_config,
                                                    tiny_dataset, monkeypatch):
    """A run records the code that ran: the version is read (and kept for the process) before
    any work, not when metrics.json is written, after a commit may have moved HEAD."""
    import wd_train
    from wd_train.training import run as run_module

    class Stop(Exception):
        pass

    def stop(*args, **kwargs):
        raise Stop

    monkeypatch.setattr(wd_train, "_code_version", None)
    monkeypatch.setattr(run_module, "prepare_run_dir", stop)  # the run's first piece of work
    path = write_config(tmp_path / "c.yaml", tiny_config_dict(tiny_dataset, tmp_path / "o"))
    config, _ = load_config(path)
    with pytest.raises(Stop):
        train_run(config)
    assert wd_train._code_version is not None
