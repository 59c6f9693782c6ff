"""The regression gate: a run (or each variant's mean over its seeds) must reach `gate.min` on
`gate.metric`, else the CLI exits 1 with one line per failure:

    gate failed: test.f1 = 0.6012 < 0.6500
"""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass, field
from typing import Protocol

from ..config import GateConfig
from ..errors import GateFailed, WdTrainError
from ..evaluation import Scores


class Scored(Protocol):
    """A run's record with dev and test scores: metrics.json (`RunMetrics`) or a results line."""

    dev: Scores | None
    test: Scores | None


@dataclass
class GateResult:
    passed: bool
    lines: list[str]  # one line when it holds; one per failure when it does not
    details: dict = field(default_factory=dict)  # for summary.json / --json


def metric_value(run: Scored, metric: str) -> float:
    """`test.f1`, `dev.recall`, `test.per_type.PER.f1` … of a run's record."""
    split, rest = metric.split(".", 1)
    split_scores: Scores | None = getattr(run, split)
    if not split_scores:
        raise WdTrainError(f"gate.metric: {metric}: the run has no {split} scores")
    if rest.startswith("per_type."):
        _, type_name, name = rest.split(".")
        per_type = split_scores.per_type
        if type_name not in per_type:
            known = ", ".join(sorted(per_type)) or "none"
            raise WdTrainError(f"gate.metric: {metric}: no entity type {type_name!r} in the "
                               f"{split} set (types: {known})")
        return float(getattr(per_type[type_name], name))
    return float(getattr(split_scores, rest))


def _pair(value: float, threshold: float) -> tuple[str, str]:
    """Both numbers at 4 decimals, or 6 where 4 would print them equal."""
    digits = 4 if f"{value:.4f}" != f"{threshold:.4f}" or value == threshold else 6
    return f"{value:.{digits}f}", f"{threshold:.{digits}f}"


def check_run(gate: GateConfig, run: Scored) -> GateResult:
    value = metric_value(run, gate.metric)
    shown, threshold = _pair(value, gate.min)
    passed = value >= gate.min
    line = (f"gate passed: {gate.metric} = {shown} >= {threshold}" if passed
            else f"gate failed: {gate.metric} = {shown} < {threshold}")
    return GateResult(passed, [line], {"metric": gate.metric, "min": gate.min, "value": value,
                                       "passed": passed})


def check_groups(gate: GateConfig, groups: dict[str, list[Scored]],
                 applies_to: str = "each variant's mean") -> GateResult:
    """A comparison passes when every variant's mean of the metric over its seeds holds, and
    no run of it diverged (a diverged run has no score to average: it fails the gate)."""
    finished = {name: [r for r in runs if getattr(r, "status", "finished") == "finished"]
                for name, runs in groups.items()}
    means = {name: sum(metric_value(r, gate.metric) for r in runs) / len(runs)
             for name, runs in finished.items() if runs}
    failures = []
    for name, runs in groups.items():
        diverged = len(runs) - len(finished[name])
        if diverged:
            failures.append(f"gate failed: {name}: {diverged} of {len(runs)} "
                            f"run{'s' * (len(runs) != 1)} diverged")
    for name, mean in means.items():
        if mean < gate.min:
            shown, threshold = _pair(mean, gate.min)
            runs = len(finished[name])
            failures.append(f"gate failed: {name}: mean {gate.metric} over {runs} "
                            f"run{'s' * (runs != 1)} = {shown} < {threshold}")
    details = {"metric": gate.metric, "min": gate.min, "applies_to": applies_to,
               "values": means, "passed": not failures}
    if failures:
        return GateResult(False, failures, details)
    listed = ", ".join(f"{name} {mean:.4f}" for name, mean in means.items())
    line = f"gate passed: mean {gate.metric} >= {gate.min:.4f} for every variant ({listed})"
    return GateResult(True, [line], details)


def gated(check: Callable[[], GateResult]) -> tuple[GateResult | None, WdTrainError | None]:
    """(the gate's result, the error the CLI exits with): a failed gate, or a metric that the
    runs do not have."""
    try:
        result = check()
    except WdTrainError as exc:
        return None, exc
    return result, None if result.passed else GateFailed("\n".join(result.lines))
