import numpy as np
import pytest

from wd_train.train import masked_loss, steps_per_epoch


def test_masked_loss_ignores_masked_positions_and_averages_as_configured():
    import tensorflow as tf

    labels = tf.constant([[-1, 1, -1, 0], [-1, 2, -1, -1]])
    logits = tf.constant(np.random.default_rng(0).normal(size=(2, 4, 3)), tf.float32)
    per_position = tf.keras.losses.sparse_categorical_crossentropy(
        tf.maximum(labels, 0), logits, from_logits=True).numpy()
    kept = per_position[[0, 0, 1], [1, 3, 1]]
    assert float(masked_loss(labels, logits)) == pytest.approx(kept.mean(), rel=1e-6)
    # words: the sum over this batch's 3 words divided by the average words per batch (say 6)
    assert float(masked_loss(labels, logits, 6.0)) == pytest.approx(kept.sum() / 6, rel=1e-6)
    changed = logits.numpy()
    changed[0, 0] += 5.0  # a [CLS]/padding position: no effect
    assert float(masked_loss(labels, tf.constant(changed))) == pytest.approx(kept.mean(),
                                                                           rel=1e-6)


def test_steps_per_epoch_matches_the_sampler():
    from wd_train.batching import batch_indices

    for count, size in [(1, 32), (100, 32), (1600, 32), (1601, 32), (5000, 7)]:
        batches = batch_indices(np.ones(count), size, np.random.default_rng(0))
        assert steps_per_epoch(count, size) == len(batches)
