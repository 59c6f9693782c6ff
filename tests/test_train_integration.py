"""Train a tiny randomly initialised keras_bert tagger end to end (seconds on CPU)."""

import csv
import json

import numpy as np
import pytest

from wd_train.config import load_config
from wd_train.errors import WdTrainError
from wd_train.optimizer import Schedule, schedule_lr
from wd_train.run import load_trained, train_run

from .conftest import tiny_config_dict, write_config


def run(tmp_path, dataset, name="run", overrides=(), **sections):
    path = write_config(tmp_path / f"{name}.yaml",
                        tiny_config_dict(dataset, tmp_path / name, **sections))
    config, _ = load_config(path, list(overrides))
    return train_run(config), tmp_path / name


@pytest.fixture(scope="module")
def finished(tmp_path_factory):
    from .conftest import make_sentences, write_conll, write_vocab

    tmp = tmp_path_factory.mktemp("finished")
    dataset = {
        "train": write_conll(tmp / "train.conll", make_sentences(60, 1, long_every=15)),
        "dev": write_conll(tmp / "dev.conll", make_sentences(20, 2, long_every=10)),
        "test": write_conll(tmp / "test.conll", make_sentences(20, 3, long_every=10)),
        "vocab": write_vocab(tmp / "vocab.txt"),
    }
    metrics, run_dir = run(tmp, dataset, training={"epochs": 3})
    return metrics, run_dir, dataset, tmp


def test_run_directory_contract(finished):
    metrics, run_dir, _, _ = finished
    for name in ("config.yaml", "metrics.json", "history.csv", "lr.csv", "report.txt",
                 "predictions.conll", "predictions.dev.conll", "model.json", "weights.h5",
                 "checkpoint/state.json", "checkpoint/epoch-3.index"):
        assert (run_dir / name).exists(), name
    on_disk = json.loads((run_dir / "metrics.json").read_text())
    assert on_disk == json.loads(json.dumps(metrics))
    for split in ("dev", "test"):
        assert set(on_disk[split]) >= {"precision", "recall", "f1", "per_type"}
        assert 0.0 <= on_disk[split]["f1"] <= 1.0
    for key in ("best_epoch", "epochs_run", "steps", "schedule", "seed", "device", "versions",
                "train_seconds", "train_tokens_per_s"):
        assert key in on_disk, key
    assert set(on_disk["schedule"]) == {"name", "learning_rate", "warmup_steps", "decay_steps",
                                        "min_lr", "decay_from"}
    assert on_disk["epochs_run"] == 3 and on_disk["resumed_after_epoch"] is None
    history = list(csv.DictReader((run_dir / "history.csv").open()))
    assert [int(r["epoch"]) for r in history] == [1, 2, 3]
    best = max(history, key=lambda r: float(r["dev_f1"]))
    assert int(best["epoch"]) == on_disk["best_epoch"]
    assert float(best["dev_f1"]) == pytest.approx(on_disk["dev"]["f1"], abs=1e-6)
    report = (run_dir / "report.txt").read_text()
    assert "micro avg" in report and "test" in report


def test_every_gold_word_is_predicted_and_scored(finished):
    _, run_dir, dataset, _ = finished
    for predictions, gold_file in (("predictions.conll", "test"), ("predictions.dev.conll", "dev")):
        gold = [line.split() for line in dataset[gold_file].read_text().splitlines()]
        predicted = [line.split() for line in (run_dir / predictions).read_text().splitlines()]
        assert len(predicted) == len(gold)
        for g, p in zip(gold, predicted):
            assert (g == [] and p == []) or (p[:2] == g and len(p) == 3)
    # the data has sentences longer than max_seq_len: they were windowed, not cut
    metrics = json.loads((run_dir / "metrics.json").read_text())
    assert metrics["data"]["test"]["windows"] > metrics["data"]["test"]["sentences"]


def test_lr_trace_follows_the_schedule(finished):
    metrics, run_dir, _, _ = finished
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


def test_constant_schedule_trace(tmp_path, tiny_dataset):
    metrics, run_dir = run(tmp_path, tiny_dataset, training={"epochs": 1},
                           optimizer={"schedule": "constant"})
    lrs = [float(r["lr"]) for r in csv.DictReader((run_dir / "lr.csv").open())]
    assert len(lrs) == metrics["steps"] and set(lrs) == {0.005}
    assert metrics["schedule"]["warmup_steps"] == 0
    assert schedule_lr(Schedule(**metrics["schedule"]), 0) == 0.005


def test_same_seed_same_metrics(finished):
    metrics, _, dataset, tmp = finished
    again, _ = run(tmp, dataset, name="again", training={"epochs": 3})
    for key in ("dev", "test", "best_epoch", "steps"):
        assert again[key] == metrics[key], key
    other, _ = run(tmp, dataset, name="other", training={"epochs": 3, "seed": 8})
    assert other["dev"] != metrics["dev"] or other["test"] != metrics["test"]


def test_reloaded_weights_predict_the_same(finished):
    from wd_train.dataset import load_data
    from wd_train.evaluate import evaluate, make_predict_function

    metrics, run_dir, _, _ = finished
    model, meta = load_trained(run_dir)
    config, _ = load_config(run_dir / "config.yaml")
    data = load_data(config)
    scores, _ = evaluate(make_predict_function(model), data.test, meta["labels"], 16)
    assert scores.f1 == pytest.approx(metrics["test"]["f1"], abs=1e-9)


def test_finished_run_needs_overwrite(finished):
    _, run_dir, _, _ = finished
    config, _ = load_config(run_dir / "config.yaml")
    with pytest.raises(WdTrainError, match="already holds a finished run"):
        train_run(config)


def test_patience_stops_early(tmp_path, tiny_dataset):
    metrics, _ = run(tmp_path, tiny_dataset, training={"epochs": 6, "patience": 1},
                     optimizer={"learning_rate": 1e-9})
    assert metrics["stopped_early"] and metrics["epochs_run"] < 6
    assert metrics["epochs_run"] == metrics["best_epoch"] + 1


def test_training_from_a_google_format_checkpoint(tmp_path, tiny_dataset):
    """The model.checkpoint path: a tiny HF BERT written here, imported into Google format,
    loaded by keras_bert's own loader, fine-tuned; the pretrained weights really arrive."""
    import tensorflow as tf

    from wd_train.hf_import import import_hf

    from .conftest import tiny_vocab_tokens
    from .test_hf_import import write_tiny_bert

    hf = write_tiny_bert(tmp_path / "hf", vocab=tiny_vocab_tokens())
    google = tmp_path / "google"
    import_hf(hf, google)
    config = tiny_config_dict(tiny_dataset, tmp_path / "ckpt-run",
                              training={"epochs": 1}, optimizer={"learning_rate": 1e-12})
    config["model"] = {"checkpoint": str(google)}
    config_path = write_config(tmp_path / "ckpt.yaml", config)
    metrics = train_run(load_config(config_path)[0])
    assert metrics["lowercase"] is True
    model, meta = load_trained(tmp_path / "ckpt-run")
    assert meta["vocab"] == str(google / "vocab.txt")
    embeddings = model.get_layer("Embedding-Token").get_weights()[0]
    original = tf.train.load_variable(str(google / "bert_model.ckpt"),
                                      "bert/embeddings/word_embeddings")
    np.testing.assert_allclose(embeddings, original, atol=1e-6)  # lr ~0: still the checkpoint


def test_loss_averaged_over_words(tmp_path, tiny_dataset):
    metrics, run_dir = run(tmp_path, tiny_dataset, training={"epochs": 1, "loss_average": "words"})
    assert metrics["epochs_run"] == 1
    assert "loss_average: words" in (run_dir / "config.yaml").read_text()


def test_predict_scores_a_file_as_the_run_did(finished):
    from wd_train.predict import predict_file

    metrics, run_dir, dataset, _ = finished
    prediction = predict_file(run_dir, dataset["test"], batch_size=7)
    assert prediction.scores.f1 == pytest.approx(metrics["test"]["f1"], abs=1e-9)
    assert prediction.conll_lines() == (run_dir / "predictions.conll").read_text()
    assert prediction.as_dict()["scored"] is True


def test_predict_tags_a_tokens_only_file(finished):
    from wd_train.predict import predict_file

    _, run_dir, dataset, tmp = finished
    gold_lines = dataset["test"].read_text().splitlines()
    tokens_only = tmp / "tokens.txt"
    tokens_only.write_text("\n".join(line.split()[0] if line else "" for line in gold_lines))
    prediction = predict_file(run_dir, tokens_only)
    assert prediction.scores is None
    expected = [" ".join(line.split()[::2]) if line else ""  # word and predicted tag
                for line in (run_dir / "predictions.conll").read_text().splitlines()]
    assert prediction.conll_lines().splitlines() == expected


def test_predict_command(finished, tmp_path):
    from .test_cli import wd

    metrics, run_dir, dataset, _ = finished
    out = tmp_path / "pred.conll"
    result = wd("predict", run_dir, dataset["test"], "--output", out, "--json")
    assert result.returncode == 0, result.stderr
    assert json.loads(result.stdout)["f1"] == pytest.approx(metrics["test"]["f1"], abs=1e-9)
    assert out.read_text() == (run_dir / "predictions.conll").read_text()
    piped = wd("predict", run_dir, dataset["test"], "--quiet")
    assert piped.stdout == out.read_text()
    same = wd("predict", run_dir, dataset["test"], "-o", dataset["test"])
    assert same.returncode == 2 and "is the input file" in same.stderr
    import shutil

    damaged = shutil.copytree(run_dir, tmp_path / "damaged")
    (damaged / "weights.h5").unlink()
    no_weights = wd("predict", damaged, dataset["test"])
    assert no_weights.returncode == 2 and "weights file not found" in no_weights.stderr
    (damaged / "weights.h5").write_bytes(b"not hdf5")
    bad_weights = wd("predict", damaged, dataset["test"])
    assert bad_weights.returncode == 2 and "cannot load" in bad_weights.stderr
    assert "Traceback" not in bad_weights.stderr
    missing = wd("predict", tmp_path / "nowhere", dataset["test"])
    assert missing.returncode == 2 and missing.stderr.count("\n") == 1
    assert "not a finished wd-train run" in missing.stderr


class Interrupted(Exception):
    pass


def interrupt_at_epoch(epoch):
    def progress(phase, done, total, values):
        if phase == "train" and values.get("epoch") == epoch:
            raise Interrupted
    return progress


def falling_dev_f1(monkeypatch, values):
    """Make the loop see these dev F1s, epoch by epoch (so that the best epoch is not the last)."""
    import wd_train.train as train_module

    real, calls = train_module.evaluate, []

    def evaluate(*args, **kwargs):
        scores, predicted = real(*args, **kwargs)
        scores.f1 = values[len(calls)]
        calls.append(1)
        return scores, predicted

    monkeypatch.setattr(train_module, "evaluate", evaluate)


def recorded_batches(monkeypatch):
    """Every epoch's batch order, as the loop draws it."""
    import wd_train.train as train_module

    real, drawn = train_module.batch_indices, []

    def batch_indices(*args, **kwargs):
        batches = real(*args, **kwargs)
        drawn.append([list(map(int, b)) for b in batches])
        return batches

    monkeypatch.setattr(train_module, "batch_indices", batch_indices)
    return drawn


def test_resume_continues_an_interrupted_run(tmp_path, tiny_dataset, monkeypatch):
    import tensorflow as tf

    from wd_train.predict import predict_file

    drawn = recorded_batches(monkeypatch)
    path = write_config(tmp_path / "r.yaml", tiny_config_dict(
        tiny_dataset, tmp_path / "r", training={"epochs": 3}))
    config, _ = load_config(path)
    train_run(load_config(path, [f"output.dir={tmp_path / 'whole'}"])[0])
    uninterrupted = list(drawn)

    falling_dev_f1(monkeypatch, [0.9, 0.5, 0.4])  # epoch 1 stays the best
    drawn.clear()
    with pytest.raises(Interrupted):
        train_run(config, progress=interrupt_at_epoch(3))
    run_dir = tmp_path / "r"
    assert not (run_dir / "metrics.json").exists()
    state = json.loads((run_dir / "checkpoint" / "state.json").read_text())
    assert [r["epoch"] for r in state["history"]] == [1, 2]
    assert (state["best"], state["last"]) == ("epoch-1", "epoch-2")
    kept = {p.name.split(".")[0] for p in (run_dir / "checkpoint").glob("epoch-*")}
    assert kept == {"epoch-1", "epoch-2"}

    trained, drawn[:] = set(), []
    metrics = train_run(config, resume=True,
                        progress=lambda phase, done, total, values: trained.add(values["epoch"]))
    assert trained == {3}  # only the epoch that was missing
    assert drawn == [uninterrupted[2]]  # with the batches it would have had
    assert metrics["epochs_run"] == 3 and metrics["best_epoch"] == 1
    assert metrics["resumed_after_epoch"] == 2
    assert metrics["steps"] == 3 * (state["steps"] // 2)
    history = list(csv.DictReader((run_dir / "history.csv").open()))
    assert [int(r["epoch"]) for r in history] == [1, 2, 3]
    for row, saved in zip(history[:2], state["history"]):  # the first two epochs, restored
        assert float(row["loss"]) == pytest.approx(saved["loss"], abs=1e-6)
    schedule = Schedule(**metrics["schedule"])
    lrs = [float(r["lr"]) for r in csv.DictReader((run_dir / "lr.csv").open())]
    assert lrs == pytest.approx([schedule_lr(schedule, s) for s in range(metrics["steps"])])
    # the saved weights are epoch 1's, not the last epoch's, and so are the dev predictions
    model, _ = load_trained(run_dir)
    best = tf.train.Checkpoint(model=load_trained(run_dir)[0])
    best.read(str(run_dir / "checkpoint" / "epoch-1")).expect_partial()
    for saved, epoch_1 in zip(model.get_weights(), best.model.get_weights()):
        np.testing.assert_array_equal(saved, epoch_1)
    best.read(str(run_dir / "checkpoint" / "epoch-3")).expect_partial()
    assert any(not np.array_equal(a, b)
               for a, b in zip(model.get_weights(), best.model.get_weights()))
    dev = predict_file(run_dir, tiny_dataset["dev"])
    assert dev.conll_lines() == (run_dir / "predictions.dev.conll").read_text()


def test_resume_refuses_another_config_or_data_and_starts_fresh_without_a_checkpoint(
        tmp_path, tiny_dataset):
    path = write_config(tmp_path / "r.yaml", tiny_config_dict(
        tiny_dataset, tmp_path / "r", training={"epochs": 2}))
    config, _ = load_config(path)
    with pytest.raises(Interrupted):
        train_run(config, progress=interrupt_at_epoch(2))
    state = tmp_path / "r" / "checkpoint" / "state.json"
    other, _ = load_config(path, ["optimizer.learning_rate=0.01"])
    with pytest.raises(WdTrainError, match="optimizer.learning_rate: 0.005 there, 0.01 now"):
        train_run(other, resume=True)
    gated, _ = load_config(path, ["gate.min=0.1"])  # a gate judges a run, it does not change it
    with pytest.raises(Interrupted):
        train_run(gated, resume=True, progress=interrupt_at_epoch(2))

    train_file = tiny_dataset["train"]
    saved_text = train_file.read_text()
    train_file.write_text(saved_text.split("\n\n", 1)[1])  # one sentence fewer
    with pytest.raises(WdTrainError, match="started on other data or another schedule"):
        train_run(config, resume=True)
    train_file.write_text(saved_text)

    state.write_text("{not json")
    with pytest.raises(WdTrainError, match="state.json: cannot resume"):
        train_run(config, resume=True)
    state.write_text(json.dumps({"format": 1, "history": [], "best_epoch": 1, "steps": 0,
                                 "last": "epoch-1", "best": "epoch-1", "rng": {}}))
    with pytest.raises(WdTrainError, match="state.json: cannot resume"):
        train_run(config, resume=True)

    # A fresh start removes the old state before it writes its config: even if it dies at once,
    # the old state can never be resumed under the new config.
    broken, _ = load_config(path, ["data.dev=" + str(tmp_path / "missing.conll")])
    (tmp_path / "r" / "checkpoint" / "epoch-1_temp").mkdir()  # left by a kill mid-write
    with pytest.raises(WdTrainError, match="data file not found"):
        train_run(broken)
    assert not state.exists() and not list((tmp_path / "r" / "checkpoint").iterdir())
    assert train_run(config, resume=True)["epochs_run"] == 2  # nothing to resume: from the start
