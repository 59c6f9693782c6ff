"""Seed statistics: mean ± sample std; the paired difference of two settings with a 95 %
confidence interval and p-value from Student's t (scipy); Holm's adjustment when one baseline is
compared with several variants; and how many seeds a paired t-test would need to detect a
difference of the observed size with 80 % power (scipy's noncentral t)."""

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
    p_value: float | None = None  # two-sided paired t-test; None below 2 seeds or no spread

    @computed_field
    @property
    def no_spread(self) -> bool:
        """Two or more seeds that all gave the same difference: the t-test is undefined (its
        standard error is 0), so nothing is claimed, not even at p 0."""
        return len(self.seeds) >= 2 and self.std == 0

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


# A mean difference this small is floating-point noise (F1 differences of real runs are
# multiples of far coarser fractions): it is 0, and no number of seeds would detect it.
NEGLIGIBLE = 1e-9


def paired_difference(a: dict[int, float], b: dict[int, float], scale: float = 1.0
                      ) -> PairedDifference:
    """Mean of d_i = scale · (a_i − b_i) over common seeds, ± t(0.975, n−1) · sd / √n."""
    seeds = sorted(set(a) & set(b))
    differences = [scale * (a[s] - b[s]) for s in seeds]
    stats = describe(differences)
    if stats.mean is not None and abs(stats.mean) < NEGLIGIBLE:  # differences that cancel out
        stats = stats.model_copy(update={"mean": 0.0})
    if stats.std is not None and stats.std < NEGLIGIBLE:  # the same difference on every seed
        stats = stats.model_copy(update={"std": 0.0})
    low = high = p = None
    if stats.n >= 2:
        from scipy.stats import t

        standard_error = stats.std / math.sqrt(stats.n)
        if standard_error > 0:  # else every seed gave the same difference: not testable
            half = t_critical(stats.n - 1) * standard_error
            low, high = stats.mean - half, stats.mean + half
            p = float(2 * t.sf(abs(stats.mean) / standard_error, stats.n - 1))
    return PairedDifference(seeds=seeds, differences=differences, mean=stats.mean,
                            std=stats.std, ci_low=low, ci_high=high, p_value=p)


def holm(p_values: list[float | None]) -> list[float | None]:
    """Holm's step-down adjustment of a family of p-values (None: not in the family): the
    smallest is multiplied by m, the next by m − 1, …, kept monotone, capped at 1."""
    order = sorted((p, i) for i, p in enumerate(p_values) if p is not None)
    adjusted: list[float | None] = [None] * len(p_values)
    running = 0.0
    for rank, (p, i) in enumerate(order):
        running = max(running, min(1.0, (len(order) - rank) * p))
        adjusted[i] = running
    return adjusted


MAX_SEEDS = 1000


def family_alpha(family: int) -> float:
    """The level a difference must reach among `family` Holm-adjusted comparisons to be sure of
    significance: 5 %/m, the first (strictest) step. Seeds needed are worked out at this level,
    so that "about N seeds would detect it" holds after the adjustment too."""
    return 0.05 / max(family, 1)


def seeds_needed(mean: float | None, std: float | None, power: float = 0.8,
                 alpha: float = 0.05) -> int | None:
    """Seeds a two-sided paired t-test at level `alpha` needs to detect a true difference of
    `mean` with probability `power`, if the seeds' differences spread by `std` (the observed
    one). None where it cannot be said (no spread measured or none at all, a zero difference)
    or above MAX_SEEDS."""
    if mean is None or std is None or mean == 0 or std == 0:
        return None
    from scipy.stats import nct, t

    effect = abs(mean) / std
    for n in range(2, MAX_SEEDS + 1):
        critical = t.ppf(1 - alpha / 2, n - 1)
        noncentrality = effect * math.sqrt(n)
        achieved = nct.sf(critical, n - 1, noncentrality) + nct.cdf(-critical, n - 1,
                                                                    noncentrality)
        if achieved >= power:
            return n
    return None


def signed(value: float, digits: int = 2) -> str:
    """+0.42 / −0.10 (a real minus sign, as in print)."""
    text = f"{value:+.{digits}f}"
    if float(text) == 0:
        text = f"{0.0:+.{digits}f}"  # no "−0.00"
    return text.replace("-", "−")


def verdict(a_name: str, b_name: str, diff: PairedDifference, unit: str = "F1 points",
            *, holm_p: float | None = None, family: int = 1) -> str:
    """'a − b: +0.42 F1 points, 95 % CI [−0.10, +0.94], not significant with 3 seeds; about 9
    seeds would detect +0.42 80 % of the time'. With `family` > 1 comparisons against one
    baseline, significance is Holm's (`holm_p`, the adjusted p-value)."""
    head = f"{a_name} − {b_name}:"
    if diff.n == 0:
        return f"{head} no seeds in common"
    if diff.n == 1:
        return f"{head} {signed(diff.mean)} {unit} (seed {diff.seeds[0]}), n=1: no confidence " \
               "interval"
    if diff.no_spread:
        return (f"{head} {signed(diff.mean)} {unit} on every seed: no spread over {diff.n} "
                "seeds, not testable")
    if family > 1 and holm_p is not None:
        word = "significant" if holm_p < 0.05 else "not significant"
        word += f" (Holm-adjusted p {holm_p:.3g} over {family} comparisons)"
    else:
        word = "significant" if diff.significant else "not significant"
    text = (f"{head} {signed(diff.mean)} {unit}, 95 % CI [{signed(diff.ci_low)}, "
            f"{signed(diff.ci_high)}], {word} with {diff.n} seeds")
    needed = seeds_needed(diff.mean, diff.std, alpha=family_alpha(family))
    if "not significant" in word:
        if needed is not None and needed > diff.n:
            text += (f"; about {needed} seeds would detect {signed(diff.mean)} 80 % of the "
                     "time")
        elif needed is None and diff.mean:
            text += f"; more than {MAX_SEEDS} seeds would be needed to detect it"
    return text
