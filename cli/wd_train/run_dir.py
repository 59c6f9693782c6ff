"""A run directory: its file names, the "finished run" guard, and the two records a finished run
leaves for later steps, each one pydantic model written and read through it:

- `metrics.json` (`RunMetrics`): scores, schedule, times, data sizes. Written last: its presence
  is what marks a run as finished; `finished_at` orders runs (never file times).
- `model.json` (`TaggerFile`): what is needed to rebuild the tagger for `wd-train predict`.

Written by the training stage, read by the experiments (metrics) and by `use` (the tagger).
"""

from __future__ import annotations

import json
import shutil
from datetime import datetime, timezone
from pathlib import Path
from typing import Any

from pydantic import BaseModel, ConfigDict, ValidationError

from .errors import WdTrainError
from .evaluation import Scores
from .files import write_json_atomic
from .model.schedule import Schedule
from .model.tagger import BackboneSpec

CONFIG_FILE = "config.yaml"
METRICS_FILE = "metrics.json"  # written last: marks the run as finished
TAGGER_FILE = "model.json"
WEIGHTS_FILE = "weights.h5"
HISTORY_FILE = "history.csv"
LR_FILE = "lr.csv"
REPORT_FILE = "report.txt"
DEV_PREDICTIONS_FILE = "predictions.dev.conll"
TEST_PREDICTIONS_FILE = "predictions.conll"
RESUME_FOLDER = "checkpoint"  # epoch snapshots and state.json for --resume
TENSORBOARD_FOLDER = "tensorboard"


def now_iso() -> str:
    return datetime.now(timezone.utc).isoformat(timespec="milliseconds")


class Record(BaseModel):
    # Records written by an older or newer wd-train still read: unknown keys are ignored.
    model_config = ConfigDict(extra="ignore")


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
    versions: dict[str, str]
    train_seconds: float
    train_tokens: int
    train_tokens_per_s: float
    wall_seconds: float
    data: dict[str, SplitSize]
    labels: list[str]
    lowercase: bool
    run_dir: str
    # what made this run: the comparison variant (if any), the overrides, the config file
    variant: str | None = None
    overrides: dict[str, Any] = {}
    config_file: str | None = None
    finished_at: str | None = None  # ISO 8601, UTC; None only in runs older than the field


class TaggerFile(Record):
    """model.json: enough to rebuild the tagger and encode text as the run did."""

    backbone: BackboneSpec
    labels: list[str]
    head_dropout: float
    vocab: str
    lowercase: bool
    max_seq_len: int
    weights: str = WEIGHTS_FILE


def is_finished_run(path: Path) -> bool:
    return (Path(path) / METRICS_FILE).exists()


def prepare_run_dir(path: Path, overwrite: bool) -> Path:
    """Create the run directory; refuse to write over a finished run unless asked to."""
    path = Path(path)
    if path.exists() and not path.is_dir():
        raise WdTrainError(f"output.dir: {path} exists and is not a directory")
    if is_finished_run(path):
        if not overwrite:
            raise WdTrainError(
                f"output.dir: {path} already holds a finished run; pass --overwrite to replace "
                "it or --output-dir to write elsewhere"
            )
        # Remove the old run first so that nothing of it can be mistaken for the new one.
        # Only a folder marked as a finished run is ever deleted.
        (path / METRICS_FILE).unlink()
        shutil.rmtree(path)
    path.mkdir(parents=True, exist_ok=True)
    return path


def _read_record(path: Path, model: type[Record], what: str):
    try:
        return model.model_validate(json.loads(path.read_text(encoding="utf-8")))
    except (OSError, ValueError) as exc:  # ValidationError is a ValueError
        reason = (f"not a wd-train {what} ({exc.error_count()} problems, first: "
                  f"{'.'.join(map(str, exc.errors()[0]['loc']))}: {exc.errors()[0]['msg']})"
                  if isinstance(exc, ValidationError) else str(exc))
        raise WdTrainError(f"{path}: cannot read ({reason})") from None


def write_metrics(run_dir: Path, metrics: RunMetrics) -> None:
    write_json_atomic(Path(run_dir) / METRICS_FILE, metrics.model_dump(mode="json"))


def read_metrics(run_dir: Path) -> RunMetrics:
    return _read_record(Path(run_dir) / METRICS_FILE, RunMetrics, "metrics file")


def write_tagger_file(run_dir: Path, tagger: TaggerFile) -> None:
    write_json_atomic(Path(run_dir) / TAGGER_FILE, tagger.model_dump(mode="json"))


def read_tagger_file(run_dir: Path) -> TaggerFile:
    """A finished run's model.json (backbone shape, labels, vocab, casing, max_seq_len)."""
    path = Path(run_dir) / TAGGER_FILE
    if not path.exists():
        raise WdTrainError(f"{run_dir}: no {TAGGER_FILE} (not a finished wd-train run)")
    return _read_record(path, TaggerFile, "model file")
