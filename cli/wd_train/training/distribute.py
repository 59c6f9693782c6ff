"""Training on more than one device with tf.distribute: `MirroredStrategy` over this machine's
GPUs, `MultiWorkerMirroredStrategy` over several machines (from TF_CONFIG).

Every replica is handed the whole global batch and takes its own contiguous share of the rows
(`replica_rows`), so the batch order stays the seeded sampler's and every worker of a
multi-worker run builds the same global batches from the same seed. Each replica's loss is its
share of the global batch's loss (sum over its words divided by the global batch's word count),
so the gradients summed across replicas are those of one device on the whole batch.
"""

from __future__ import annotations

import json
import logging
import os
from dataclasses import dataclass

from ..errors import WdTrainError

log = logging.getLogger(__name__)

# MultiWorkerMirroredStrategy may be created once per process, before TensorFlow starts its
# devices: kept here for every run of the process.
_multi_worker_strategy = None


@dataclass
class Distribution:
    """What a run trains on: `strategy` None is one device (the plain loop)."""

    kind: str  # "none", "mirrored" or "multi_worker"
    strategy: object | None
    replicas: int
    worker: int = 0  # this process's task index in a multi-worker run
    workers: int = 1

    @property
    def is_chief(self) -> bool:
        """The worker that writes the run directory (worker 0, as TensorFlow's convention)."""
        return self.worker == 0


def tf_config_task() -> tuple[int, int] | None:
    """(this worker's index, number of workers) from TF_CONFIG; None when it is not set."""
    text = os.environ.get("TF_CONFIG")
    if not text:
        return None
    try:
        tf_config = json.loads(text)
        workers = len(tf_config["cluster"].get("worker", [])) + len(
            tf_config["cluster"].get("chief", []))
        task = tf_config["task"]
        index = int(task["index"]) + (1 if task["type"] == "worker"
                                      and "chief" in tf_config["cluster"] else 0)
    except (ValueError, KeyError, TypeError, AttributeError) as exc:
        raise WdTrainError(f"TF_CONFIG: not a valid cluster description ({exc!r}); see "
                           "docs/gpu.md, 'Several GPUs and machines'") from None
    if task["type"] not in ("worker", "chief") or not 0 <= index < workers:
        raise WdTrainError(f"TF_CONFIG: task {task['type']} {task['index']} is not one of the "
                           f"cluster's {workers} workers (index from 0); see "
                           "docs/gpu.md, 'Several GPUs and machines'")
    return index, workers


def make_distribution(kind: str, gpus: list) -> Distribution:
    """`kind` as in training.distribution. `auto`: mirrored over the GPUs when there is more
    than one, else one device. `mirrored` without GPUs mirrors over the logical CPU devices
    (what the tests use)."""
    import tensorflow as tf

    if kind == "auto":
        kind = "mirrored" if len(gpus) > 1 else "none"
    if kind == "none":
        return Distribution("none", None, 1)
    if kind == "mirrored":
        if gpus:
            strategy = tf.distribute.MirroredStrategy()
        else:
            cpus = [d.name for d in tf.config.list_logical_devices("CPU")]
            strategy = tf.distribute.MirroredStrategy(
                cpus, cross_device_ops=tf.distribute.ReductionToOneDevice())
        if strategy.num_replicas_in_sync == 1:
            log.warning("training.distribution: mirrored over one device (no second GPU "
                        "visible): it trains as one device would, with the strategy's overhead")
        return Distribution("mirrored", strategy, strategy.num_replicas_in_sync)
    # multi_worker
    task = tf_config_task()
    if task is None:
        raise WdTrainError("training.distribution: multi_worker needs TF_CONFIG (the cluster's "
                           "workers and this one's index); see docs/gpu.md, 'Several GPUs and "
                           "machines'")
    global _multi_worker_strategy
    if _multi_worker_strategy is None:
        try:
            _multi_worker_strategy = tf.distribute.MultiWorkerMirroredStrategy()
        except RuntimeError as exc:
            raise WdTrainError(f"training.distribution: multi_worker: {exc}") from None
    strategy = _multi_worker_strategy
    return Distribution("multi_worker", strategy, strategy.num_replicas_in_sync,
                        worker=task[0], workers=task[1])


def replica_rows(tensor):
    """This replica's contiguous share of a global batch's rows (in a replica context); the
    shares of all replicas, in replica order, are the batch. A share may be empty when the
    batch has fewer rows than there are replicas."""
    import tensorflow as tf

    context = tf.distribute.get_replica_context()
    replicas = context.num_replicas_in_sync
    index = context.replica_id_in_sync_group
    rows = tf.shape(tensor)[0]
    start = rows * index // replicas
    end = rows * (index + 1) // replicas
    return tensor[start:end]
