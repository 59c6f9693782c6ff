"""Results lines: one flat JSON object per run with a result (`ResultLine`: finished or
diverged), appended to a shared file (`--results`), and read back — from results files or
from run directories — by `wd-train report`.

A line: variant, seed, overrides (dotted key → value), grid point, status (`finished`, or
`diverged` with where), dev/test scores, best epoch, times, run directory, config file, finish
time, code version. `jq -r '[.variant, .seed, .test.f1] | @tsv'` reads it.
"""

from __future__ import annotations

import json
from pathlib import Path
from typing import Any, Literal

from pydantic import BaseModel, ConfigDict, Field, ValidationError, model_validator

from ..errors import WdTrainError
from ..evaluation import Scores
from ..files import append_line_locked, loads_strict, to_json
from ..run_dir import (
    DIVERGED_FILE,
    METRICS_FILE,
    DivergedRun,
    RunMetrics,
    has_result,
    is_diverged_run,
    read_diverged,
    read_metrics,
)

MAX_FIGURE = 1e12  # a bound on times (s) and speeds (tokens/s) that no real run comes near


class DivergedAt(BaseModel):
    """Where a diverged run broke: epoch, step (1-based), the learning rate there, the loss."""

    model_config = ConfigDict(extra="ignore", allow_inf_nan=False)

    epoch: int
    step: int
    lr: float
    loss: float | None = None  # None: not finite


class ResultLine(BaseModel):
    """One finished run, as a results line and as the unit every summary is built from."""

    # every number finite: a results line is summarised into strict JSON
    model_config = ConfigDict(extra="ignore", allow_inf_nan=False)

    variant: str | None = None
    seed: int
    overrides: dict[str, Any] = {}
    grid: dict[str, Any] = {}  # the comparison's grid point, if any
    # finished: scored; diverged: no scores, `diverged` says where (a result all the same)
    status: Literal["finished", "diverged"] = "finished"
    diverged: DivergedAt | None = None
    degenerate: bool = False  # finished, but predicted no entity on dev (see RunMetrics)
    dev: Scores | None = None
    test: Scores | None = None
    best_epoch: int | None = None
    epochs_run: int | None = None
    schedule: str | None = None
    # bounded, so that sums and squares in the summary's statistics stay finite
    train_seconds: float | None = Field(None, ge=0.0, le=MAX_FIGURE)
    train_tokens_per_s: float | None = Field(None, ge=0.0, le=MAX_FIGURE)
    wall_seconds: float | None = Field(None, ge=0.0, le=MAX_FIGURE)
    peak_rss_mib: float | None = Field(None, ge=0.0, le=MAX_FIGURE)
    run_dir: str
    config: str | None = None
    finished_at: str | None = None  # ISO 8601, UTC: orders runs
    code_version: str | None = None
    resolved_config: dict[str, Any] | None = None  # None in lines older than the field

    @model_validator(mode="after")
    def _scored_when_finished(self) -> ResultLine:
        if self.status == "finished" and self.dev is None:
            raise ValueError("a finished run's line needs its dev scores")
        if self.status == "diverged" and self.diverged is None:
            raise ValueError("a diverged run's line needs where it diverged")
        return self

    @property
    def finished(self) -> bool:
        return self.status == "finished"


def result_line(metrics: RunMetrics) -> ResultLine:
    """The results line of a run, from its metrics.json: every field the two records share,
    plus the schedule's name and the config file."""
    shared = (set(ResultLine.model_fields) & set(RunMetrics.model_fields)) - {"schedule"}
    return ResultLine(**metrics.model_dump(include=shared), schedule=metrics.schedule.name,
                      config=metrics.config_file)


def diverged_line(record: DivergedRun) -> ResultLine:
    """The results line of a run that diverged, from its diverged.json."""
    return ResultLine(
        variant=record.variant, seed=record.seed, overrides=record.overrides, grid=record.grid,
        status="diverged",
        diverged=DivergedAt(epoch=record.epoch, step=record.step, lr=record.lr,
                            loss=record.loss),
        schedule=record.schedule.name, run_dir=record.run_dir, config=record.config_file,
        finished_at=record.finished_at, code_version=record.code_version,
        resolved_config=record.resolved_config)


def append_result(path: Path, line: ResultLine) -> None:
    """Append one results line (whole, even with many writers: the file is locked)."""
    data = line.model_dump(mode="json")
    append_line_locked(Path(path), to_json(data, sort_keys=True))


def result_from_run_dir(run_dir: Path) -> ResultLine:
    """A finished or a diverged run's line, from its run directory."""
    run_dir = Path(run_dir)
    if is_diverged_run(run_dir):
        line = diverged_line(read_diverged(run_dir))
    else:
        line = result_line(read_metrics(run_dir))
    line.run_dir = str(run_dir.resolve())  # where it is now, even if it was moved
    return line


def _results_from_file(path: Path) -> list[ResultLine]:
    try:
        lines = path.read_text(encoding="utf-8").splitlines()
    except (OSError, UnicodeDecodeError) as exc:
        raise WdTrainError(f"{path}: cannot read results file ({exc})") from None
    results = []
    for number, text in enumerate(lines, start=1):
        if not text.strip():
            continue
        try:
            data = loads_strict(text)
        except ValueError as exc:  # NaN, Infinity: a summary must stay valid JSON
            reason = str(exc) if not isinstance(exc, json.JSONDecodeError) else exc.msg.lower()
            raise WdTrainError(f"{path}:{number}: not a JSON line ({reason[:80]})") from None
        try:
            results.append(ResultLine.model_validate(data))
        except ValidationError as exc:
            first = exc.errors()[0]
            where = ".".join(map(str, first["loc"])) or "(line)"
            raise WdTrainError(f"{path}:{number}: not a wd-train results line ({where}: "
                               f"{first['msg'].lower()})") from None
    return results


def _finish_order(line: ResultLine) -> tuple[str, str]:
    # Runs older than the finished_at field sort first, by path.
    return (line.finished_at or "", line.run_dir)


def load_results(inputs: list[Path]) -> list[ResultLine]:
    """Results from results files, run directories and folders holding run directories (a
    comparison). A run directory met twice (a rerun appended again) counts once: its last line,
    in the place of its first."""
    by_run_dir: dict[str, ResultLine] = {}
    for path in map(Path, inputs):
        if path.is_file():
            found = _results_from_file(path)
        elif has_result(path):
            found = [result_from_run_dir(path)]
        elif path.is_dir():
            # In finishing order, as a results file would list them (so a comparison's
            # variants come in the order it ran them).
            markers = sorted({marker.parent for name in (METRICS_FILE, DIVERGED_FILE)
                              for marker in path.rglob(name)})
            found = sorted((result_from_run_dir(folder) for folder in markers
                            if has_result(folder)), key=_finish_order)
            if not found:
                raise WdTrainError(f"{path}: no finished runs in this folder (no "
                                   f"{METRICS_FILE} below it)")
        else:
            raise WdTrainError(f"{path}: no such results file or run directory")
        for line in found:
            key = str(Path(line.run_dir).resolve())
            by_run_dir[key] = line
    if not by_run_dir:
        raise WdTrainError(f"{', '.join(map(str, inputs))}: no results lines")
    return list(by_run_dir.values())
