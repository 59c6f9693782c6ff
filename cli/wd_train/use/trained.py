"""A finished run's tagger, rebuilt from its run directory (model.json + weights.h5)."""

from __future__ import annotations

from pathlib import Path

from ..errors import WdTrainError
from ..model.tagger import rebuild_tagger
from ..run_dir import TaggerFile, read_tagger_file


def load_trained(run_dir: Path | str, tagger: TaggerFile | None = None
                 ) -> tuple[object, TaggerFile]:
    """Rebuild a finished run's tagger with its best weights. Returns (model, model.json).
    `tagger`: the run's model.json when the caller has read it already (read once)."""
    run_dir = Path(run_dir)
    if tagger is None:
        tagger = read_tagger_file(run_dir)
    model = rebuild_tagger(tagger.backbone, len(tagger.labels), tagger.head_dropout,
                           tagger.head, tagger.lstm_units)
    weights = run_dir / tagger.weights
    if not weights.exists():
        raise WdTrainError(f"{weights}: weights file not found (an unfinished or damaged run)")
    try:
        model.load_weights(str(weights))
    except (OSError, ValueError) as exc:
        raise WdTrainError(f"{weights}: cannot load ({exc})") from None
    return model, tagger


def decoding_constraints(tagger: TaggerFile, constrained: bool | None = None):
    """The scheme's constraints when decoding is constrained, else None. `constrained`: None
    decodes as the run did (its model.constrained_decoding); True or False overrides it, which
    changes no weight: constraints only restrict the decoder (model/decoding.py)."""
    if not (tagger.constrained_decoding if constrained is None else constrained):
        return None
    from ..model.decoding import scheme_constraints

    return scheme_constraints(tagger.labels, tagger.scheme)
