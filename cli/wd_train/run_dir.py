"""A run directory: its file names, the "finished run" guard, and the two records a finished run
leaves for later steps, each one pydantic model written and read through it:

- `metrics.json` (`RunMetrics`): scores, schedule, times, data sizes. Written last: its presence
  is what marks a run as finished; `finished_at` orders runs (never file times).
- `model.json` (`TaggerFile`): what is needed to rebuild the tagger for `wd-train predict`.
- `diverged.json` (`DivergedRun`), instead of metrics.json, when the loss diverged: where and at
  what rate. A result too (a grid's "diverged in 2 of 3 seeds"), never a tagger.

Written by the training stage, read by the experiments (metrics) and by `use` (the tagger).
"""

from __future__ import annotations

import contextlib
import fcntl
import os
import re
import shutil
from collections.abc import Iterator
from datetime import datetime, timezone
from pathlib import Path
from typing import Any

from pydantic import BaseModel, ConfigDict, Field, ValidationError, field_validator

from .errors import WdTrainError
from .evaluation import Scores
from .files import loads_strict, write_json_atomic
from .model.schedule import Schedule
from .model.tagger import BackboneSpec

CONFIG_FILE = "config.yaml"
METRICS_FILE = "metrics.json"  # written last: marks the run as finished
DIVERGED_FILE = "diverged.json"  # a run that diverged: its result is that it diverged
TAGGER_FILE = "model.json"
WEIGHTS_FILE = "weights.h5"
VOCAB_FILE = "vocab.txt"  # a copy of the model's vocab: the run directory works on its own
HISTORY_FILE = "history.csv"
LR_FILE = "lr.csv"
REPORT_FILE = "report.txt"
DEV_PREDICTIONS_FILE = "predictions.dev.conll"
TEST_PREDICTIONS_FILE = "predictions.conll"
RESUME_FOLDER = "checkpoint"  # epoch snapshots and state.json for --resume
RESUME_STATE_FILE = "state.json"  # in RESUME_FOLDER: which snapshots are the last and the best
TENSORBOARD_FOLDER = "tensorboard"
LOCK_FILE = ".wd-train.lock"  # held while a process writes the run directory


def now_iso() -> str:
    return datetime.now(timezone.utc).isoformat(timespec="milliseconds")


class Record(BaseModel):
    # Records written by an older or newer wd-train still read: unknown keys are ignored.
    model_config = ConfigDict(extra="ignore")


class RunOrigin(Record):
    """What made a run, recorded in its metrics.json or diverged.json so that the run directory
    alone says what it was: the comparison variant and grid point (if any), the overrides
    (variant's, grid point's, --set) and the config file."""

    variant: str | None = None
    overrides: dict[str, Any] = Field(default_factory=dict)
    grid: dict[str, Any] = Field(default_factory=dict)  # dotted key → value
    config_file: str | None = None


class SplitSize(Record):
    path: str
    sentences: int
    words: int
    windows: int


class RunMetrics(Record):
    """metrics.json: a finished run."""

    dev: Scores
    test: Scores | None
    best_epoch: int
    epochs_run: int
    stopped_early: bool
    # a resumed run is not bit-identical with an uninterrupted one (dropout masks): say so
    resumed_after_epoch: int | None = None
    steps: int
    schedule: Schedule
    seed: int
    device: str
    precision: str = "float32"  # the compute dtype policy the run trained with
    jit_compile: bool = False  # XLA
    fused_update: bool = False  # the update alone compiled by XLA (training.fused_update, resolved)
    distribution: str = "none"  # tf.distribute strategy, and its replicas in sync
    replicas: int = 1
    pad_to_multiple_of: int = 1
    length_buckets: list[int] = []  # with XLA and data.length_buckets: the padded widths
    padding_efficiency: float | None = None  # real / padded train tokens
    compiled_shapes: int = 0  # with XLA: batch shapes compiled, and the seconds it took
    compile_seconds: float = 0.0
    versions: dict[str, str]
    train_seconds: float
    train_tokens: int
    train_tokens_per_s: float
    wall_seconds: float
    # the process's peak resident memory when the run ended (ru_maxrss): in a comparison run
    # in one process, the peak over this cell and those before it
    peak_rss_mib: float | None = None
    data: dict[str, SplitSize]
    labels: list[str]
    lowercase: bool
    run_dir: str
    # what made this run: the comparison variant (if any), the overrides, the config file
    variant: str | None = None
    overrides: dict[str, Any] = {}
    grid: dict[str, Any] = {}  # the comparison's grid point (dotted key → value), if any
    config_file: str | None = None
    finished_at: str | None = None  # ISO 8601, UTC; None only in runs older than the field
    code_version: str | None = None  # wd-train's version (+ git commit from a checkout)
    # the whole config the run trained with (config.yaml's content): a results line is then
    # evidence on its own, checkable and groupable after the run directory is gone
    resolved_config: dict[str, Any] | None = None
    # the best epoch's dev predictions hold no entity although the training data has some:
    # the run learned nothing a score could show (issue 20)
    degenerate: bool = False


class DivergedRun(Record):
    """diverged.json: a run whose loss diverged (exit code 3). No weights, no scores; what made
    it, and where and at what learning rate it broke."""

    status: str = "diverged"
    epoch: int
    step: int  # 1-based, as the log line
    lr: float
    loss: float | None  # None: not finite
    seed: int
    schedule: Schedule
    run_dir: str
    variant: str | None = None
    overrides: dict[str, Any] = {}
    grid: dict[str, Any] = {}
    config_file: str | None = None
    finished_at: str | None = None
    resolved_config: dict[str, Any] | None = None
    code_version: str | None = None


class TaggerFile(Record):
    """model.json: enough to rebuild the tagger and encode text as the run did. File names are
    relative to the run directory (older runs recorded the vocab by absolute path)."""

    backbone: BackboneSpec
    labels: list[str]
    head_dropout: float
    head: str = "softmax"  # softmax | crf | bilstm_crf
    lstm_units: int = 128
    constrained_decoding: bool = False
    vocab: str
    lowercase: bool
    max_seq_len: int
    weights: str = WEIGHTS_FILE
    scheme: str = "iob2"  # tag scheme of the labels (how entities are read from tags)
    data_format: str = "conll"  # conll: words; chars: one character per token

    @field_validator("max_seq_len")
    @classmethod
    def _room_for_a_word(cls, value: int) -> int:
        if value < 3:  # [CLS] and [SEP] take two pieces: a window needs a third for a word
            raise ValueError(f"max_seq_len {value}: at least 3 (a window holds [CLS], a word "
                             "and [SEP])")
        return value

    @field_validator("labels")
    @classmethod
    def _tags(cls, labels: list[str]) -> list[str]:
        bad = [tag for tag in labels if tag != "O" and not re.fullmatch(r"[BIES]-\S+", tag)]
        if not labels or bad or len(set(labels)) != len(labels):
            raise ValueError(f"expected distinct tags such as O, B-PER, I-PER (got "
                             f"{bad[:3] or labels[:5]})")
        return labels

    def vocab_path(self, run_dir: Path) -> Path:
        """The vocab inside the run directory (older runs recorded an absolute path, kept as
        it is); a relative path that leads out of the run directory is refused."""
        if Path(self.vocab).is_absolute():
            return Path(self.vocab)
        return _inside(run_dir, self.vocab, "vocab")

    def weights_path(self, run_dir: Path) -> Path:
        """The weights file, always inside the run directory."""
        return _inside(run_dir, self.weights, "weights")


def _inside(run_dir: Path, name: str, key: str) -> Path:
    """`name`, a file named in model.json, inside `run_dir`: an absolute path or one that
    leads out of it (`../../elsewhere`) is refused in one line."""
    path = Path(name)
    if path.is_absolute() or ".." in path.parts or not path.parts:
        raise WdTrainError(f"{Path(run_dir) / TAGGER_FILE}: {key} {name[:80]!r} is not a file "
                           "of the run directory")
    return Path(run_dir) / path


def is_finished_run(path: Path) -> bool:
    return (Path(path) / METRICS_FILE).exists()


def is_diverged_run(path: Path) -> bool:
    return (Path(path) / DIVERGED_FILE).exists() and not is_finished_run(path)


def has_result(path: Path) -> bool:
    """A run that ended with a result: finished (metrics.json) or diverged (diverged.json)."""
    return is_finished_run(path) or is_diverged_run(path)


def _create(path: Path) -> None:
    if path.exists() and not path.is_dir():
        raise WdTrainError(f"output.dir: {path} exists and is not a directory")
    try:
        path.mkdir(parents=True, exist_ok=True)
    except OSError as exc:
        raise WdTrainError(f"output.dir: {path}: cannot create ({exc.strerror})") from None


@contextlib.contextmanager
def run_dir_lock(path: Path) -> Iterator[Path]:
    """Create the run directory and hold its lock while the body runs: a second process that
    wants the same directory is refused at once instead of mixing its files in. The lock is
    the kernel's (flock), so a killed process never leaves a stale one behind."""
    path = Path(path)
    _create(path)
    try:
        fd = os.open(path / LOCK_FILE, os.O_RDWR | os.O_CREAT, 0o666)
    except OSError as exc:
        raise WdTrainError(f"output.dir: {path}: cannot write ({exc.strerror})") from None
    try:
        try:
            fcntl.flock(fd, fcntl.LOCK_EX | fcntl.LOCK_NB)
        except BlockingIOError:
            holder = os.pread(fd, 32, 0).decode(errors="replace").strip() or "?"
            raise WdTrainError(f"output.dir: {path} is in use by another wd-train run (pid "
                               f"{holder}); wait for it or choose another --output-dir") from None
        os.ftruncate(fd, 0)
        os.pwrite(fd, str(os.getpid()).encode(), 0)
        yield path
    finally:
        os.close(fd)  # releases the lock


def _started_run(path: Path) -> bool:
    """An unfinished run's folder: its config.yaml and what training writes from the start."""
    return (path / CONFIG_FILE).is_file() and any(
        (path / folder).is_dir() for folder in (TENSORBOARD_FOLDER, RESUME_FOLDER))


WRITTEN = (CONFIG_FILE, METRICS_FILE, DIVERGED_FILE, TAGGER_FILE, WEIGHTS_FILE, VOCAB_FILE,
           HISTORY_FILE, LR_FILE, REPORT_FILE, DEV_PREDICTIONS_FILE, TEST_PREDICTIONS_FILE,
           RESUME_FOLDER, TENSORBOARD_FOLDER)


def prepare_run_dir(path: Path, overwrite: bool) -> Path:
    """Ready the (locked) run directory for a fresh run; refuse to write over a finished run
    unless asked to. `overwrite` also clears what an unfinished run left. A run writes only
    inside its folder: an entry it writes that is a symlink is refused, never followed."""
    path = Path(path)
    _create(path)
    linked = [name for name in WRITTEN if (path / name).is_symlink()]
    if linked:
        raise WdTrainError(f"output.dir: {path / linked[0]} is a symlink; a run writes only "
                           "inside its own folder (remove the link or choose another "
                           "--output-dir)")
    if has_result(path) and not overwrite:
        what = "a finished run" if is_finished_run(path) else \
            f"a run that diverged ({DIVERGED_FILE})"
        raise WdTrainError(
            f"output.dir: {path} already holds {what}; pass --overwrite to replace "
            "it or --output-dir to write elsewhere"
        )
    if overwrite and (has_result(path) or _started_run(path)):
        # Remove the old run first so that nothing of it can be mistaken for the new one. Only
        # a folder that a wd-train run wrote is ever cleared; the lock stays.
        (path / METRICS_FILE).unlink(missing_ok=True)
        (path / DIVERGED_FILE).unlink(missing_ok=True)
        for entry in path.iterdir():
            if entry.name == LOCK_FILE:
                continue
            if entry.is_dir() and not entry.is_symlink():
                shutil.rmtree(entry)
            else:
                entry.unlink()
    return path


def record_problem(exc: OSError | ValueError, what: str) -> str:
    """Why a record file could not be read, in one line (a ValidationError's first problem)."""
    if isinstance(exc, ValidationError):
        first = exc.errors()[0]
        return (f"not a wd-train {what} ({exc.error_count()} problems, first: "
                f"{'.'.join(map(str, first['loc']))}: {first['msg']})")
    return str(exc)


def _read_record(path: Path, model: type[Record], what: str):
    try:
        return model.model_validate(loads_strict(path.read_text(encoding="utf-8")))
    except (OSError, ValueError) as exc:  # ValidationError is a ValueError
        raise WdTrainError(f"{path}: cannot read ({record_problem(exc, what)})") from None


def write_metrics(run_dir: Path, metrics: RunMetrics) -> None:
    write_json_atomic(Path(run_dir) / METRICS_FILE, metrics.model_dump(mode="json"))


def read_metrics(run_dir: Path) -> RunMetrics:
    return _read_record(Path(run_dir) / METRICS_FILE, RunMetrics, "metrics file")


def write_diverged(run_dir: Path, record: DivergedRun) -> None:
    write_json_atomic(Path(run_dir) / DIVERGED_FILE, record.model_dump(mode="json"))


def read_diverged(run_dir: Path) -> DivergedRun:
    return _read_record(Path(run_dir) / DIVERGED_FILE, DivergedRun, "divergence record")


def write_tagger_file(run_dir: Path, tagger: TaggerFile) -> None:
    write_json_atomic(Path(run_dir) / TAGGER_FILE, tagger.model_dump(mode="json"))


def read_tagger_file(run_dir: Path, allow_unfinished: bool = False) -> TaggerFile:
    """A finished run's model.json (backbone shape, labels, vocab, casing, max_seq_len). A run
    without metrics.json (still training, interrupted or diverged) has no tagger to use, unless
    `allow_unfinished` (`--allow-unfinished`): then an unfinished run's model.json is read too
    (training writes it before the first epoch); a diverged run's never."""
    path = Path(run_dir) / TAGGER_FILE
    unfinished = not is_finished_run(run_dir)
    if unfinished and is_diverged_run(run_dir):
        raise WdTrainError(f"{run_dir}: no {METRICS_FILE} (it diverged): a diverged run is "
                           "not a tagger to use, even with --allow-unfinished")
    if not path.exists():
        what = "an unfinished run that has not started its first epoch, or not a wd-train run" \
            if allow_unfinished else "not a finished wd-train run"
        raise WdTrainError(f"{run_dir}: no {TAGGER_FILE} ({what})")
    if unfinished and not allow_unfinished:
        raise WdTrainError(f"{run_dir}: no {METRICS_FILE} (unfinished or interrupted): not a "
                           "finished run (--allow-unfinished uses its latest weights)")
    return _read_record(path, TaggerFile, "model file")
