"""One training run, start to finish: config → data → model → AdamWarmup → fit → evaluate →
run directory. `train_run` is what `wd-train CONFIG` calls; tests and scripts can call it too.
"""

from __future__ import annotations

import json
import platform
import time
from collections.abc import Callable
from dataclasses import asdict
from importlib import metadata
from pathlib import Path

from .checkpoint import FOLDER as CHECKPOINT_FOLDER
from .checkpoint import STATE_FILE, RunCheckpoint, clear_checkpoints
from .config import Config, check_same_config, config_to_yaml
from .dataset import EncodedData, load_data
from .errors import WdTrainError
from .evaluate import conll_lines, evaluate, make_predict_function
from .model import BackboneSpec, backbone_spec, build_tagger, rebuild_tagger
from .optimizer import build_optimizer, make_schedule
from .rundir import prepare_run_dir, write_csv_atomic, write_json_atomic, write_text_atomic
from .tensorboard_log import TensorBoardLog
from .train import EpochRecord, FitResult, Progress, fit, steps_per_epoch

WEIGHTS_FILE = "weights.h5"


def _quiet(_: str) -> None:
    pass


def package_versions() -> dict[str, str]:
    versions = {"python": platform.python_version()}
    for name in ("wd-train", "tensorflow", "tf-keras", "keras-bert", "numpy", "seqeval"):
        try:
            versions[name] = metadata.version(name)
        except metadata.PackageNotFoundError:
            versions[name] = "not installed"
    return versions


def describe_device() -> str:
    import tensorflow as tf

    gpus = tf.config.list_physical_devices("GPU")
    if not gpus:
        return f"CPU ({platform.machine()})"
    details = tf.config.experimental.get_device_details(gpus[0])
    return f"GPU ({details.get('device_name', gpus[0].name)})"


def seed_everything(seed: int) -> None:
    import tensorflow as tf

    tf.keras.utils.set_random_seed(seed)  # Python, NumPy and TensorFlow seeds
    tf.config.experimental.enable_op_determinism()


def _split_summary(split) -> dict:
    return {"path": str(split.path), "sentences": len(split.sentences),
            "words": split.num_words, "windows": len(split.windows)}


def train_run(
    config: Config,
    *,
    overwrite: bool = False,
    resume: bool = False,
    log: Callable[[str], None] = _quiet,
    progress: Progress | None = None,
    annotations: dict | None = None,
) -> dict:
    """Train, evaluate and write the run directory `config.output.dir`. Returns metrics.json.

    `annotations` (e.g. the comparison variant and the overrides that made this config) are
    recorded in metrics.json, so that the run directory alone says what it was. `resume`:
    continue an interrupted run of the same config from its last finished epoch (a fresh start
    when there is none)."""
    started = time.perf_counter()
    run_dir = prepare_run_dir(config.output.dir, overwrite)
    resuming = resume and (run_dir / CHECKPOINT_FOLDER / STATE_FILE).exists()
    if resuming:
        check_same_config(run_dir / "config.yaml", config, "resume")
    else:
        clear_checkpoints(run_dir)
        write_text_atomic(run_dir / "config.yaml", config_to_yaml(config))

    data = load_data(config)
    log(
        f"data: train {len(data.train.sentences)} sentences / {len(data.train.windows)} windows, "
        f"dev {len(data.dev.sentences)}, test {len(data.test.sentences) if data.test else 0}; "
        f"{len(data.labels)} labels; lowercase={data.lowercase} ({data.lowercase_source})"
    )

    seed_everything(config.training.seed)
    device = describe_device()
    spec = backbone_spec(config.model, len(data.vocab))
    if spec.token_num < len(data.vocab):
        raise WdTrainError(
            f"model.vocab: {data.vocab_path} has {len(data.vocab)} entries but the model has "
            f"only {spec.token_num} token embeddings"
        )
    model = build_tagger(config.model, spec, len(data.labels))
    total_steps = config.training.epochs * steps_per_epoch(
        len(data.train.windows), config.training.batch_size
    )
    schedule = make_schedule(config.optimizer, total_steps)
    optimizer = build_optimizer(config.optimizer, schedule, model.trainable_variables)
    log(f"device: {device}; schedule: {schedule.name} lr={schedule.learning_rate:g} "
        f"warmup={schedule.warmup_steps} decay={schedule.decay_steps} min_lr={schedule.min_lr:g}")

    checkpoint = RunCheckpoint(run_dir, model, optimizer, identity={
        "schedule": schedule.as_dict(), "train_windows": len(data.train.windows)})
    start = None
    if resuming:
        predict = make_predict_function(model)
        start = checkpoint.restore(
            lambda: evaluate(predict, data.dev, data.labels, config.training.batch_size * 2)[1])
        log(f"resuming after epoch {start.history[-1].epoch} (step {start.history[-1].steps}; "
            f"best epoch so far {start.best_epoch})")
    tensorboard = TensorBoardLog(run_dir / "tensorboard",
                                 first_step=start.history[-1].steps if start else 0)

    def on_epoch_end(record: EpochRecord, so_far: FitResult, rng) -> None:
        tensorboard.epoch_end(record)
        checkpoint.save(so_far, rng)
        log(
            f"epoch {record.epoch}: loss {record.loss:.4f}  dev P {record.dev.precision:.4f} "
            f"R {record.dev.recall:.4f} F1 {record.dev.f1:.4f}  lr {record.lr:.3g}  "
            f"{record.tokens / max(record.train_seconds, 1e-9):.0f} tokens/s"
        )

    try:
        result = fit(
            model, optimizer, schedule, data,
            epochs=config.training.epochs, batch_size=config.training.batch_size,
            seed=config.training.seed, patience=config.training.patience,
            loss_average=config.training.loss_average,
            progress=tensorboard.wrap_progress(progress), on_epoch_end=on_epoch_end,
            resume=start,
        )
    finally:
        tensorboard.close()

    model.set_weights(result.best_weights)
    model.save_weights(str(run_dir / WEIGHTS_FILE))
    predict = make_predict_function(model)
    best = result.history[result.best_epoch - 1]
    test_scores = test_predicted = None
    if data.test is not None:
        test_scores, test_predicted = evaluate(
            predict, data.test, data.labels, config.training.batch_size * 2
        )

    _write_outputs(run_dir, config, data, spec, result, best, test_scores, test_predicted)
    metrics = {
        "dev": best.dev.as_dict(),
        "test": test_scores.as_dict() if test_scores else None,
        "best_epoch": result.best_epoch,
        "epochs_run": len(result.history),
        "stopped_early": result.stopped_early,
        # a resumed run is not bit-identical with an uninterrupted one (dropout masks): say so
        "resumed_after_epoch": start.history[-1].epoch if start else None,
        "steps": int(optimizer.iterations.numpy()),
        "schedule": schedule.as_dict(),
        "seed": config.training.seed,
        "device": device,
        "versions": package_versions(),
        "train_seconds": round(result.train_seconds, 3),
        "train_tokens": result.train_tokens,
        "train_tokens_per_s": round(result.train_tokens / max(result.train_seconds, 1e-9), 1),
        "wall_seconds": round(time.perf_counter() - started, 3),
        "data": {
            split.name: _split_summary(split)
            for split in (data.train, data.dev, data.test) if split is not None
        },
        "labels": data.labels,
        "lowercase": data.lowercase,
        "run_dir": str(run_dir),
        **(annotations or {}),
    }
    write_json_atomic(run_dir / "metrics.json", metrics)  # last: marks the run as finished
    return metrics


def _write_outputs(run_dir, config, data: EncodedData, spec, result: FitResult, best,
                   test_scores, test_predicted) -> None:
    write_csv_atomic(
        run_dir / "history.csv",
        ["epoch", "loss", "dev_precision", "dev_recall", "dev_f1", "lr", "steps",
         "train_seconds"],
        [[r.epoch, f"{r.loss:.6f}", f"{r.dev.precision:.6f}", f"{r.dev.recall:.6f}",
          f"{r.dev.f1:.6f}", f"{r.lr:.8g}", r.steps, f"{r.train_seconds:.3f}"]
         for r in result.history],
    )
    write_csv_atomic(run_dir / "lr.csv", ["step", "lr"],
                     [[step, f"{lr:.8g}"] for step, lr in result.lr_trace])
    report = f"dev (best epoch {result.best_epoch})\n{best.dev.report}"
    if test_scores is not None:
        report += f"\ntest\n{test_scores.report}"
    write_text_atomic(run_dir / "report.txt", report)
    write_text_atomic(run_dir / "predictions.dev.conll",
                      conll_lines(data.dev.sentences, result.best_dev_predictions))
    if test_predicted is not None:
        write_text_atomic(run_dir / "predictions.conll",
                          conll_lines(data.test.sentences, test_predicted))
    write_json_atomic(run_dir / "model.json", {
        "backbone": asdict(spec),
        "labels": data.labels,
        "head_dropout": config.model.head_dropout,
        "vocab": str(data.vocab_path),
        "lowercase": data.lowercase,
        "max_seq_len": config.data.max_seq_len,
        "weights": WEIGHTS_FILE,
    })


def read_model_meta(run_dir: Path | str) -> dict:
    """A finished run's model.json (backbone shape, labels, vocab, casing, max_seq_len)."""
    meta_path = Path(run_dir) / "model.json"
    if not meta_path.exists():
        raise WdTrainError(f"{run_dir}: no model.json (not a finished wd-train run)")
    try:
        return json.loads(meta_path.read_text(encoding="utf-8"))
    except (OSError, ValueError) as exc:
        raise WdTrainError(f"{meta_path}: cannot read ({exc})") from None


def load_trained(run_dir: Path | str):
    """Rebuild a finished run's tagger with its best weights. Returns (model, model.json dict)."""
    run_dir = Path(run_dir)
    meta = read_model_meta(run_dir)
    model = rebuild_tagger(BackboneSpec(**meta["backbone"]), len(meta["labels"]),
                           meta["head_dropout"])
    weights = run_dir / meta["weights"]
    if not weights.exists():
        raise WdTrainError(f"{weights}: weights file not found (an unfinished or damaged run)")
    try:
        model.load_weights(str(weights))
    except (OSError, ValueError) as exc:
        raise WdTrainError(f"{weights}: cannot load ({exc})") from None
    return model, meta
