"""Seed statistics on numbers worked out by hand, and the t table against the t density."""

import math

import numpy as np
import pytest

from wd_train.experiments.stats import describe, paired_difference, signed, t_critical, verdict


@pytest.mark.parametrize(("a", "b", "quantile", "p_value"), [
    # two seeds, differences 3 and 1 points: mean 2, sd √2, standard error 1, t = 2, df 1
    # (Student's t with 1 degree of freedom is Cauchy's: quantile tan(π(q − ½)))
    ({1: 0.83, 2: 0.80}, {1: 0.80, 2: 0.79}, math.tan(math.pi * 0.475),
     1 - 2 / math.pi * math.atan(2)),
    # three seeds, differences 1, 2, 3: mean 2, sd 1, standard error 1/√3, t = 2√3, df 2
    # (closed forms: quantile (2q − 1)/√(2q(1 − q)), two-sided p 1 − t/√(2 + t²))
    ({1: 0.81, 2: 0.82, 3: 0.83}, {1: 0.80, 2: 0.80, 3: 0.80},
     0.95 / math.sqrt(2 * 0.975 * 0.025), 1 - 2 * math.sqrt(3) / math.sqrt(14)),
])
def test_the_interval_and_p_value_use_students_t_with_n_minus_1_df(a, b, quantile, p_value):
    diff = paired_difference(a, b, scale=100)
    standard_error = diff.std / math.sqrt(len(diff.seeds))
    assert diff.mean == pytest.approx(2.0)
    assert (diff.ci_low, diff.ci_high) == pytest.approx(
        (2.0 - quantile * standard_error, 2.0 + quantile * standard_error))
    assert diff.p_value == pytest.approx(p_value)  # two-sided


def test_t_critical_tends_to_the_normal_value_and_needs_df():
    assert t_critical(10_000) == pytest.approx(1.9602, abs=1e-4)
    assert t_critical(35) < t_critical(30)  # no table steps: every df has its own value
    with pytest.raises(ValueError):
        t_critical(0)


def test_describe_known_numbers():
    stats = describe([1.0, 2.0, 3.0, 4.0])
    assert (stats.n, stats.mean, stats.min, stats.max) == (4, 2.5, 1.0, 4.0)
    assert stats.std == pytest.approx(math.sqrt(5 / 3))  # sample std, n − 1
    one = describe([0.7])
    assert (one.n, one.mean, one.std) == (1, 0.7, None)
    assert describe([]).mean is None


def test_paired_difference_known_numbers():
    a = {1: 0.80, 2: 0.82, 3: 0.81, 4: 0.99}  # seed 4 has no partner: left out
    b = {1: 0.79, 2: 0.80, 3: 0.805}
    diff = paired_difference(a, b, scale=100)
    assert diff.seeds == [1, 2, 3]
    assert diff.differences == pytest.approx([1.0, 2.0, 0.5])
    assert diff.mean == pytest.approx(7 / 6)
    sd = math.sqrt(((1 - 7 / 6) ** 2 + (2 - 7 / 6) ** 2 + (0.5 - 7 / 6) ** 2) / 2)
    assert diff.std == pytest.approx(sd)
    half = 4.302653 * sd / math.sqrt(3)  # t(0.975, 2), to 7 digits
    assert (diff.ci_low, diff.ci_high) == pytest.approx((7 / 6 - half, 7 / 6 + half))
    assert not diff.significant
    assert verdict("warmup_decay", "constant", diff) == (
        "warmup_decay − constant: +1.17 F1 points, 95 % CI [−0.73, +3.06], not significant "
        "with 3 seeds; about 6 seeds would detect +1.17 80 % of the time")


def test_significant_only_when_the_interval_excludes_zero():
    diff = paired_difference({1: 0.90, 2: 0.91, 3: 0.92}, {1: 0.80, 2: 0.80, 3: 0.81}, 100)
    assert diff.significant and diff.ci_low > 0
    assert verdict("a", "b", diff).endswith("significant with 3 seeds")
    assert "not significant" not in verdict("a", "b", diff)
    same = paired_difference({1: 0.5, 2: 0.6}, {1: 0.5, 2: 0.6}, 100)
    assert same.mean == 0 and not same.significant


def test_too_few_seeds():
    one = paired_difference({1: 0.8, 2: 0.9}, {1: 0.7}, 100)
    assert one.n == 1 and one.ci_low is None and not one.significant
    assert verdict("a", "b", one) == "a − b: +10.00 F1 points (seed 1), n=1: no confidence interval"
    none = paired_difference({1: 0.8}, {2: 0.7}, 100)
    assert verdict("a", "b", none) == "a − b: no seeds in common"


def test_signed_uses_a_real_minus_and_no_negative_zero():
    assert signed(0.42) == "+0.42"
    assert signed(-0.1) == "−0.10"
    assert signed(-0.001) == "+0.00"


def test_the_readme_example_verdict_with_seeds_needed():
    from wd_train.experiments.stats import seeds_needed

    diff = paired_difference({1: 0.9010, 2: 0.9060, 3: 0.9020}, {1: 0.9, 2: 0.9, 3: 0.9},
                             scale=100)
    assert seeds_needed(diff.mean, diff.std) == 9
    assert verdict("warmup_decay", "constant", diff) == (
        "warmup_decay − constant: +0.30 F1 points, 95 % CI [−0.36, +0.96], not significant "
        "with 3 seeds; about 9 seeds would detect +0.30 80 % of the time")


def test_seeds_needed_matches_the_power_of_a_paired_t_test():
    """Check against a simulation: with the returned n, a paired t-test on normal differences
    of that mean and spread rejects about 80 % of the time; with n − 1, less."""
    from scipy.stats import ttest_1samp

    from wd_train.experiments.stats import seeds_needed

    n = seeds_needed(1.0, 1.0)  # effect size 1: 10 in the textbooks' tables
    assert n == 10
    rng = np.random.default_rng(0)
    for size, low, high in ((n, 0.78, 0.86), (n - 1, 0.70, 0.79)):
        rejected = np.mean([ttest_1samp(rng.normal(1.0, 1.0, size), 0).pvalue < 0.05
                            for _ in range(4000)])
        assert low < rejected < high
    assert seeds_needed(0.0, 1.0) is None and seeds_needed(1.0, None) is None
    assert seeds_needed(1.0, 0.0) is None  # no spread: a t-test is not defined


def test_holm_adjustment():
    from wd_train.experiments.stats import holm

    # sorted 0.01, 0.02, 0.04 (m = 3): 0.03, max(0.03, 0.04), max(0.04, 0.04); None stays out
    assert holm([0.04, 0.01, None, 0.02]) == pytest.approx([0.04, 0.03, None, 0.04])
    assert holm([0.5, 0.6]) == [1.0, 1.0]
    assert holm([]) == []


def test_differences_that_cancel_out_are_zero_not_rounding_noise():
    """−0.35 and +0.35 points: a mean of 0, not 5.6e-15 (which read "+0.00 … more than 1000
    seeds would be needed")."""
    diff = paired_difference({1: 0.8212, 2: 0.8302}, {1: 0.8247, 2: 0.8267}, 100)
    assert diff.mean == 0.0 and diff.p_value == pytest.approx(1.0)
    assert verdict("a", "b", diff) == \
        "a − b: +0.00 F1 points, 95 % CI [−4.45, +4.45], not significant with 2 seeds"
