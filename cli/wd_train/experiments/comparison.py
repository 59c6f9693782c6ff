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
import shlex
from collections.abc import Callable, Sequence
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import yaml

from ..config import (
    Config,
    apply_override,
    apply_overrides,
    parse_override,
    read_config,
    require_same_config,
    validate,
)
from ..errors import TrainingDiverged, WdTrainError
from ..run_dir import (
    DIVERGED_FILE,
    RunMetrics,
    RunOrigin,
    has_result,
    is_diverged_run,
    is_finished_run,
    read_diverged,
    read_metrics,
    write_metrics,
)
from .gate import GateResult, check_groups, gated
from .grid import GridPoint, check_point_names, group_name, point_name, points
from .grouping import group_results
from .results import ResultLine, result_from_run_dir, result_line
from .summary import Summary, build_summary, write_summary

log = logging.getLogger(__name__)

# Trains one cell: (its config, what made it) → its metrics.json.
TrainCell = Callable[[Config, RunOrigin], RunMetrics]


@dataclass
class Cell:
    variant: str
    seed: int
    overrides: dict[str, Any]  # the variant's, the grid point's, then --set
    config: Config
    point: GridPoint = field(default_factory=dict)  # compare.grid's values for this cell
    name: str = ""  # its folder under output.dir: `<variant>[/<point>]/seed-<N>`

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


def grid_setting(grid: dict[str, list[Any]]) -> str:
    """The `--set` argument (shell-quoted) that sets `grid` as it is: the one way to change a
    grid's values from the command line, since its keys hold dots (`--set
    compare.grid.optimizer.learning_rate=…` would name a key `optimizer` in the grid)."""
    flow = yaml.safe_dump(grid, default_flow_style=True, sort_keys=False, width=10**6)
    return shlex.quote(f"compare.grid={flow.strip()}")


def plan_cells(config_path: Path, config: Config, set_texts: Sequence[str]) -> list[Cell]:
    """Every variant × grid point × seed of `config.compare`, each validated before anything
    runs (seed-major, so an interrupted comparison has whole pairs)."""
    compare = config.compare
    assert compare is not None
    for text in set_texts:
        keys = parse_override(text)[0]
        if keys == ["training", "seed"]:
            raise WdTrainError("--set training.seed: a comparison takes its seeds from "
                               "compare.seeds (use --seed N for one cell, or --set "
                               "compare.seeds=[N])")
        if ".".join(keys) in compare.grid:
            raise WdTrainError(f"--set {'.'.join(keys)}: compare.grid varies this key (to "
                               "change its values, replace the whole grid: --set "
                               f"{grid_setting(compare.grid)} with the values you want)")
    check_point_names(compare.grid)
    file_raw = read_config(config_path)
    config_dir = Path(config_path).resolve().parent
    cli = overrides_dict(set_texts)
    cells = []
    for seed in compare.seeds:
        for name, variant_overrides in compare.variants.items():
            for point in points(compare.grid):
                source = f"{config_path}: compare.variants.{name}"
                raw = copy.deepcopy(file_raw)
                try:
                    for dotted, value in variant_overrides.items():
                        apply_override(raw, dotted.split("."), value, path_base=config_dir)
                except WdTrainError as exc:
                    raise WdTrainError(f"{source}: {exc}") from None
                for dotted, value in point.items():
                    try:
                        apply_override(raw, dotted.split("."), value, path_base=config_dir)
                    except WdTrainError as exc:
                        raise WdTrainError(f"{config_path}: compare.grid: {exc}") from None
                apply_overrides(raw, set_texts)
                for section in ("compare", "gate"):  # the comparison's, not a cell's
                    raw.pop(section, None)
                folder = "/".join(filter(None, (name, point_name(point),
                                                f"seed-{seed}")))
                apply_override(raw, ["training", "seed"], seed, path_base=None)
                apply_override(raw, ["output", "dir"], str(config.output.dir / folder),
                               path_base=None)
                if point:
                    source += f" at {point_name(point)}"
                cells.append(Cell(name, seed, {**variant_overrides, **point, **cli},
                                  validate(raw, source), point, folder))
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


def cell_names(cells: list[Cell]) -> list[str]:
    return [cell.name for cell in cells]


def select_cells(cells: list[Cell], compare, *, variant: str | None, seed: int | None,
                 cell: str | None) -> list[Cell]:
    """The cells `--variant`, `--seed` and `--cell` pick (all of them when none is given)."""
    if variant is not None and variant not in compare.variants:
        raise WdTrainError(f"--variant {variant}: not in compare.variants "
                           f"({', '.join(compare.variants)})")
    if seed is not None and seed not in compare.seeds:
        raise WdTrainError(f"--seed {seed}: not in compare.seeds "
                           f"({', '.join(map(str, compare.seeds))})")
    if cell is not None:
        wanted = cell.strip("/")
        if wanted not in cell_names(cells):
            shown = cell_names(cells)
            raise WdTrainError(f"--cell {cell}: no such cell (e.g. {shown[0]}; "
                               f"`--list-cells` lists them)")
        cells = [c for c in cells if c.name == wanted]
    return [c for c in cells if variant in (None, c.variant) and seed in (None, c.seed)]


def reusable_result(cell: Cell) -> bool:
    """Whether a comparison reuses the result in the cell's folder instead of training it: a
    finished or diverged run of this cell's config (`require_same_config`) whose record reads.
    False when the folder holds no result; the `WdTrainError` that stops running the cell when
    it holds one that cannot be reused (another config's run, an unreadable metrics.json)."""
    if not has_result(cell.run_dir):
        return False
    what = "a finished run" if is_finished_run(cell.run_dir) else "a diverged run"
    require_same_config(cell.run_dir, cell.config, holds=what,
                        redo="redo the comparison's runs")
    result_from_run_dir(cell.run_dir)  # its metrics.json (diverged.json) reads
    return True


def cells_to_run(cells: list[Cell], *, overwrite: bool) -> list[Cell]:
    """The cells a comparison would train, not reuse (`--list-cells`): those without a result,
    and those whose result it would refuse to reuse, each with a warning naming its folder and
    the reason (its run stops there, as running the comparison would); with `overwrite`, all."""
    if overwrite:
        return list(cells)
    to_run = []
    for cell in cells:
        try:
            if reusable_result(cell):
                continue
        except WdTrainError as exc:
            reason = " ".join(str(exc).split())
            log.warning(f"warning: {cell.name}: listed, but its command will stop: {reason}")
        to_run.append(cell)
    return to_run


def _diverged_cell(cell: Cell) -> TrainingDiverged:
    record = read_diverged(cell.run_dir)
    return TrainingDiverged(f"{cell.name}: diverged earlier (epoch {record.epoch}, step "
                            f"{record.step}, lr {record.lr:.3g}), recorded in "
                            f"{cell.run_dir / DIVERGED_FILE}; --overwrite to train it again")


def _gated_groups(summary: Summary, groups: dict[str, list[ResultLine]]
                  ) -> tuple[dict[str, list[ResultLine]], str]:
    """What a gate checks: each variant's runs, or in a grid each variant at its best point
    (a sweep has bad and diverged points by design: they are findings, not regressions). A
    variant with no eligible point is checked on all its runs, which fails on a diverged one."""
    if summary.grid is None:
        return groups, "each variant's mean"
    gated: dict[str, list[ResultLine]] = {}
    for best in summary.grid.best:
        if best.name is not None:
            gated[best.name] = groups[best.name]
        else:
            gated[best.variant] = [run for runs in groups.values() for run in runs
                                   if (run.variant or "") == best.variant]
    return gated, "each variant's mean at its best grid point (selected on dev)"


def run_comparison(config_path: Path, config: Config, set_texts: Sequence[str], *,
                   variant: str | None, seed: int | None, train: TrainCell,
                   overwrite: bool, cell: str | None = None) -> ComparisonResult:
    """Run (or reuse) the selected cells, then summarise them; `train` runs one cell. A cell
    that diverges is a result (diverged.json, a results line with status `diverged`): the
    comparison goes on with the next cell, and reuses it rather than retrying it."""
    compare = config.compare
    assert compare is not None
    if is_finished_run(config.output.dir):
        raise WdTrainError(f"output.dir: {config.output.dir} holds a single finished run; a "
                           "comparison needs a folder of its own (--output-dir)")
    cells = select_cells(plan_cells(Path(config_path), config, set_texts), compare,
                         variant=variant, seed=seed, cell=cell)
    selected = variant is not None or seed is not None or cell is not None
    points_note = f" × {len(points(compare.grid))} grid points" if compare.grid else ""
    log.info(f"comparison: {len(compare.variants)} variants{points_note} × "
             f"{len(compare.seeds)} seeds in {config.output.dir}"
             + (f"; running {len(cells)} of its runs" if selected else ""))
    single = len(cells) == 1 and selected

    results: list[ResultLine] = []
    last_metrics = None
    for number, one in enumerate(cells, start=1):
        where = f"[{number}/{len(cells)}] {one.name}"
        if not overwrite and reusable_result(one):
            if is_diverged_run(one.run_dir):
                if single:
                    raise _diverged_cell(one)
                log.info(f"{where}: diverged run reused ({one.run_dir})")
            else:
                log.info(f"{where}: finished run reused ({one.run_dir})")
                last_metrics = _adopt(one)
            results.append(result_from_run_dir(one.run_dir))
            continue
        log.info(f"{where} → {one.run_dir}")
        try:
            last_metrics = train(one.config, RunOrigin(variant=one.variant,
                                                       overrides=one.overrides, grid=one.point))
        except TrainingDiverged as exc:
            if single:
                raise
            log.warning(f"{where}: {exc} (counted as diverged; the comparison goes on)")
            results.append(result_from_run_dir(one.run_dir))
            continue
        results.append(result_line(last_metrics))

    if single:
        return ComparisonResult(single_cell=last_metrics)

    order = [group_name(v, p) for v in compare.variants for p in points(compare.grid)]
    groups = group_results(results, order=order)
    baseline = compare.baseline
    if baseline is not None and baseline not in compare.variants or (
            baseline is not None and not any(r.variant == baseline for r in results)):
        baseline = None
        log.info(f"compare.baseline {compare.baseline} is not among the variants run: the "
                 "differences printed are against another")
    summary = build_summary(groups, baseline=baseline)
    summary.config = str(Path(config_path).resolve())
    gate = failure = None
    if config.gate is not None:
        gate_config = config.gate
        gate, failure = gated(lambda: check_groups(gate_config, *_gated_groups(summary,
                                                                              groups)))
        if gate is not None:
            summary.gate = gate.details
    if selected:
        log.info("only some of the comparison's runs: summary printed, not written (run "
                 f"`wd-train report {config.output.dir}` when every run is done)")
    else:
        write_summary(config.output.dir, summary, groups)
    return ComparisonResult(summary=summary, gate=gate, failure=failure)
