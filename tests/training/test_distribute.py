"""tf.distribute: a mirrored run over two logical CPU devices follows the single-device run
(loss per step, LR trace), and a multi-worker run of two local processes (TF_CONFIG on
127.0.0.1) trains and leaves one run directory. Each runs in a fresh process: logical devices
and the multi-worker strategy must be set up before TensorFlow starts."""

import json
import math
import os
import socket
import subprocess
import sys

import pytest

from wd_train.errors import WdTrainError
from wd_train.training.distribute import tf_config_task

TWO_CPUS = r'''
import json, sys
import tensorflow as tf
cpu = tf.config.list_physical_devices("CPU")[0]
tf.config.set_logical_device_configuration(cpu, [tf.config.LogicalDeviceConfiguration()] * 2)
import keras_bert
from wd_train.config import load_config
from wd_train.model import tagger
from wd_train.training.run import train_run
# keras_bert's encoder has dropout (0.1) of its own: off, so that both compute one function
get_model = keras_bert.get_model
keras_bert.get_model = lambda **kw: get_model(**{**kw, "dropout_rate": 0.0})
out = {}
for path in sys.argv[1:]:
    losses = []
    metrics = train_run(load_config(path)[0],
                        progress=lambda phase, done, total, v: losses.append(v["loss"]))
    out[path] = {"losses": losses, "replicas": metrics.replicas,
                 "distribution": metrics.distribution, "dev_f1": metrics.dev.f1,
                 "steps": metrics.steps, "fused_update": metrics.fused_update}
print(json.dumps(out))
'''


def _no_dropout_config(tiny_dataset, tiny_config_dict, out, **training):
    # the replicas draw their own dropout masks: without dropout (the encoder's is turned off in
    # TWO_CPUS) the two compute one function
    return tiny_config_dict(tiny_dataset, out, training={"epochs": 2, **training},
                            model={"head_dropout": 0.0})


def test_mirrored_over_two_devices_follows_one_device(tmp_path, tiny_dataset, tiny_config_dict,
                                                      write_config):
    paths = []
    for kind in ("none", "mirrored"):
        paths.append(write_config(tmp_path / f"{kind}.yaml", _no_dropout_config(
            tiny_dataset, tiny_config_dict, tmp_path / kind, distribution=kind)))
    result = subprocess.run([sys.executable, "-c", TWO_CPUS, *map(str, paths)],
                            capture_output=True, text=True, timeout=600, check=False)
    assert result.returncode == 0, result.stderr[-3000:]
    runs = json.loads(result.stdout.splitlines()[-1])
    single, mirrored = runs[str(paths[0])], runs[str(paths[1])]
    assert (single["replicas"], mirrored["replicas"]) == (1, 2)
    assert mirrored["distribution"] == "mirrored"
    # training.fused_update `auto`: on alone, off under a strategy (which it does not support)
    assert (single["fused_update"], mirrored["fused_update"]) == (True, False)
    assert len(single["losses"]) == len(mirrored["losses"]) > 10
    assert mirrored["steps"] == single["steps"]
    # the same trajectory: every step's loss (normalised over the global batch) agrees to
    # float32 summation order, 20 steps on
    assert mirrored["losses"] == pytest.approx(single["losses"], rel=1e-4)
    for kind in ("none", "mirrored"):  # the LR trace is the schedule's for every step
        assert (tmp_path / kind / "lr.csv").read_text() == (tmp_path / "none" / "lr.csv"
                                                            ).read_text()


def test_mirrored_with_a_crf_head_and_xla(tmp_path, tiny_dataset, tiny_config_dict, write_config):
    """Replicas may get an empty share of a small batch; the CRF's loss and XLA's compiled
    replica step must take it."""
    config = tiny_config_dict(tiny_dataset, tmp_path / "run", data={"pad_to_multiple_of": 8},
                              training={"epochs": 1, "distribution": "mirrored",
                                        "jit_compile": True, "batch_size": 3},
                              model={"head": "crf"})
    path = write_config(tmp_path / "crf.yaml", config)
    result = subprocess.run([sys.executable, "-c", TWO_CPUS, str(path)],
                            capture_output=True, text=True, timeout=600, check=False)
    assert result.returncode == 0, result.stderr[-3000:]
    run = json.loads(result.stdout.splitlines()[-1])[str(path)]
    assert run["replicas"] == 2 and all(math.isfinite(loss) for loss in run["losses"])


def _free_ports(count):
    sockets = [socket.socket() for _ in range(count)]
    for s in sockets:
        s.bind(("127.0.0.1", 0))
    ports = [s.getsockname()[1] for s in sockets]
    for s in sockets:
        s.close()
    return ports


def test_multi_worker_on_two_local_processes(tmp_path, tiny_dataset, tiny_config_dict,
                                             write_config):
    path = write_config(tmp_path / "mw.yaml", _no_dropout_config(
        tiny_dataset, tiny_config_dict, tmp_path / "run", distribution="multi_worker"))
    workers = [f"127.0.0.1:{port}" for port in _free_ports(2)]
    processes = []
    for index in range(2):
        env = {**os.environ, "TF_CONFIG": json.dumps(
            {"cluster": {"worker": workers}, "task": {"type": "worker", "index": index}})}
        processes.append(subprocess.Popen(
            [sys.executable, "-m", "wd_train.cli", str(path), "--quiet", "--json",
             "--results", str(tmp_path / "results.jsonl")],
            stdout=subprocess.PIPE, stderr=subprocess.PIPE, text=True, env=env))
    outputs = []
    for process in processes:
        try:
            out, err = process.communicate(timeout=300)  # a worker waits forever for a dead peer
        except subprocess.TimeoutExpired:
            for p in processes:
                p.kill()
            raise
        assert process.returncode == 0, err[-3000:]
        outputs.append(json.loads(out))
    chief, other = outputs
    assert chief["distribution"] == "multi_worker" and chief["replicas"] == 2
    assert chief["run_dir"] == str(tmp_path / "run") and other["run_dir"] == ""
    # both workers hold the same weights: the same dev F1
    assert other["dev"]["f1"] == pytest.approx(chief["dev"]["f1"])
    assert (tmp_path / "run" / "metrics.json").exists()
    assert len((tmp_path / "results.jsonl").read_text().splitlines()) == 1  # worker 0's


@pytest.mark.parametrize("text, expected", [
    ('{"cluster": {"worker": ["a:1", "b:2"]}, "task": {"type": "worker", "index": 1}}', (1, 2)),
    (('{"cluster": {"chief": ["a:1"], "worker": ["b:2", "c:3"]}, '
     '"task": {"type": "worker", "index": 0}}'), (1, 3)),
    (('{"cluster": {"chief": ["a:1"], "worker": ["b:2"]}, "task": {"type": "chief", '
     '"index": 0}}'), (0, 2)),
])
def test_tf_config_task(monkeypatch, text, expected):
    monkeypatch.setenv("TF_CONFIG", text)
    assert tf_config_task() == expected


def test_a_broken_tf_config_is_one_line(monkeypatch):
    monkeypatch.setenv("TF_CONFIG", "{not json")
    with pytest.raises(WdTrainError, match="TF_CONFIG: not a valid cluster"):
        tf_config_task()
    monkeypatch.delenv("TF_CONFIG")
    assert tf_config_task() is None


@pytest.mark.parametrize("task", ['{"type": "worker", "index": 2}',
                                  '{"type": "worker", "index": -1}',
                                  '{"type": "ps", "index": 0}'])
def test_a_task_outside_the_cluster_is_one_line(monkeypatch, task):
    cluster = '{"worker": ["a:1", "b:2"]}'
    monkeypatch.setenv("TF_CONFIG", f'{{"cluster": {cluster}, "task": {task}}}')
    with pytest.raises(WdTrainError, match="is not one of the cluster's 2 workers"):
        tf_config_task()
