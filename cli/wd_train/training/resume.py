"""Resuming an interrupted run (`--resume`): epoch snapshots and the resume state.

After every epoch the run directory's `checkpoint/` folder gets `epoch-N.*` (a snapshot of model
+ optimizer, whose step counter drives the schedule) and then `state.json` (written atomically,
last): the epochs so far, which snapshot is the last and which the best, and the batch sampler's
RNG state. A snapshot that `state.json` does not name is a leftover and is removed, so a run
killed while writing never leaves a state that points at half a snapshot. In the code
"checkpoint" means only the pretrained BERT folder of `model.checkpoint`; the folder on disk
keeps its name `checkpoint/` (what it holds are TensorFlow checkpoints, tf.train.Checkpoint's
files, and run directories written before keep resuming with no second name to look for).

Resuming restores all of that, so the rest of the run sees the same learning rates and the same
batches in the same order. TensorFlow's dropout masks are not part of the state: a resumed run is
close to, not bit-identical with, an uninterrupted one.
"""

from __future__ import annotations

import json
import re
import shutil
from dataclasses import asdict
from pathlib import Path
from typing import Any, Literal

import numpy as np
from pydantic import Field, field_serializer, model_validator

from ..errors import WdTrainError, short_reason
from ..files import loads_strict, write_json_atomic
from ..run_dir import RESUME_FOLDER, RESUME_STATE_FILE, Record, record_problem
from .loop import EpochRecord, FitResult, ResumePoint

STATE_FILE = RESUME_STATE_FILE
STATE_FORMAT = 1
# epoch-N.index, epoch-N.data-…, and epoch-N_temp/ (where TensorFlow writes before renaming)
_SNAPSHOT_FILE = re.compile(r"(epoch-\d+)(\.index|\.data-.*|_temp)$")


def _remove_snapshots(folder: Path, keep: set[str] = frozenset()) -> None:
    """Remove the epoch snapshots in `folder` whose name (epoch-N) is not in `keep`."""
    try:
        for path in folder.glob("epoch-*"):
            match = _SNAPSHOT_FILE.match(path.name)
            if match is None or (match.group(1) in keep and match.group(2) != "_temp"):
                continue
            if path.is_dir():
                shutil.rmtree(path)
            else:
                path.unlink()
    except OSError as exc:
        raise WdTrainError(f"{folder}: cannot remove an old epoch snapshot ({exc})") from None


def has_resume_state(run_dir: Path) -> bool:
    return (Path(run_dir) / RESUME_FOLDER / STATE_FILE).exists()


def clear_resume_state(run_dir: Path) -> None:
    """A fresh start: nothing of an earlier attempt may be resumed into this run (called before
    the new config.yaml is written, so that an old state never sits beside a new config)."""
    folder = Path(run_dir) / RESUME_FOLDER
    try:
        (folder / STATE_FILE).unlink(missing_ok=True)
    except OSError as exc:
        raise WdTrainError(f"{folder / STATE_FILE}: cannot remove ({exc})") from None
    _remove_snapshots(folder)


class ResumeState(Record):
    """state.json: what `--resume` continues from, beside the epoch snapshots it names."""

    format: Literal[STATE_FORMAT]
    steps: int  # the optimizer's step counter after the last epoch
    last: str  # the snapshots: the last epoch's (training goes on from it) and the best one's
    best: str
    best_epoch: int
    history: list[EpochRecord]
    rng: dict[str, Any]  # the batch sampler's bit generator state
    # what a run resumed into must match (ResumeStore)
    identity: dict[str, Any] = Field(default_factory=dict)

    @model_validator(mode="after")
    def _consistent(self) -> ResumeState:
        if not 1 <= self.best_epoch <= len(self.history):
            raise ValueError(f"best epoch {self.best_epoch} of {len(self.history)}")
        try:
            np.random.default_rng().bit_generator.state = self.rng
        except (TypeError, KeyError, ValueError) as exc:
            raise ValueError(f"rng: not a sampler state ({exc})") from None
        return self

    @field_serializer("history")
    def _with_reports(self, history: list[EpochRecord]) -> list[dict]:
        # the dev report goes along (Scores leaves it out): report.txt of a resumed run may
        # need a restored epoch's
        return [{**asdict(r), "dev": {**r.dev.model_dump(mode="json"), "report": r.dev.report}}
                for r in history]


class ResumeStore:
    """Writes and reads `run_dir/checkpoint/` (snapshots + state.json) for one model and
    optimizer."""

    def __init__(self, run_dir: Path, model, optimizer, identity: dict):
        """`identity`: what must not change between a run and its resumption beyond its config
        (the schedule's step counts, the number of training windows: data files may change)."""
        import tensorflow as tf

        self.folder = Path(run_dir) / RESUME_FOLDER
        self.model = model
        self.optimizer = optimizer
        self.identity = json.loads(json.dumps(identity))  # as it will read back from JSON
        self._full = tf.train.Checkpoint(model=model, optimizer=optimizer)
        self._model_only = tf.train.Checkpoint(model=model)
        self._saved: set[str] = set()  # the snapshots the current state.json names
        self._last: str | None = None  # the last of them

    @property
    def state_path(self) -> Path:
        return self.folder / STATE_FILE

    def save(self, result: FitResult, rng: np.random.Generator) -> None:
        """Snapshot the epoch just finished; on a full disk or another write error, remove
        what was half written (TensorFlow's `_temp` folder) and keep the previous state."""
        import tensorflow as tf

        epoch = result.history[-1].epoch
        try:
            self._write_state(result, rng, epoch)
        except (OSError, tf.errors.OpError) as exc:
            try:
                _remove_snapshots(self.folder, keep=self._saved)
            except WdTrainError:
                pass  # the write error below is the one to report
            previous = (f"--resume continues after {self._last}" if self._last
                        else "no earlier epoch to resume from")
            raise WdTrainError(f"{self.folder}: cannot write the epoch-{epoch} snapshot "
                               f"({short_reason(exc)}); {previous}") from None

    def _write_state(self, result: FitResult, rng: np.random.Generator, epoch: int) -> None:
        self._full.write(str(self.folder / f"epoch-{epoch}"))
        state = ResumeState(
            format=STATE_FORMAT, steps=int(self.optimizer.iterations.numpy()),
            last=f"epoch-{epoch}", best=f"epoch-{result.best_epoch}",
            best_epoch=result.best_epoch, history=result.history,
            rng=rng.bit_generator.state, identity=self.identity)
        write_json_atomic(self.state_path, state.model_dump(mode="json"))
        self._saved, self._last = {state.last, state.best}, state.last
        _remove_snapshots(self.folder, keep=self._saved)

    def restore(self, predict_dev) -> ResumePoint | None:
        """Load the last epoch's model and optimizer state; None when there is nothing to
        resume. `predict_dev()` returns the dev predictions of the model's current weights."""
        if not self.state_path.exists():
            return None
        try:
            # strict: NaN or Infinity in a damaged state.json is refused, not restored
            state = ResumeState.model_validate(
                loads_strict(self.state_path.read_text(encoding="utf-8")))
        except (OSError, ValueError) as exc:  # ValidationError is a ValueError
            raise WdTrainError(f"{self.state_path}: cannot resume from it "
                               f"({record_problem(exc, 'resume state')}); pass --overwrite to "
                               "start the run again") from None
        last, best, saved = state.last, state.best, state.identity
        if saved != self.identity:
            # the data first: one sentence fewer changes the schedule's length too
            order = ["train_windows", "variables", "schedule",
                     *sorted(self.identity.keys() | saved.keys())]
            key = next((k for k in order if saved.get(k) != self.identity.get(k)), "?")
            what = {"variables": "another network (model.head, sizes)",
                    "schedule": "another schedule", "train_windows": "other data"}.get(key, key)
            raise WdTrainError(
                f"{self.state_path}: the run was started with {what}; its snapshot cannot be "
                "resumed into this one; pass --overwrite to start the run again")
        import tensorflow as tf

        try:
            # The best epoch's weights (often the last's) and their dev predictions first, then
            # the last epoch's model and optimizer, from which training goes on.
            self._model_only.read(str(self.folder / best)).expect_partial()
            best_weights = [w.copy() for w in self.model.get_weights()]
            best_dev_predictions = predict_dev()
            # the optimizer's slots and hyperparameters exist before reading, so that they are
            # restored now rather than left pending (TensorFlow warns about pending ones)
            inner = getattr(self.optimizer, "inner_optimizer", self.optimizer)  # loss scaling
            inner._create_all_weights(self.model.trainable_variables)
            self._full.read(str(self.folder / last)).assert_existing_objects_matched()
        except (tf.errors.OpError, ValueError, IndexError, KeyError, AssertionError) as exc:
            raise WdTrainError(f"{self.folder}: cannot read snapshot {last} or {best} "
                               f"({getattr(exc, 'message', exc)}); pass --overwrite to start "
                               "the run again") from None
        if int(self.optimizer.iterations.numpy()) != state.steps:
            raise WdTrainError(f"{self.folder}/{last}: optimizer at step "
                               f"{int(self.optimizer.iterations.numpy())}, {STATE_FILE} says "
                               f"{state.steps}; pass --overwrite to start the run again")
        self._saved, self._last = {last, best}, last
        result = FitResult(history=state.history, best_epoch=state.best_epoch,
                           best_weights=best_weights, best_dev_predictions=best_dev_predictions)
        return ResumePoint(result, state.rng)
