"""`wd-train report`: summarise results files and run directories (grouped by variant or by a
config key) into summary.md/.json/.csv and the charts."""

from __future__ import annotations

from pathlib import Path

from ..errors import WdTrainError
from .grid_summary import is_grid
from .grouping import (
    BY_VARIANT,
    group_results,
    order_groups,
    rename_groups,
    same_group_name,
    select_groups,
)
from .results import load_results
from .summary import SUMMARY_JSON, Summary, build_summary, write_summary


def _comparison_summary(folder: Path) -> Summary | None:
    """The summary a comparison wrote into `folder` (it names its config), else None."""
    try:
        summary = Summary.model_validate_json((folder / SUMMARY_JSON).read_bytes())
    except (OSError, ValueError):
        return None
    return summary if summary.config else None


def report(inputs: list[Path], *, by: str = BY_VARIANT, output_dir: Path | None = None,
           baseline: str | None = None, renames: list[str] | None = None,
           only: list[str] | None = None) -> Summary:
    """Write the summary into `output_dir` (default: the one folder given, else the first
    results file's folder) and return it. `renames` (`OLD=NEW` group names) apply first, so
    `only` (the groups to keep, in order) and `baseline` take the new names.

    Into a comparison's own folder, the summary is that comparison's again: its variant order,
    baseline and config file are kept (and its gate, when the runs are the same ones). A
    regrouped or partial summary (--by, --rename, --only) must go elsewhere: it would replace
    the comparison's."""
    groups = rename_groups(group_results(load_results(inputs), by), renames or [], by)
    groups = select_groups(groups, only or [])
    runs = [r for g in groups.values() for r in g]
    # a grid's baseline is a variant (compared at its best point), not one grid cell
    grid = by == BY_VARIANT and is_grid(runs)
    names = list(dict.fromkeys(r.variant or "" for r in runs)) if grid else list(groups)
    if baseline is not None and not grid:
        baseline = same_group_name(baseline, names)
    if baseline is not None and baseline not in names:  # named as the option it came from
        raise WdTrainError(f"--baseline {baseline}: not one of the "
                           f"{'variants' if grid else 'groups'} ({', '.join(names)})")
    if output_dir is None:
        first = Path(inputs[0])
        output_dir = first if first.is_dir() else first.parent
    previous = _comparison_summary(Path(output_dir))
    if previous is not None and (by != BY_VARIANT or renames or only):
        raise WdTrainError(f"{Path(output_dir) / SUMMARY_JSON}: the comparison's own summary "
                           "(of " + previous.config + "); write a summary made with --by, "
                           "--rename or --only elsewhere (--output-dir)")
    if previous is not None:
        groups = order_groups(groups, [g.name for g in previous.groups])
        if baseline is None and previous.grid is not None:
            baseline = previous.grid.baseline if previous.grid.baseline in names else None
        elif baseline is None:
            baseline = next((d.b for d in previous.differences if d.b in groups), None)
    summary = build_summary(groups, by, baseline)
    if previous is not None:
        summary.config = previous.config
        same_runs = {r.run_dir for r in summary.runs} == {r.run_dir for r in previous.runs}
        summary.gate = previous.gate if same_runs else None
    return write_summary(output_dir, summary, groups)
