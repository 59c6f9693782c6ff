"""`wd-train CONFIG`: what a config asks for — one run, one cell of a comparison, or the whole
comparison — then the results line (`--results`) and the gate. The CLI prints the `Outcome`.
"""

from __future__ import annotations

import logging
import shlex
from collections.abc import Sequence
from dataclasses import dataclass
from pathlib import Path

from ..config import Config, GateConfig, load_config
from ..errors import TrainingDiverged, WdTrainError
from ..run_dir import RunMetrics, RunOrigin, is_diverged_run
from .comparison import cells_to_run, overrides_dict, plan_cells, run_comparison, select_cells
from .gate import GateResult, check_run, gated
from .results import ResultLine, append_result, result_from_run_dir, result_line
from .summary import Summary, summary_markdown
from .tables import metrics_table

log = logging.getLogger(__name__)

# tf.function retracing warnings are noise when a process trains several runs (see train_one)
_RETRACE_WARNING = "triggered tf.function retracing"


@dataclass
class Outcome:
    """What the CLI prints: `record` (a run's metrics.json, or a comparison's summary) as JSON,
    or `text` as a table; then the gate's lines, and `failure` for the exit code."""

    record: RunMetrics | Summary
    text: str
    gate: GateResult | None = None
    failure: WdTrainError | None = None

    def as_json(self) -> dict:
        data = self.record.model_dump(mode="json")
        if isinstance(self.record, RunMetrics) and self.gate is not None:
            data["gate"] = self.gate.details
        return data


def run_outcome(gate: GateConfig | None, metrics: RunMetrics) -> Outcome:
    if gate is None:
        return Outcome(metrics, metrics_table(metrics))
    result, failure = gated(lambda: check_run(gate, metrics))
    return Outcome(metrics, metrics_table(metrics), result, failure)


def _drop_retrace_warnings(record: logging.LogRecord) -> bool:
    return _RETRACE_WARNING not in record.getMessage()


def train_one(config: Config, origin: RunOrigin, *, results: Path | None, overwrite: bool,
              resume: bool, progress=None) -> RunMetrics:
    """One training run, its results line appended. `origin` (what made it) is recorded in
    metrics.json."""
    from ..training.run import train_run  # TensorFlow comes with it

    # Every run in a process builds fresh tf.functions around the same Python functions, which
    # TensorFlow counts as retracing and warns about from the third run on.
    tf_logger = logging.getLogger("tensorflow")
    if _drop_retrace_warnings not in tf_logger.filters:
        tf_logger.addFilter(_drop_retrace_warnings)
    try:
        metrics = train_run(config, overwrite=overwrite, resume=resume, progress=progress,
                            origin=origin)
    except TrainingDiverged:
        # a divergence is a result too: its line (status "diverged") goes to --results
        if results is not None and is_diverged_run(config.output.dir):
            _append(results, result_from_run_dir(config.output.dir), "diverged")
        raise
    if results is not None and metrics.run_dir:  # not a multi-worker run's other workers
        _append(results, result_line(metrics), "finished")
    return metrics


def _append(results: Path, line: ResultLine, how: str) -> None:
    try:
        append_result(results, line)
    except OSError as exc:
        raise WdTrainError(f"--results {results}: cannot append ({exc.strerror or exc}); the "
                           f"run itself {how} in {line.run_dir}") from None


def _check_redo(resume: bool, overwrite: bool) -> None:
    if resume and overwrite:
        raise WdTrainError("--resume and --overwrite: choose one (continue a run, or redo it)")


def list_cells(config_path: Path, set_texts: Sequence[str] = (), *, program: str = "wd-train",
               output_dir: Path | None = None, results: Path | None = None,
               variant: str | None = None, seed: int | None = None, cell: str | None = None,
               resume: bool = False, overwrite: bool = False,
               min_f1: float | None = None) -> list[str]:
    """One shell command per cell of the config's comparison that a comparison run would train
    rather than reuse (see `cells_to_run`), for GNU parallel, a Slurm job array or any other
    scheduler. Each runs exactly one cell (`--cell`); `wd-train report` merges whatever
    finished. `variant`, `seed` and `cell` pick the cells as for a run; `--set`,
    `--output-dir`, `--results`, `--resume` and `--overwrite` go into every command, and with
    `overwrite` the cells with a result are listed too (they are trained again). `min_f1` is
    refused: it gates each variant's mean, which no one cell's command sees."""
    if min_f1 is not None:
        raise WdTrainError("--min-f1: a comparison's gate judges each variant's mean over its "
                           "seeds (in a grid, at its best point), which no one cell's command "
                           "sees; when the listed cells are "
                           "done, `wd-train CONFIG --min-f1 X` reuses them and gates the "
                           "comparison")
    _check_redo(resume, overwrite)
    config, _ = load_config(config_path, [
        *set_texts, *([f"output.dir={Path(output_dir).resolve()}"] if output_dir else [])])
    if config.compare is None:
        raise WdTrainError(f"--list-cells: {config_path} has no compare section (one run: "
                           "nothing to list)")
    cells = select_cells(plan_cells(Path(config_path), config, list(set_texts)),
                         config.compare, variant=variant, seed=seed, cell=cell)
    common = [*(f"--set {shlex.quote(text)}" for text in set_texts),
              *([f"--output-dir {shlex.quote(str(output_dir))}"] if output_dir else []),
              *([f"--results {shlex.quote(str(results))}"] if results else []),
              *(["--resume"] if resume else []), *(["--overwrite"] if overwrite else [])]
    return [" ".join([program, "train", shlex.quote(str(config_path)), "--cell",
                      shlex.quote(one.name), *common, "--quiet"])
            for one in cells_to_run(cells, overwrite=overwrite)]


def run_config(
    config_path: Path,
    set_texts: Sequence[str] = (),
    *,
    output_dir: Path | None = None,
    variant: str | None = None,
    seed: int | None = None,
    cell: str | None = None,
    results: Path | None = None,
    min_f1: float | None = None,
    overwrite: bool = False,
    resume: bool = False,
    progress=None,
) -> Outcome:
    """A single run, one comparison cell, or the whole comparison. `resume`: runs interrupted
    after an epoch continue from it (see training/resume.py)."""
    set_texts = list(set_texts)
    _check_redo(resume, overwrite)
    if min_f1 is not None and not 0.0 <= min_f1 <= 1.0:
        raise WdTrainError(f"--min-f1 {min_f1:g}: expected an F1 between 0 and 1")
    extra = [f"output.dir={Path(output_dir).resolve()}"] if output_dir else []
    if min_f1 is not None:
        extra.append(f"gate.min={min_f1!r}")
    config, _ = load_config(config_path, [*set_texts, *extra])
    config_file = str(Path(config_path).resolve())
    if results is not None:  # a results file that cannot take the line: say so before training
        try:
            Path(results).parent.mkdir(parents=True, exist_ok=True)
            with open(results, "a", encoding="utf-8"):
                pass
        except OSError as exc:
            raise WdTrainError(f"--results {results}: cannot append ({exc.strerror})") from None

    if config.compare is None:
        if variant is not None or seed is not None or cell is not None:
            option = "--variant" if variant is not None else "--seed" if seed is not None \
                else "--cell"
            raise WdTrainError(f"{option}: "
                               f"{config_path} has no compare section (for a plain run use "
                               "--set training.seed=N)")
        origin = RunOrigin(overrides=overrides_dict(set_texts), config_file=config_file)
        metrics = train_one(config, origin, results=results, overwrite=overwrite,
                            resume=resume, progress=progress)
        return run_outcome(config.gate, metrics)

    comparison = run_comparison(
        Path(config_path), config, set_texts, variant=variant, seed=seed, cell=cell,
        train=lambda cell_config, origin: train_one(
            cell_config, origin.model_copy(update={"config_file": config_file}),
            results=results, overwrite=overwrite, resume=resume, progress=progress),
        overwrite=overwrite)
    if comparison.single_cell is not None:  # one cell: an ordinary run, gated as one
        if config.gate is not None and config.compare.grid:
            # a sweep's other points may be bad by design: its gate judges each variant's
            # best point, which no single cell knows
            log.info("gate: a grid's gate checks each variant's best point; `wd-train "
                     f"{config_path}` applies it once every cell is done")
            return run_outcome(None, comparison.single_cell)
        return run_outcome(config.gate, comparison.single_cell)
    summary = comparison.summary
    return Outcome(summary, summary_markdown(summary), comparison.gate, comparison.failure)
