"""The regression gate: a run (or each variant's mean over its seeds) must reach `gate.min` on
`gate.metric`, else the CLI exits 1 with one line per failure:

    gate failed: test.f1 = 0.6012 < 0.6500
"""

from __future__ import annotations

from dataclasses import dataclass, field

from .config import GateConfig
from .errors import WdTrainError


@dataclass
class GateResult:
    passed: bool
    lines: list[str]  # one line when it holds; one per failure when it does not
    details: dict = field(default_factory=dict)  # for summary.json / --json


def metric_value(scores: dict, metric: str) -> float:
    """`test.f1`, `dev.recall`, `test.per_type.PER.f1` … read from metrics.json or a results
    line (both carry `dev` and `test` score dicts)."""
    split, rest = metric.split(".", 1)
    split_scores = scores.get(split)
    if not split_scores:
        raise WdTrainError(f"gate.metric: {metric}: the run has no {split} scores")
    if rest.startswith("per_type."):
        _, type_name, name = rest.split(".")
        per_type = split_scores.get("per_type") or {}
        if type_name not in per_type:
            known = ", ".join(sorted(per_type)) or "none"
            raise WdTrainError(f"gate.metric: {metric}: no entity type {type_name!r} in the "
                               f"{split} set (types: {known})")
        return float(per_type[type_name][name])
    return float(split_scores[rest])


def _pair(value: float, threshold: float) -> tuple[str, str]:
    """Both numbers at 4 decimals, or 6 where 4 would print them equal."""
    digits = 4 if f"{value:.4f}" != f"{threshold:.4f}" or value == threshold else 6
    return f"{value:.{digits}f}", f"{threshold:.{digits}f}"


def check_run(gate: GateConfig, metrics: dict) -> GateResult:
    value = metric_value(metrics, gate.metric)
    shown, threshold = _pair(value, gate.min)
    passed = value >= gate.min
    line = (f"gate passed: {gate.metric} = {shown} >= {threshold}" if passed
            else f"gate failed: {gate.metric} = {shown} < {threshold}")
    return GateResult(passed, [line], {"metric": gate.metric, "min": gate.min, "value": value,
                                       "passed": passed})


def check_groups(gate: GateConfig, groups: dict[str, list[dict]]) -> GateResult:
    """A comparison passes when every variant's mean of the metric over its seeds holds."""
    means = {name: sum(metric_value(r, gate.metric) for r in runs) / len(runs)
             for name, runs in groups.items()}
    failures = []
    for name, mean in means.items():
        if mean < gate.min:
            shown, threshold = _pair(mean, gate.min)
            runs = len(groups[name])
            failures.append(f"gate failed: {name}: mean {gate.metric} over {runs} "
                            f"run{'s' * (runs != 1)} = {shown} < {threshold}")
    details = {"metric": gate.metric, "min": gate.min, "applies_to": "each variant's mean",
               "values": means, "passed": not failures}
    if failures:
        return GateResult(False, failures, details)
    listed = ", ".join(f"{name} {mean:.4f}" for name, mean in means.items())
    line = f"gate passed: mean {gate.metric} >= {gate.min:.4f} for every variant ({listed})"
    return GateResult(True, [line], details)
