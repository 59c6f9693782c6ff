"""One training run, start to finish: config → data → model → AdamWarmup → fit → evaluate →
run directory. `train_run` is what `wd-train CONFIG` calls for a single run; tests and scripts
can call it too.
"""

from __future__ import annotations

import contextlib
import logging
import math
import shutil
import sys
import tempfile
import time
from pathlib import Path

from .. import code_version
from ..bert_folder import read_bert_folder
from ..config import Config, config_to_yaml, require_same_config, saved_config
from ..data.dataset import EncodedData, Split
from ..errors import TrainingDiverged, WdTrainError, short_reason
from ..evaluation import Scores, conll_lines, evaluate, make_predict_function
from ..files import replace_atomic, write_bytes_atomic, write_csv_atomic, write_text_atomic
from ..model.precision import set_precision
from ..model.tagger import (
    BackboneSpec,
    check_positions,
)
from ..run_dir import (
    CONFIG_FILE,
    DEV_PREDICTIONS_FILE,
    DIVERGED_FILE,
    HISTORY_FILE,
    LR_FILE,
    REPORT_FILE,
    RESUME_FOLDER,
    TENSORBOARD_FOLDER,
    TEST_PREDICTIONS_FILE,
    VOCAB_FILE,
    WEIGHTS_FILE,
    DivergedRun,
    RunMetrics,
    RunOrigin,
    SplitSize,
    TaggerFile,
    now_iso,
    prepare_run_dir,
    run_dir_lock,
    write_diverged,
    write_metrics,
    write_tagger_file,
)
from .device import (
    package_versions,
)
from .distribute import tf_config_task
from .loop import Diverged, EpochRecord, FitResult, Progress, ResumePoint, fit
from .resume import ResumeStore, clear_resume_state, has_resume_state
from .setup import TrainingSetup, build_training
from .tensorboard import TensorBoardLog

log = logging.getLogger(__name__)


def _split_size(split: Split) -> SplitSize:
    return SplitSize(path=str(split.path), sentences=len(split.sentences),
                     words=split.num_words, windows=len(split.windows))


def train_run(
    config: Config,
    *,
    overwrite: bool = False,
    resume: bool = False,
    progress: Progress | None = None,
    origin: RunOrigin | None = None,
) -> RunMetrics:
    """Train, evaluate and write the run directory `config.output.dir`. Returns metrics.json.

    `origin` (what made this config: variant, overrides, config file) is recorded in
    metrics.json, so that the run directory alone says what it was. `resume`: continue an
    interrupted run of the same config from its last finished epoch (a fresh start when there
    is none)."""
    origin = origin or RunOrigin()
    if config.training.distribution == "multi_worker":
        task = tf_config_task()
        if task is not None and task[0] != 0:
            # the other workers train in step with worker 0 but write their run directory to
            # a temporary folder, removed at the end (TensorFlow's convention): only worker
            # 0's run directory is the result
            with tempfile.TemporaryDirectory(prefix="wd-train-worker-") as folder:
                config = config.model_copy(deep=True)
                config.output.dir = Path(folder) / "run"
                metrics = _locked_run(config, overwrite=True, resume=False,
                                      progress=progress, origin=origin)
                return metrics.model_copy(update={"run_dir": ""})
    return _locked_run(config, overwrite=overwrite, resume=resume, progress=progress,
                       origin=origin)


def _locked_run(config: Config, *, overwrite: bool, resume: bool, progress: Progress | None,
                origin: RunOrigin) -> RunMetrics:
    with run_dir_lock(config.output.dir), _float32_afterwards():
        try:
            return _train_run(config, overwrite=overwrite, resume=resume, progress=progress,
                              origin=origin)
        except OSError as exc:  # a full disk, a folder made read-only under a running run
            where = exc.filename or config.output.dir
            raise WdTrainError(f"{where}: cannot write ({short_reason(exc)})") from None
        except Exception as exc:
            # TensorFlow's own I/O and resource errors (a full disk under its event writer,
            # device memory): one line, not a traceback
            if not type(exc).__module__.startswith("tensorflow") or not hasattr(exc, "message"):
                raise
            raise WdTrainError(f"{config.output.dir}: training stopped ({short_reason(exc)})"
                               ) from None


@contextlib.contextmanager
def _float32_afterwards():
    """A run may set a mixed precision policy; models built after it (the next run of a
    comparison, `predict`) start from float32 again."""
    try:
        yield
    finally:
        if "tensorflow" in sys.modules:
            set_precision("float32")


def _train_run(config: Config, *, overwrite: bool, resume: bool, progress: Progress | None,
               origin: RunOrigin) -> RunMetrics:
    started = time.perf_counter()
    code_version()  # read now (and kept): the code that runs, not the tree at the end of a run
    run_dir = prepare_run_dir(config.output.dir, overwrite)
    folder = read_bert_folder(config.model.checkpoint)  # read once, for the whole run
    check_positions(folder, config.data.max_seq_len)
    resuming = _begin(run_dir, config, resume)
    setup = build_training(config, folder=folder)
    model = setup.model
    # what rebuilds the tagger, before the first epoch: an interrupted run can still be used
    # (`predict --allow-unfinished`, with its latest epoch snapshot)
    _write_tagger(run_dir, config, setup.data, setup.spec)
    # what a snapshot must match to be resumed: the data, the schedule and the network (a
    # CRF snapshot read into a softmax tagger would restore in part, and silently)
    store = ResumeStore(run_dir, model, setup.optimizer, identity={
        "schedule": setup.schedule.as_dict(), "train_windows": len(setup.data.train.windows),
        "variables": [[v.name, v.shape.as_list()] for v in model.trainable_variables]})
    start = _restore(store, setup, config) if resuming else None
    # read now: `fit` goes on appending to start.result
    resumed_after = start.result.history[-1].epoch if start else None
    tensorboard = TensorBoardLog(run_dir / TENSORBOARD_FOLDER,
                                 first_step=start.result.history[-1].steps if start else 0)

    def on_epoch_end(record: EpochRecord, so_far: FitResult, rng) -> None:
        tensorboard.epoch_end(record)
        store.save(so_far, rng)
        _log_epoch(record)

    try:
        result = fit(setup, config.training,
                     progress=tensorboard.wrap_progress(progress), on_epoch_end=on_epoch_end,
                     resume=start)
    except BaseException as exc:
        tensorboard.close(quietly=True)  # the error that stopped training is the one to report
        if isinstance(exc, Diverged):
            _record_divergence(exc, run_dir, config, setup, origin)
        raise
    tensorboard.close()

    model.set_weights(result.best_weights)
    replace_atomic(run_dir / WEIGHTS_FILE, lambda tmp: model.save_weights(str(tmp)))
    best = result.history[result.best_epoch - 1]
    if result.padding_efficiency is not None:
        log.info(f"train padding efficiency {100 * result.padding_efficiency:.1f} % (real / "
                 f"padded tokens)" + (f"; {result.compiled_shapes} batch shapes compiled by XLA"
                                      if setup.jit_compile else ""))
    test_scores = test_predicted = None
    if setup.data.test is not None:
        test_scores, test_predicted = evaluate(
            make_predict_function(model, constraints=setup.constraints), setup.data.test,
            setup.data.labels, setup.data.scheme, config.training.batch_size * 2)
    _write_outputs(run_dir, config, setup.data, result, best, test_scores, test_predicted)
    metrics = _run_metrics(config, setup, result, test_scores, origin, run_dir=run_dir,
                           resumed_after=resumed_after,
                           wall_seconds=time.perf_counter() - started)
    write_metrics(run_dir, metrics)  # last: marks the run as finished
    return metrics


def _begin(run_dir: Path, config: Config, resume: bool) -> bool:
    """Whether the run resumes (its state there, its config the same); else a fresh start."""
    if resume and has_resume_state(run_dir):
        require_same_config(run_dir, config, holds="an interrupted run",
                            redo="start it again")
        return True
    # a fresh start: nothing of an earlier attempt may be resumed into it or mixed into its
    # TensorBoard curves
    clear_resume_state(run_dir)
    shutil.rmtree(run_dir / TENSORBOARD_FOLDER, ignore_errors=True)
    write_text_atomic(run_dir / CONFIG_FILE, config_to_yaml(config))
    return False


def _restore(store: ResumeStore, setup: TrainingSetup, config: Config) -> ResumePoint:
    """The interrupted run's last epoch, restored into the model and optimizer."""
    data = setup.data
    predict = make_predict_function(setup.model, constraints=setup.constraints)
    start = store.restore(
        lambda: evaluate(predict, data.dev, data.labels, data.scheme,
                         config.training.batch_size * 2)[1])
    last = start.result.history[-1]
    log.info(f"resuming after epoch {last.epoch} (step {last.steps}; best epoch so far "
             f"{start.result.best_epoch})")
    return start


def _log_epoch(record: EpochRecord) -> None:
    log.info(
        f"epoch {record.epoch}: loss {record.loss:.4f}  dev P {record.dev.precision:.4f} "
        f"R {record.dev.recall:.4f} F1 {record.dev.f1:.4f}  entity words "
        f"{_percent(record.dev.predicted_entity_share)} predicted / "
        f"{_percent(record.dev.gold_entity_share)} gold  lr {record.lr:.3g}  "
        f"{record.tokens / max(record.train_seconds, 1e-9):.0f} tokens/s"
    )


def _record_divergence(exc: Diverged, run_dir: Path, config: Config, setup: TrainingSetup,
                       origin: RunOrigin) -> None:
    """Write diverged.json and raise TrainingDiverged: the divergence is this run's result (a
    grid counts it), recorded, never retried."""
    kept = (f"the last good epoch's state is in {run_dir / RESUME_FOLDER}"
            if has_resume_state(run_dir) else "it diverged in its first epoch")
    limit = "" if config.training.max_loss is None else \
        f" (training.max_loss {config.training.max_loss:g})"
    write_diverged(run_dir, DivergedRun(
        epoch=exc.epoch, step=exc.step + 1, lr=exc.lr,
        loss=exc.loss if math.isfinite(exc.loss) else None, seed=config.training.seed,
        schedule=setup.schedule, run_dir=str(run_dir), **dict(origin),
        finished_at=now_iso(), code_version=code_version(),
        resolved_config=saved_config(config)))
    raise TrainingDiverged(f"training diverged at {exc}{limit}; no metrics.json was "
                           f"written ({DIVERGED_FILE} records it), {kept}") from None


def _run_metrics(config: Config, setup: TrainingSetup, result: FitResult,
                 test_scores: Scores | None, origin: RunOrigin, *, run_dir: Path,
                 resumed_after: int | None, wall_seconds: float) -> RunMetrics:
    """metrics.json of the finished run."""
    data = setup.data
    best = result.history[result.best_epoch - 1]
    return RunMetrics(
        dev=best.dev,
        test=test_scores,
        best_epoch=result.best_epoch,
        epochs_run=len(result.history),
        stopped_early=result.stopped_early,
        resumed_after_epoch=resumed_after,
        steps=int(setup.optimizer.iterations.numpy()),
        schedule=setup.schedule,
        seed=config.training.seed,
        device=setup.device,
        precision=setup.precision,
        jit_compile=setup.jit_compile,
        fused_update=setup.fused_update and not setup.jit_compile,
        distribution=setup.distribution.kind,
        replicas=setup.distribution.replicas,
        pad_to_multiple_of=setup.pad_to_multiple_of,
        length_buckets=list(setup.length_buckets),
        padding_efficiency=(None if result.padding_efficiency is None
                            else round(result.padding_efficiency, 4)),
        compiled_shapes=result.compiled_shapes,
        compile_seconds=round(result.compile_seconds, 3),
        versions=package_versions(),
        train_seconds=round(result.train_seconds, 3),
        train_tokens=result.train_tokens,
        train_tokens_per_s=round(result.train_tokens / max(result.train_seconds, 1e-9), 1),
        wall_seconds=round(wall_seconds, 3),
        peak_rss_mib=peak_rss_mib(),
        data={split.name: _split_size(split)
              for split in (data.train, data.dev, data.test) if split is not None},
        labels=data.labels,
        lowercase=data.lowercase,
        run_dir=str(run_dir),
        **dict(origin),
        finished_at=now_iso(),
        code_version=code_version(),
        resolved_config=saved_config(config),
        degenerate=_learned_nothing(best, data),
    )


def peak_rss_mib() -> float | None:
    """This process's peak resident memory so far, in MiB (None where the OS does not say)."""
    try:
        import resource
    except ImportError:  # Windows
        return None
    # Linux reports KiB, macOS bytes
    scale = 1024 * 1024 if sys.platform == "darwin" else 1024
    return round(resource.getrusage(resource.RUSAGE_SELF).ru_maxrss / scale, 1)


def _percent(share: float | None) -> str:
    return "?" if share is None else f"{100 * share:.1f} %"


def _learned_nothing(best: EpochRecord, data: EncodedData) -> bool:
    """The best epoch tagged every dev word O although the training data has entities: its F1
    (0, or whatever the others are compared with) measures no learning at all. Said in one
    warning line and recorded as `degenerate` in metrics.json and the results line."""
    train_entity_words = sum(tag != "O" for s in data.train.sentences for tag in s.tags)
    if best.dev.predicted_entity_share != 0.0 or train_entity_words == 0:
        return False
    log.warning(f"degenerate run: the best epoch ({best.epoch}) predicted no entity on dev "
                f"(every word O) although the training data has {train_entity_words} entity "
                "words; its scores measure no learning (flagged `degenerate` in metrics.json; "
                "summaries count such runs apart)")
    return True


def _write_outputs(run_dir: Path, config: Config, data: EncodedData, result: FitResult,
                   best: EpochRecord, test_scores: Scores | None,
                   test_predicted: list[list[str]] | None) -> None:
    write_csv_atomic(
        run_dir / HISTORY_FILE,
        ["epoch", "loss", "dev_precision", "dev_recall", "dev_f1", "dev_entity_share",
         "lr", "steps", "train_seconds"],
        [[r.epoch, f"{r.loss:.6f}", f"{r.dev.precision:.6f}", f"{r.dev.recall:.6f}",
          f"{r.dev.f1:.6f}", f"{r.dev.predicted_entity_share or 0.0:.6f}", f"{r.lr:.8g}",
          r.steps, f"{r.train_seconds:.3f}"]
         for r in result.history],
    )
    write_csv_atomic(run_dir / LR_FILE, ["step", "lr"],
                     [[step, f"{lr:.8g}"] for step, lr in result.lr_trace])
    report = f"dev (best epoch {result.best_epoch})\n{best.dev.report}"
    if test_scores is not None:
        report += f"\ntest\n{test_scores.report}"
    write_text_atomic(run_dir / REPORT_FILE, report)
    write_text_atomic(run_dir / DEV_PREDICTIONS_FILE,
                      conll_lines(data.dev.sentences, result.best_dev_predictions))
    if test_predicted is not None:
        write_text_atomic(run_dir / TEST_PREDICTIONS_FILE,
                          conll_lines(data.test.sentences, test_predicted))


def _write_tagger(run_dir: Path, config: Config, data: EncodedData, spec: BackboneSpec) -> None:
    """model.json and the vocab it names: what `predict` and `export` rebuild the tagger from."""
    write_bytes_atomic(run_dir / VOCAB_FILE, data.vocab_path.read_bytes())
    write_tagger_file(run_dir, TaggerFile(
        backbone=spec,
        labels=data.labels,
        head_dropout=config.model.head_dropout,
        head=config.model.head,
        lstm_units=config.model.lstm_units,
        constrained_decoding=config.model.constrained_decoding,
        vocab=VOCAB_FILE,
        lowercase=data.lowercase,
        max_seq_len=config.data.max_seq_len,
        weights=WEIGHTS_FILE,
        scheme=data.scheme,
        data_format=config.data.format,
    ))
