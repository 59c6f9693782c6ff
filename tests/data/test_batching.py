import itertools

import numpy as np
import pytest

from wd_train.data.batching import (
    Padding,
    batch_indices,
    batches_per_epoch,
    choose_length_buckets,
    pad_batch,
    padding_efficiency,
    run_batches,
)
from wd_train.data.wordpieces import IGNORE, Window


def test_batches_cover_everything_once_and_follow_the_seed():
    lengths = np.random.default_rng(0).integers(3, 60, size=1000)
    first = batch_indices(lengths, 16, np.random.default_rng(5))
    again = batch_indices(lengths, 16, np.random.default_rng(5))
    other = batch_indices(lengths, 16, np.random.default_rng(6))
    assert sorted(np.concatenate(first).tolist()) == list(range(1000))
    assert all(np.array_equal(a, b) for a, b in zip(first, again))
    assert not all(np.array_equal(a, b) for a, b in zip(first, other))


def test_bucketing_keeps_padding_small():
    lengths = np.random.default_rng(1).integers(3, 120, size=4000)
    batches = batch_indices(lengths, 32, np.random.default_rng(0))
    padded = sum(len(b) * lengths[b].max() for b in batches)
    assert lengths.sum() / padded > 0.9  # random batches would be about 0.5


def test_pad_batch_pads_to_longest_member():
    windows = [Window(0, 0, [2, 7, 3], [IGNORE, 1, IGNORE]),
               Window(1, 0, [2, 7, 8, 9, 3], [IGNORE, 0, 1, 1, IGNORE])]
    tokens, segments, labels = pad_batch(windows, np.array([0, 1]))
    assert tokens.shape == (2, 5)
    assert tokens[0].tolist() == [2, 7, 3, 0, 0]
    assert labels[0].tolist() == [IGNORE, 1, IGNORE, IGNORE, IGNORE]
    assert not segments.any()


def test_evaluation_order_is_sorted_without_rng():
    batches = batch_indices([5, 1, 3], 2, None)
    assert [b.tolist() for b in batches] == [[1, 2], [0]]


def test_batches_per_epoch_matches_the_sampler():
    for count, size in [(1, 32), (100, 32), (1600, 32), (1601, 32), (5000, 7)]:
        batches = batch_indices(np.ones(count), size, np.random.default_rng(0))
        assert batches_per_epoch(count, size) == len(batches)


def test_padding_to_a_multiple_bounds_the_number_of_shapes():
    windows = [Window(0, 0, [2] * n, [0] * n) for n in range(3, 60)]
    lengths = [len(w.token_ids) for w in windows]
    batches = batch_indices(lengths, 4, np.random.default_rng(0))
    widths = {pad_batch(windows, b, 16)[0].shape[1] for b in batches}
    assert widths <= {16, 32, 48, 64} and len(widths) <= 4  # one per multiple of 16, at most
    exact = {pad_batch(windows, b)[0].shape[1] for b in batches}
    assert len(exact) > len(widths)  # without rounding every length is a shape of its own
    tokens, _, labels = pad_batch(windows, batches[0], 16)
    assert (tokens[:, max(len(windows[i].token_ids) for i in batches[0]):] == 0).all()
    assert (labels[:, max(len(windows[i].token_ids) for i in batches[0]):] == IGNORE).all()


def test_random_batches_are_one_batch_pools():
    """data.batching: random is the sampler with pools of one batch: every batch a random draw
    (so far more padding than bucketed), all windows once, batches_per_epoch still exact."""
    rng = np.random.default_rng(0)
    lengths = rng.integers(5, 120, 1000)
    random_batches = batch_indices(lengths, 32, np.random.default_rng(1), pool_batches=1)
    bucketed = batch_indices(lengths, 32, np.random.default_rng(1))
    assert sorted(np.concatenate(random_batches).tolist()) == list(range(1000))
    assert len(random_batches) == batches_per_epoch(1000, 32, pool_batches=1) == 32

    def padded(batches):
        return sum(len(b) * lengths[b].max() for b in batches)

    assert padded(random_batches) > 1.5 * padded(bucketed)


def _lognormal(median, sigma, count, seed=0):
    rng = np.random.default_rng(seed)
    return np.clip(np.round(rng.lognormal(np.log(median), sigma, count)), 3, 128).astype(int)


@pytest.mark.parametrize("name,lengths", [
    ("sentences around 40 pieces", _lognormal(40, 0.25, 8000)),
    ("short lines and long paragraphs", np.concatenate([
        np.random.default_rng(1).integers(4, 12, 4000),
        np.random.default_rng(2).integers(60, 128, 4000)])),
    ("a handful of lengths", np.random.default_rng(3).choice([7, 19, 33, 64, 90], 3000)),
    ("one length", np.full(500, 24)),
])
def test_length_buckets_from_the_data_waste_little_padding(name, lengths):
    """XLA's padded widths chosen from the run's batches (sortish, 3 epochs, batch 32): at
    most 8 widths, every batch fits in one, ≥ 90 % of the padded tokens real."""
    batches = run_batches(lengths, 32, seed=7, epochs=3)
    widths = [int(lengths[b].max()) for b in batches]
    buckets = choose_length_buckets(widths, [len(b) for b in batches], 8)
    assert 1 <= len(buckets) <= 8 and list(buckets) == sorted(set(buckets))
    assert max(buckets) == max(widths)  # every batch fits: none falls back to a multiple
    padding = Padding(16, buckets)
    assert all(padding.width(w) in buckets and padding.width(w) >= w for w in widths)
    efficiency = padding_efficiency(lengths, batches, padding)
    assert efficiency >= 0.9, (name, buckets, efficiency)
    assert efficiency >= padding_efficiency(lengths, batches, 16)  # never worse than before
    if len(set(widths)) <= 8:  # as many widths as batch lengths: no padding beyond the batch's
        assert efficiency == padding_efficiency(lengths, batches, 1)


def test_length_buckets_are_the_least_padding_choice():
    """Brute force over every choice of up to 3 widths ending at the longest."""
    rng = np.random.default_rng(4)
    widths, rows = rng.integers(3, 30, 60), rng.integers(1, 33, 60)
    distinct = sorted(set(widths.tolist()))

    def padded(buckets):
        return sum(r * Padding(1, buckets).width(w) for w, r in zip(widths, rows))

    best = min(padded((*inner, distinct[-1])) for k in range(3)
               for inner in itertools.combinations(distinct[:-1], k))
    chosen = choose_length_buckets(widths, rows, 3)
    assert len(chosen) <= 3 and padded(chosen) == best


def test_a_broad_distribution_gets_the_best_8_widths_even_below_90_percent():
    """CoNLL-like lengths (3 to 128, median 18): 8 widths cannot reach 90 % (about 16 would),
    yet they waste far less than multiples of 16."""
    lengths = _lognormal(18, 0.6, 14000)
    batches = run_batches(lengths, 32, seed=1, epochs=3)
    widths = [int(lengths[b].max()) for b in batches]
    buckets = choose_length_buckets(widths, [len(b) for b in batches], 8)
    assert len(buckets) == 8 and max(buckets) == max(widths)
    chosen = padding_efficiency(lengths, batches, Padding(16, buckets))
    assert chosen > padding_efficiency(lengths, batches, 16) + 0.05


def test_run_batches_are_the_samplers_batches_epoch_after_epoch():
    lengths = np.random.default_rng(0).integers(3, 60, size=300)
    rng = np.random.default_rng(9)
    expected = batch_indices(lengths, 16, rng) + batch_indices(lengths, 16, rng)
    got = run_batches(lengths, 16, seed=9, epochs=2)
    assert len(got) == len(expected)
    assert all(np.array_equal(a, b) for a, b in zip(got, expected))


def test_padding_width_takes_the_smallest_bucket_that_fits_else_a_multiple():
    padding = Padding(16, (12, 20, 40))
    assert [padding.width(n) for n in (3, 12, 13, 40, 41, 70)] == [12, 12, 20, 40, 48, 80]
    assert [Padding(8).width(n) for n in (1, 8, 9)] == [8, 8, 16]
