"""Run what a config asks for: one run, or — when it has a `compare` section — every variant ×
seed as its own run directory, `<output.dir>/<variant>/seed-<N>/`, then the summary in
`output.dir`. `--variant`/`--seed` pick cells, so one config can drive a sweep over processes.

A cell whose run directory already holds a finished run of the same config is reused, so an
interrupted comparison resumes where it stopped; a finished cell made from a different config is
an error (never silently mixed in), `--overwrite` redoes every cell.

Override order in a cell: the config file, then the variant's overrides, then `--set` (the
command line wins), then the cell's own seed and run directory.
"""

from __future__ import annotations

import copy
import json
import logging
import os
from collections.abc import Callable, Sequence
from dataclasses import dataclass
from pathlib import Path
from typing import Any

from .config import (
    Config,
    GateConfig,
    apply_override,
    apply_overrides,
    differing_key,
    load_config,
    parse_override,
    read_config,
    validate,
)
from .errors import GateFailed, WdTrainError
from .gate import GateResult, check_groups, check_run
from .report import metrics_table
from .results import append_record, make_record, record_from_run_dir
from .rundir import FINISHED_MARKER, is_finished_run, write_json_atomic
from .summary import build_summary, group_records, summary_markdown, write_summary
from .train import Progress

Log = Callable[[str], None]


def _quiet(_: str) -> None:
    pass


@dataclass
class Cell:
    variant: str
    seed: int
    overrides: dict[str, Any]  # the variant's, then --set
    config: Config

    @property
    def run_dir(self) -> Path:
        return self.config.output.dir


@dataclass
class Outcome:
    """What the CLI prints: `result` (metrics.json of a run, or a comparison's summary) as JSON
    or `text` as a table; then the gate's line, and `failure` for the exit code."""

    result: dict
    text: str
    gate: GateResult | None = None
    failure: WdTrainError | None = None


def overrides_dict(texts: Sequence[str]) -> dict[str, Any]:
    """`--set` texts as dotted key → value (JSON-safe, for results lines)."""
    parsed = {}
    for text in texts:
        keys, value = parse_override(text)
        parsed[".".join(keys)] = json.loads(json.dumps(value, default=str))
    return parsed


def plan_cells(config_path: Path, config: Config, set_texts: Sequence[str]) -> list[Cell]:
    """Every variant × seed of `config.compare`, each validated before anything runs (seed-major,
    so an interrupted comparison has whole pairs)."""
    compare = config.compare
    assert compare is not None
    if any(parse_override(t)[0] == ["training", "seed"] for t in set_texts):
        raise WdTrainError("--set training.seed: a comparison takes its seeds from "
                           "compare.seeds (use --seed N for one cell, or --set compare.seeds=[N])")
    file_raw = read_config(config_path)
    config_dir = Path(config_path).resolve().parent
    cli = overrides_dict(set_texts)
    cells = []
    for seed in compare.seeds:
        for name, variant_overrides in compare.variants.items():
            source = f"{config_path}: compare.variants.{name}"
            raw = copy.deepcopy(file_raw)
            try:
                for dotted, value in variant_overrides.items():
                    apply_override(raw, dotted.split("."), value, path_base=config_dir)
            except WdTrainError as exc:
                raise WdTrainError(f"{source}: {exc}") from None
            apply_overrides(raw, set_texts)
            for section in ("compare", "gate"):  # the comparison's, not a cell's
                raw.pop(section, None)
            apply_override(raw, ["training", "seed"], seed, path_base=None)
            apply_override(raw, ["output", "dir"], str(config.output.dir / name / f"seed-{seed}"),
                           path_base=None)
            cells.append(Cell(name, seed, {**variant_overrides, **cli}, validate(raw, source)))
    return cells


def _check_reusable(cell: Cell) -> None:
    """A finished cell may stand in for this one only if it ran the same config."""
    difference = differing_key(cell.run_dir / "config.yaml", cell.config)
    if difference is not None:
        key, there, now = difference
        raise WdTrainError(
            f"output.dir: {cell.run_dir} holds a finished run of another config ({key}: "
            f"{there!r} there, {now!r} now); pass --overwrite to redo the "
            "comparison's runs or --output-dir to write elsewhere"
        )


class _NewRunRetraceFilter(logging.Filter):
    """Every run in a process builds fresh tf.functions around the same Python functions, which
    TensorFlow counts as retracing and warns about from the third run on: noise in a comparison."""

    def filter(self, record: logging.LogRecord) -> bool:
        return "triggered tf.function retracing" not in record.getMessage()


_RETRACE_FILTER = _NewRunRetraceFilter()


def _adopt(cell: Cell) -> dict:
    """A reused cell's metrics.json, marked as this variant's if it was made outside the
    comparison (e.g. by `--output-dir DIR/constant/seed-1 --set optimizer.schedule=constant`):
    `_check_reusable` proved it is this cell's config. Its finish time is kept."""
    path = cell.run_dir / FINISHED_MARKER
    metrics = json.loads(path.read_text(encoding="utf-8"))
    if metrics.get("variant") != cell.variant:
        finished = path.stat()
        metrics.update(variant=cell.variant, overrides=cell.overrides)
        write_json_atomic(path, metrics)
        os.utime(path, ns=(finished.st_atime_ns, finished.st_mtime_ns))
    return metrics


def _train(config: Config, annotations: dict, results: Path | None, overwrite: bool,
           resume: bool, log: Log, progress: Progress | None) -> dict:
    from .run import train_run  # TensorFlow comes with it

    logging.getLogger("tensorflow").addFilter(_RETRACE_FILTER)  # a second add is a no-op
    metrics = train_run(config, overwrite=overwrite, resume=resume, log=log, progress=progress,
                        annotations=annotations)
    if results is not None:
        append_record(results, make_record(metrics))
    return metrics


def _gated(check: Callable[[], GateResult]) -> tuple[GateResult | None, WdTrainError | None]:
    """(the gate's result, the error the CLI exits with): a failed gate, or a metric that the
    runs do not have."""
    try:
        result = check()
    except WdTrainError as exc:
        return None, exc
    return result, None if result.passed else GateFailed("\n".join(result.lines))


def _run_outcome(gate: GateConfig | None, metrics: dict) -> Outcome:
    if gate is None:
        return Outcome(metrics, metrics_table(metrics))
    result, failure = _gated(lambda: check_run(gate, metrics))
    shown = {**metrics, "gate": result.details} if result else metrics
    return Outcome(shown, metrics_table(metrics), result, failure)


def run_config(
    config_path: Path,
    set_texts: Sequence[str] = (),
    *,
    output_dir: Path | None = None,
    variant: str | None = None,
    seed: int | None = None,
    results: Path | None = None,
    min_f1: float | None = None,
    overwrite: bool = False,
    resume: bool = False,
    log: Log = _quiet,
    progress: Progress | None = None,
) -> Outcome:
    """`wd-train CONFIG`: a single run, one comparison cell, or the whole comparison.
    `resume`: runs interrupted after an epoch continue from it (see checkpoint.py)."""
    set_texts = list(set_texts)
    if resume and overwrite:
        raise WdTrainError("--resume and --overwrite: choose one (continue a run, or redo it)")
    if min_f1 is not None and not 0.0 <= min_f1 <= 1.0:
        raise WdTrainError(f"--min-f1 {min_f1:g}: expected an F1 between 0 and 1")
    extra = [f"output.dir={Path(output_dir).resolve()}"] if output_dir else []
    if min_f1 is not None:
        extra.append(f"gate.min={min_f1!r}")
    config, _ = load_config(config_path, [*set_texts, *extra])
    annotations = {"variant": None, "overrides": overrides_dict(set_texts),
                   "config_file": str(Path(config_path).resolve())}

    if config.compare is None:
        if variant is not None or seed is not None:
            raise WdTrainError(f"{'--variant' if variant is not None else '--seed'}: "
                               f"{config_path} has no compare section (for a plain run use "
                               "--set training.seed=N)")
        return _run_outcome(config.gate, _train(config, annotations, results, overwrite, resume,
                                                log, progress))

    compare = config.compare
    if variant is not None and variant not in compare.variants:
        raise WdTrainError(f"--variant {variant}: not in compare.variants "
                           f"({', '.join(compare.variants)})")
    if seed is not None and seed not in compare.seeds:
        raise WdTrainError(f"--seed {seed}: not in compare.seeds "
                           f"({', '.join(map(str, compare.seeds))})")
    if is_finished_run(config.output.dir):
        raise WdTrainError(f"output.dir: {config.output.dir} holds a single finished run; a "
                           "comparison needs a folder of its own (--output-dir)")
    cells = [c for c in plan_cells(Path(config_path), config, set_texts)
             if variant in (None, c.variant) and seed in (None, c.seed)]
    selected = variant is not None or seed is not None
    log(f"comparison: {len(compare.variants)} variants × {len(compare.seeds)} seeds in "
        f"{config.output.dir}" + (f"; running {len(cells)} of its runs" if selected else ""))

    records, last_metrics = [], None
    for number, cell in enumerate(cells, start=1):
        where = f"[{number}/{len(cells)}] {cell.variant}, seed {cell.seed}"
        if not overwrite and is_finished_run(cell.run_dir):
            _check_reusable(cell)
            log(f"{where}: finished run reused ({cell.run_dir})")
            last_metrics = _adopt(cell)
            records.append(record_from_run_dir(cell.run_dir))
            continue
        log(f"{where} → {cell.run_dir}")
        last_metrics = _train(cell.config, {**annotations, "variant": cell.variant,
                                            "overrides": cell.overrides},
                              results, overwrite, resume, log, progress)
        records.append(make_record(last_metrics))

    if len(cells) == 1 and selected:  # one cell: an ordinary run, gated as one
        return _run_outcome(config.gate, last_metrics)

    groups = group_records(records, order=list(compare.variants))
    summary = build_summary(groups)
    summary["config"] = str(Path(config_path).resolve())
    gate = failure = None
    if config.gate is not None:
        gate_config = config.gate
        gate, failure = _gated(lambda: check_groups(gate_config, groups))
        if gate is not None:
            summary["gate"] = gate.details
    if selected:
        log("only some of the comparison's runs: summary printed, not written (run "
            f"`wd-train report {config.output.dir}` when every run is done)")
    else:
        write_summary(config.output.dir, summary, groups, log)
    return Outcome(summary, summary_markdown(summary), gate, failure)
