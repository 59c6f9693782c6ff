import numpy as np

from wd_train.data.batching import batch_indices, batches_per_epoch, pad_batch
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
