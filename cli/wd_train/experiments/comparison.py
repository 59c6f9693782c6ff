"""A comparison: every variant × seed of a config's `compare` section as its own run directory,
`<output.dir>/<variant>/seed-<N>/`, then the summary in `output.dir`. `--variant`/`--seed` pick
cells, so one config can drive a sweep over processes.

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
from collections.abc import Callable, Sequence
from dataclasses import dataclass
from pathlib import Path
from typing import Any

from ..config import (
    Config,
    apply_override,
    apply_overrides,
    parse_override,
    read_config,
    require_same_config,
    validate,
)
from ..errors import WdTrainError
from ..run_dir import RunMetrics, is_finished_run, read_metrics, write_metrics
from .gate import GateResult, check_groups, gated
from .grouping import group_results
from .results import ResultLine, result_from_run_dir, result_line
from .summary import Summary, build_summary, write_summary

log = logging.getLogger(__name__)

# Trains one cell: (its config, variant=…, overrides=…) → its metrics.json.
TrainCell = Callable[..., RunMetrics]


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
class ComparisonResult:
    summary: Summary | None = None  # None when one cell was run on its own
    single_cell: RunMetrics | None = None  # that cell
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


def _adopt(cell: Cell) -> RunMetrics:
    """A reused cell's metrics.json, marked as this variant's if it was made outside the
    comparison (e.g. by `--output-dir DIR/constant/seed-1 --set optimizer.schedule=constant`):
    `require_same_config` proved it is this cell's config. Its finish time is kept."""
    metrics = read_metrics(cell.run_dir)
    if metrics.variant != cell.variant:
        metrics.variant, metrics.overrides = cell.variant, cell.overrides
        write_metrics(cell.run_dir, metrics)
    return metrics


def run_comparison(config_path: Path, config: Config, set_texts: Sequence[str], *,
                   variant: str | None, seed: int | None, train: TrainCell,
                   overwrite: bool) -> ComparisonResult:
    """Run (or reuse) the selected cells, then summarise them; `train` runs one cell."""
    compare = config.compare
    assert compare is not None
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
    log.info(f"comparison: {len(compare.variants)} variants × {len(compare.seeds)} seeds in "
             f"{config.output.dir}" + (f"; running {len(cells)} of its runs" if selected else ""))

    results: list[ResultLine] = []
    last_metrics = None
    for number, cell in enumerate(cells, start=1):
        where = f"[{number}/{len(cells)}] {cell.variant}, seed {cell.seed}"
        if not overwrite and is_finished_run(cell.run_dir):
            require_same_config(cell.run_dir, cell.config, holds="a finished run",
                                redo="redo the comparison's runs")
            log.info(f"{where}: finished run reused ({cell.run_dir})")
            last_metrics = _adopt(cell)
            results.append(result_from_run_dir(cell.run_dir))
            continue
        log.info(f"{where} → {cell.run_dir}")
        last_metrics = train(cell.config, variant=cell.variant, overrides=cell.overrides)
        results.append(result_line(last_metrics))

    if len(cells) == 1 and selected:
        return ComparisonResult(single_cell=last_metrics)

    groups = group_results(results, order=list(compare.variants))
    baseline = compare.baseline
    if baseline is not None and baseline not in groups:  # --variant left it out
        baseline = None
        log.info(f"compare.baseline {compare.baseline} is not among the variants run: the "
                 "differences printed are against another")
    summary = build_summary(groups, baseline=baseline)
    summary.config = str(Path(config_path).resolve())
    gate = failure = None
    if config.gate is not None:
        gate_config = config.gate
        gate, failure = gated(lambda: check_groups(gate_config, groups))
        if gate is not None:
            summary.gate = gate.details
    if selected:
        log.info("only some of the comparison's runs: summary printed, not written (run "
                 f"`wd-train report {config.output.dir}` when every run is done)")
    else:
        write_summary(config.output.dir, summary, groups)
    return ComparisonResult(summary=summary, gate=gate, failure=failure)
