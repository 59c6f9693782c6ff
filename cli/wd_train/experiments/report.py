"""`wd-train report`: summarise results files and run directories (grouped by variant or by a
config key) into summary.md/.json/.csv and the charts."""

from __future__ import annotations

from pathlib import Path

from .grouping import BY_VARIANT, group_results, rename_groups, select_groups
from .results import load_results
from .summary import Summary, build_summary, write_summary


def report(inputs: list[Path], *, by: str = BY_VARIANT, output_dir: Path | None = None,
           baseline: str | None = None, renames: dict[str, str] | None = None,
           only: list[str] | None = None) -> Summary:
    """Write the summary into `output_dir` (default: the one folder given, else the first
    results file's folder) and return it. `renames` ({old: new} group names) apply first, so
    `only` (the groups to keep, in order) and `baseline` take the new names."""
    groups = rename_groups(group_results(load_results(inputs), by), renames or {})
    groups = select_groups(groups, only or [])
    if output_dir is None:
        first = Path(inputs[0])
        output_dir = first if first.is_dir() else first.parent
    return write_summary(output_dir, build_summary(groups, by, baseline), groups)
