"""Paired differences between groups of runs: each against a baseline, seed by seed, with a 95 %
CI, Holm's adjustment over the family and the seeds 80 % power would need (see stats.py). The
summary's headline comparison, and a grid's comparisons at the best and at every shared point,
are all made here.

F1 differences are in points (× 100), the unit papers report. Diverged runs have no scores, so a
seed where either side diverged drops out of that pair.
"""

from __future__ import annotations

from .results import ResultLine
from .stats import (
    PairedDifference,
    family_alpha,
    holm,
    paired_difference,
    seeds_needed,
    signed,
    verdict,
)

POINTS = 100.0
UNIT = "F1 points"


class Difference(PairedDifference):
    """A paired difference a − b on one split, with its verdict in words."""

    a: str
    b: str
    split: str
    unit: str
    p_holm: float | None = None  # Holm-adjusted over the split's comparisons with the baseline
    # for 80 % power at the 5 % level (5 %/m in a family of m: Holm's strictest step), from
    # the observed spread
    seeds_needed: int | None = None
    verdict: str


def f1_of(record: ResultLine, split: str) -> float | None:
    scores = getattr(record, split)
    return None if scores is None else float(scores.f1)


def per_seed(runs: list[ResultLine], split: str) -> dict[int, float]:
    """Seed → F1 (the mean, where a group holds several runs of one seed)."""
    values: dict[int, list[float]] = {}
    for record in runs:
        f1 = f1_of(record, split)
        if f1 is not None:
            values.setdefault(record.seed, []).append(f1)
    return {seed: sum(v) / len(v) for seed, v in values.items()}


def scored_splits(groups: dict[str, list[ResultLine]]) -> list[str]:
    """Splits every finished run was scored on: test first (dev picked the epoch, so it
    flatters)."""
    runs = [r for g in groups.values() for r in g if r.finished]
    return [s for s in ("test", "dev") if all(f1_of(r, s) is not None for r in runs)]


def against_baseline(groups: dict[str, list[ResultLine]], baseline: str,
                     splits: list[str] | None = None) -> list[Difference]:
    """Every other group − `baseline`, per split, Holm-adjusted within a split."""
    pairs = [(name, baseline) for name in groups if name != baseline]
    differences = []
    for split in scored_splits(groups) if splits is None else splits:
        diffs = [paired_difference(per_seed(groups[a], split), per_seed(groups[b], split),
                                   scale=POINTS) for a, b in pairs]
        adjusted = holm([d.p_value for d in diffs])
        family = sum(p is not None for p in adjusted)
        for (a, b), diff, p_holm in zip(pairs, diffs, adjusted):
            needed = seeds_needed(diff.mean, diff.std, alpha=family_alpha(family))
            differences.append(Difference(
                a=a, b=b, split=split, unit=UNIT, **diff.model_dump(), p_holm=p_holm,
                seeds_needed=needed,
                verdict=verdict(a, b, diff, holm_p=p_holm, family=family)))
    return differences


def _word(d: Difference, holm_used: bool) -> str:
    if d.no_spread:
        return "no spread, not testable"
    if d.ci_low is None:
        return "n/a"
    if holm_used:
        return "significant" if d.p_holm is not None and d.p_holm < 0.05 else "not significant"
    return "significant" if d.significant else "not significant"


def difference_rows(differences: list[Difference]) -> tuple[list[list[str]], bool]:
    """Table rows (difference, split, n, mean, CI, p, seeds needed, verdict word) and whether
    the p-values are Holm's (several groups against one baseline)."""
    holm_used = len({d.a for d in differences}) > 1
    rows = []
    for d in differences:
        ci = "–" if d.ci_low is None else f"[{signed(d.ci_low)}, {signed(d.ci_high)}]"
        p = d.p_holm if holm_used else d.p_value
        rows.append([f"{d.a} − {d.b}", d.split, str(d.n),
                     "–" if d.mean is None else signed(d.mean), ci,
                     "–" if p is None else f"{p:.3g}",
                     "–" if d.seeds_needed is None else str(d.seeds_needed),
                     _word(d, holm_used)])
    return rows, holm_used
