"""Seed statistics: mean ± sample std, and the paired difference of two settings with a 95 %
confidence interval from Student's t distribution.

scipy is not a dependency, so the two-sided 95 % critical values t(0.975, df) are tabulated for
df 1–30 (and 40, 60, 120); between tabulated values the next smaller df is used (a slightly wider,
conservative interval), and above 120 the normal value 1.96.
"""

from __future__ import annotations

import math
from bisect import bisect_right
from dataclasses import asdict, dataclass

T_975 = {
    1: 12.7062, 2: 4.3027, 3: 3.1824, 4: 2.7764, 5: 2.5706, 6: 2.4469, 7: 2.3646, 8: 2.3060,
    9: 2.2622, 10: 2.2281, 11: 2.2010, 12: 2.1788, 13: 2.1604, 14: 2.1448, 15: 2.1314,
    16: 2.1199, 17: 2.1098, 18: 2.1009, 19: 2.0930, 20: 2.0860, 21: 2.0796, 22: 2.0739,
    23: 2.0687, 24: 2.0639, 25: 2.0595, 26: 2.0555, 27: 2.0518, 28: 2.0484, 29: 2.0452,
    30: 2.0423, 40: 2.0211, 60: 2.0003, 120: 1.9799,
}
_TABULATED = sorted(T_975)
Z_975 = 1.96


def t_critical(df: int) -> float:
    """Two-sided 95 % critical value of Student's t with `df` degrees of freedom."""
    if df < 1:
        raise ValueError(f"t distribution needs df >= 1 (got {df})")
    if df > _TABULATED[-1]:
        return Z_975
    return T_975[_TABULATED[bisect_right(_TABULATED, df) - 1]]


@dataclass(frozen=True)
class Describe:
    n: int
    mean: float | None
    std: float | None  # sample standard deviation (n − 1); None below 2 values
    min: float | None
    max: float | None

    def as_dict(self) -> dict:
        return asdict(self)


def describe(values: list[float]) -> Describe:
    n = len(values)
    if n == 0:
        return Describe(0, None, None, None, None)
    mean = sum(values) / n
    std = math.sqrt(sum((v - mean) ** 2 for v in values) / (n - 1)) if n > 1 else None
    return Describe(n, mean, std, min(values), max(values))


@dataclass(frozen=True)
class PairedDifference:
    """a − b over the seeds both have, in the units given (F1 points in summaries)."""

    seeds: list[int]
    differences: list[float]
    mean: float | None
    std: float | None
    ci_low: float | None
    ci_high: float | None

    @property
    def n(self) -> int:
        return len(self.seeds)

    @property
    def significant(self) -> bool:
        """True iff the 95 % CI excludes 0 (no CI, no claim)."""
        if self.ci_low is None or self.ci_high is None:
            return False
        return self.ci_low > 0 or self.ci_high < 0

    def as_dict(self) -> dict:
        return {"n": self.n, "seeds": self.seeds, "differences": self.differences,
                "mean": self.mean, "std": self.std, "ci_low": self.ci_low,
                "ci_high": self.ci_high, "significant": self.significant}


def paired_difference(a: dict[int, float], b: dict[int, float], scale: float = 1.0
                      ) -> PairedDifference:
    """Mean of d_i = scale · (a_i − b_i) over common seeds, ± t(0.975, n−1) · sd / √n."""
    seeds = sorted(set(a) & set(b))
    differences = [scale * (a[s] - b[s]) for s in seeds]
    stats = describe(differences)
    low = high = None
    if stats.n >= 2:
        half = t_critical(stats.n - 1) * stats.std / math.sqrt(stats.n)
        low, high = stats.mean - half, stats.mean + half
    return PairedDifference(seeds, differences, stats.mean, stats.std, low, high)


def signed(value: float, digits: int = 2) -> str:
    """+0.42 / −0.10 (a real minus sign, as in print)."""
    text = f"{value:+.{digits}f}"
    if float(text) == 0:
        text = f"{0.0:+.{digits}f}"  # no "−0.00"
    return text.replace("-", "−")


def verdict(a_name: str, b_name: str, diff: PairedDifference, unit: str = "F1 points") -> str:
    """'a − b: +0.42 F1 points, 95 % CI [−0.10, +0.94], not significant with 3 seeds'."""
    head = f"{a_name} − {b_name}:"
    if diff.n == 0:
        return f"{head} no seeds in common"
    if diff.n == 1:
        return f"{head} {signed(diff.mean)} {unit} (seed {diff.seeds[0]}), n=1: no confidence " \
               "interval"
    word = "significant" if diff.significant else "not significant"
    return (f"{head} {signed(diff.mean)} {unit}, 95 % CI [{signed(diff.ci_low)}, "
            f"{signed(diff.ci_high)}], {word} with {diff.n} seeds")
