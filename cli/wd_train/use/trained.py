"""A run's tagger, rebuilt from its run directory: model.json and, for a finished run, its best
weights (weights.h5); for an unfinished one (`--allow-unfinished`) its latest weights."""

from __future__ import annotations

import logging
import re
from pathlib import Path

from ..errors import WdTrainError
from ..files import loads_strict
from ..model.tagger import rebuild_tagger
from ..run_dir import (
    METRICS_FILE,
    RESUME_FOLDER,
    RESUME_STATE_FILE,
    TaggerFile,
    is_finished_run,
    read_tagger_file,
)

log = logging.getLogger(__name__)

_SNAPSHOT = re.compile(r"epoch-(\d{1,9})")


def load_trained(run_dir: Path | str, tagger: TaggerFile | None = None,
                 allow_unfinished: bool = False) -> tuple[object, TaggerFile]:
    """Rebuild a run's tagger with its weights. Returns (model, model.json). A finished run
    gives its best weights; an unfinished one (only with `allow_unfinished`) its latest, with
    a warning line saying which. `tagger`: the run's model.json when the caller has read it
    already (read once)."""
    run_dir = Path(run_dir)
    if tagger is None:
        tagger = read_tagger_file(run_dir, allow_unfinished=allow_unfinished)
    model = rebuild_tagger(tagger.backbone, len(tagger.labels), tagger.head_dropout,
                           tagger.head, tagger.lstm_units)
    weights = tagger.weights_path(run_dir)
    if is_finished_run(run_dir) or weights.is_file():
        _load_h5(model, weights)
        if not is_finished_run(run_dir):
            log.warning(f"warning: {run_dir}: an unfinished run (no {METRICS_FILE}): using "
                        f"{weights.name}, written when its training ended; it has no scores")
        return model, tagger
    snapshot = _latest_snapshot(run_dir)
    _load_snapshot(model, snapshot)
    log.warning(f"warning: {run_dir}: an unfinished run (no {METRICS_FILE}): using its latest "
                f"epoch snapshot, {RESUME_FOLDER}/{snapshot.name}, not a finished run's best weights")
    return model, tagger


def _load_h5(model, weights: Path) -> None:
    if not weights.exists():
        raise WdTrainError(f"{weights}: weights file not found (an unfinished or damaged run)")
    if not weights.is_file():
        raise WdTrainError(f"{weights}: not a regular file; expected the run's weights")
    try:
        model.load_weights(str(weights))
    except (OSError, ValueError) as exc:
        raise WdTrainError(f"{weights}: cannot load ({str(exc)[:120]})") from None


def _latest_snapshot(run_dir: Path) -> Path:
    """The epoch snapshot checkpoint/state.json names as the last (a name, never a path)."""
    state_path = run_dir / RESUME_FOLDER / RESUME_STATE_FILE
    if not state_path.is_file():
        raise WdTrainError(f"{run_dir}: an unfinished run without weights yet (no weights.h5, "
                           f"no epoch snapshot in {RESUME_FOLDER}/): nothing to tag with")
    try:
        last = loads_strict(state_path.read_text(encoding="utf-8"))["last"]
    except (OSError, ValueError, KeyError, TypeError) as exc:
        raise WdTrainError(f"{state_path}: cannot read ({type(exc).__name__}: "
                           f"{str(exc)[:80]})") from None
    if not isinstance(last, str) or not _SNAPSHOT.fullmatch(last):
        raise WdTrainError(f"{state_path}: last {str(last)[:80]!r} is not an epoch snapshot "
                           "of the run directory")
    return run_dir / RESUME_FOLDER / last


def _load_snapshot(model, snapshot: Path) -> None:
    """The model's variables from an epoch snapshot (model + optimizer; the optimizer's part
    is not needed here). Every variable of the model must be found in it."""
    import tensorflow as tf

    try:
        status = tf.train.Checkpoint(model=model).read(str(snapshot))
        status.assert_existing_objects_matched().expect_partial()
    except (tf.errors.OpError, ValueError, AssertionError) as exc:
        reason = getattr(exc, "message", None) or str(exc)
        raise WdTrainError(f"{snapshot}: cannot read the epoch snapshot "
                           f"({reason.splitlines()[0][:120] if reason else type(exc).__name__})"
                           ) from None


def decoding_constraints(tagger: TaggerFile, constrained: bool | None = None):
    """The scheme's constraints when decoding is constrained, else None. `constrained`: None
    decodes as the run did (its model.constrained_decoding); True or False overrides it, which
    changes no weight: constraints only restrict the decoder (model/decoding.py)."""
    if not (tagger.constrained_decoding if constrained is None else constrained):
        return None
    from ..model.decoding import scheme_constraints

    return scheme_constraints(tagger.labels, tagger.scheme)
