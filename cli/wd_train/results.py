"""Results lines: one flat JSON object per finished run, appended to a shared file (`--results`),
and read back — from results files or from run directories — by `wd-train report`.

A line: variant, seed, overrides (dotted key → value), dev/test scores, best epoch, times, run
directory, config file, finish time. `jq -r '[.variant, .seed, .test.f1] | @tsv'` reads it.
"""

from __future__ import annotations

import json
from datetime import datetime, timezone
from pathlib import Path

from .errors import WdTrainError
from .rundir import FINISHED_MARKER, append_result_line

REQUIRED_KEYS = ("seed", "dev", "run_dir")


def _now() -> str:
    return datetime.now(timezone.utc).isoformat(timespec="seconds")


def _scores(scores: dict | None) -> dict | None:
    if scores is None:
        return None
    return {key: scores[key] for key in ("precision", "recall", "f1", "per_type") if key in scores}


def make_record(metrics: dict, *, finished_at: str | None = None) -> dict:
    """The results line of a run, from its metrics.json (annotated by the runner, if it was)."""
    return {
        "variant": metrics.get("variant"),
        "seed": metrics["seed"],
        "overrides": metrics.get("overrides") or {},
        "dev": _scores(metrics["dev"]),
        "test": _scores(metrics.get("test")),
        "best_epoch": metrics.get("best_epoch"),
        "epochs_run": metrics.get("epochs_run"),
        "schedule": (metrics.get("schedule") or {}).get("name"),
        "train_seconds": metrics.get("train_seconds"),
        "train_tokens_per_s": metrics.get("train_tokens_per_s"),
        "wall_seconds": metrics.get("wall_seconds"),
        "run_dir": metrics["run_dir"],
        "config": metrics.get("config_file"),
        "finished_at": finished_at or _now(),
    }


def append_record(path: Path, record: dict) -> None:
    """Append one results line (whole, even with many writers: the file is locked)."""
    append_result_line(Path(path), record)


def record_from_run_dir(run_dir: Path) -> dict:
    run_dir = Path(run_dir)
    marker = run_dir / FINISHED_MARKER
    try:
        metrics = json.loads(marker.read_text(encoding="utf-8"))
    except (OSError, ValueError) as exc:
        raise WdTrainError(f"{marker}: cannot read ({exc})") from None
    metrics["run_dir"] = str(run_dir.resolve())  # where it is now, even if it was moved
    finished = datetime.fromtimestamp(marker.stat().st_mtime, timezone.utc)
    return make_record(metrics, finished_at=finished.isoformat(timespec="seconds"))


def _records_from_file(path: Path) -> list[dict]:
    try:
        lines = path.read_text(encoding="utf-8").splitlines()
    except (OSError, UnicodeDecodeError) as exc:
        raise WdTrainError(f"{path}: cannot read results file ({exc})") from None
    records = []
    for number, line in enumerate(lines, start=1):
        if not line.strip():
            continue
        try:
            record = json.loads(line)
        except ValueError:
            raise WdTrainError(f"{path}:{number}: not a JSON line") from None
        if not isinstance(record, dict) or any(key not in record for key in REQUIRED_KEYS):
            raise WdTrainError(f"{path}:{number}: not a wd-train results line (expected keys "
                               f"{', '.join(REQUIRED_KEYS)})")
        records.append(record)
    return records


def load_records(inputs: list[Path]) -> list[dict]:
    """Records from results files, run directories and folders holding run directories (a
    comparison). A run directory met twice (a rerun appended again) counts once: its last line,
    in the place of its first."""
    by_run_dir: dict[str, dict] = {}
    for path in map(Path, inputs):
        if path.is_file():
            found = _records_from_file(path)
        elif (path / FINISHED_MARKER).is_file():
            found = [record_from_run_dir(path)]
        elif path.is_dir():
            # In finishing order, as a results file would list them (so a comparison's
            # variants come in the order it ran them).
            markers = sorted(path.rglob(FINISHED_MARKER),
                             key=lambda marker: (marker.stat().st_mtime, str(marker)))
            found = [record_from_run_dir(marker.parent) for marker in markers]
            if not found:
                raise WdTrainError(f"{path}: no finished runs in this folder (no "
                                   f"{FINISHED_MARKER} below it)")
        else:
            raise WdTrainError(f"{path}: no such results file or run directory")
        for record in found:
            key = str(Path(record["run_dir"]).resolve())
            by_run_dir[key] = record
    if not by_run_dir:
        raise WdTrainError(f"{', '.join(map(str, inputs))}: no results lines")
    return list(by_run_dir.values())
