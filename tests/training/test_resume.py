"""`--resume`: an interrupted run goes on from its last epoch with the same batches and
learning rates; a state that does not fit the config or data is refused."""

import csv
import json

import numpy as np
import pytest

from wd_train.config import load_config
from wd_train.errors import WdTrainError
from wd_train.model.schedule import Schedule, schedule_lr
from wd_train.training.run import train_run
from wd_train.use.trained import load_trained


class Interrupted(Exception):
    pass


def interrupt_at_epoch(epoch):
    def progress(phase, done, total, values):
        if phase == "train" and values.get("epoch") == epoch:
            raise Interrupted
    return progress


def falling_dev_f1(monkeypatch, values):
    """Make the loop see these dev F1s, epoch by epoch (so that the best epoch is not the last)."""
    import wd_train.training.loop as train_module

    real, calls = train_module.evaluate, []

    def evaluate(*args, **kwargs):
        scores, predicted = real(*args, **kwargs)
        scores.f1 = values[len(calls)]
        calls.append(1)
        return scores, predicted

    monkeypatch.setattr(train_module, "evaluate", evaluate)


def recorded_batches(monkeypatch):
    """Every epoch's batch order, as the loop draws it."""
    import wd_train.training.loop as train_module

    real, drawn = train_module.batch_indices, []

    def batch_indices(*args, **kwargs):
        batches = real(*args, **kwargs)
        drawn.append([list(map(int, b)) for b in batches])
        return batches

    monkeypatch.setattr(train_module, "batch_indices", batch_indices)
    return drawn


def test_resume_continues_an_interrupted_run(tiny_config_dict, write_config, tmp_path, tiny_dataset, monkeypatch):
    import tensorflow as tf

    from wd_train.use.predict import predict_file

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
                        progress=lambda phase, done, total, values: trained.add(values["epoch"])
                        ).model_dump(mode="json")
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


def test_resume_refuses_another_config_or_data_and_starts_fresh_without_a_checkpoint(tiny_config_dict, write_config, 
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
    with pytest.raises(WdTrainError, match="started with other data; its snapshot cannot"):
        train_run(config, resume=True)
    train_file.write_text(saved_text)

    # the saved config edited to another head: the CRF-less network would restore in part
    saved_config = tmp_path / "r" / "config.yaml"
    saved_yaml = saved_config.read_text()
    saved_config.write_text(saved_yaml.replace("head: softmax", "head: crf"))
    as_crf, _ = load_config(path, ["model.head=crf"])
    with pytest.raises(WdTrainError, match=r"started with another network \(model.head"):
        train_run(as_crf, resume=True)
    saved_config.write_text(saved_yaml)

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
    assert train_run(config, resume=True).epochs_run == 2  # nothing to resume: from the start


def test_a_cut_off_snapshot_is_one_error_naming_it(tmp_path, tiny_dataset, tiny_config_dict,
                                                   write_config):
    path = write_config(tmp_path / "r.yaml", tiny_config_dict(
        tiny_dataset, tmp_path / "r", training={"epochs": 2}))
    config, _ = load_config(path)
    with pytest.raises(Interrupted):
        train_run(config, progress=interrupt_at_epoch(2))
    (data_file,) = (tmp_path / "r" / "checkpoint").glob("epoch-1.data-*")
    data_file.write_bytes(data_file.read_bytes()[:100])
    with pytest.raises(WdTrainError, match=r"checkpoint: cannot read snapshot epoch-1"):
        train_run(config, resume=True)


def test_a_full_disk_at_the_second_snapshot_leaves_the_first_to_resume_from(
        tmp_path, tiny_dataset, tiny_config_dict, write_config, monkeypatch):
    import errno

    from wd_train.training import resume

    path = write_config(tmp_path / "r.yaml", tiny_config_dict(
        tiny_dataset, tmp_path / "r", training={"epochs": 2}))
    config, _ = load_config(path)
    real, calls = resume.ResumeStore._write_state, []

    def write_state(self, result, rng, epoch):
        calls.append(epoch)
        if epoch == 2:
            raise OSError(errno.ENOSPC, "No space left on device")
        return real(self, result, rng, epoch)

    monkeypatch.setattr(resume.ResumeStore, "_write_state", write_state)
    with pytest.raises(WdTrainError, match=r"checkpoint: cannot write the epoch-2 snapshot \(No "
                                           r"space left on device\); --resume continues after "
                                           r"epoch-1"):
        train_run(config)
    assert not (tmp_path / "r" / "metrics.json").exists()
    monkeypatch.setattr(resume.ResumeStore, "_write_state", real)
    metrics = train_run(config, resume=True)  # the disk has room again
    assert metrics.resumed_after_epoch == 1 and metrics.epochs_run == 2


def test_a_full_disk_while_writing_outputs_is_one_error_and_resumable(
        tmp_path, tiny_dataset, tiny_config_dict, write_config, monkeypatch):
    import errno

    from wd_train.training import run

    path = write_config(tmp_path / "r.yaml", tiny_config_dict(
        tiny_dataset, tmp_path / "r", training={"epochs": 1}))
    config, _ = load_config(path)

    def full(path, *args):
        raise OSError(errno.ENOSPC, "No space left on device", str(path))

    monkeypatch.setattr(run, "write_csv_atomic", full)
    with pytest.raises(WdTrainError, match=r"history.csv: cannot write \(No space left on "
                                           r"device\)"):
        train_run(config)
    assert not (tmp_path / "r" / "metrics.json").exists()
    monkeypatch.undo()
    assert train_run(config, resume=True).resumed_after_epoch == 1
