"""Seed statistics: mean ± sample std, and the paired difference of two settings with a 95 %
confidence interval from Student's t distribution (scipy's quantile)."""

from __future__ import annotations

import math

from pydantic import BaseModel, ConfigDict, computed_field


def t_critical(df: int) -> float:
    """Two-sided 95 % critical value of Student's t with `df` degrees of freedom."""
    if df < 1:
        raise ValueError(f"t distribution needs df >= 1 (got {df})")
    from scipy.stats import t

    return float(t.ppf(0.975, df))


class Describe(BaseModel):
    model_config = ConfigDict(frozen=True)

    n: int
    mean: float | None
    std: float | None  # sample standard deviation (n − 1); None below 2 values
    min: float | None
    max: float | None


def describe(values: list[float]) -> Describe:
    n = len(values)
    if n == 0:
        return Describe(n=0, mean=None, std=None, min=None, max=None)
    mean = sum(values) / n
    std = math.sqrt(sum((v - mean) ** 2 for v in values) / (n - 1)) if n > 1 else None
    return Describe(n=n, mean=mean, std=std, min=min(values), max=max(values))


class PairedDifference(BaseModel):
    """a − b over the seeds both have, in the units given (F1 points in summaries)."""

    model_config = ConfigDict(frozen=True, extra="ignore")

    seeds: list[int]
    differences: list[float]
    mean: float | None
    std: float | None
    ci_low: float | None
    ci_high: float | None

    @computed_field
    @property
    def n(self) -> int:
        return len(self.seeds)

    @computed_field
    @property
    def significant(self) -> bool:
        """True iff the 95 % CI excludes 0 (no CI, no claim)."""
        if self.ci_low is None or self.ci_high is None:
            return False
        return self.ci_low > 0 or self.ci_high < 0


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
    return PairedDifference(seeds=seeds, differences=differences, mean=stats.mean,
                            std=stats.std, ci_low=low, ci_high=high)


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
