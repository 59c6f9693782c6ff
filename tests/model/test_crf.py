"""The CRF (model/crf.py) against brute force: on random tiny cases the log-partition is the
log-sum-exp over every tag sequence and Viterbi the arg-max over every sequence; the scheme's
constraints; packing words and back."""

import itertools
import math

import numpy as np
import pytest

from wd_train.evaluation import count_invalid
from wd_train.model.crf import (
    FORBIDDEN,
    allowed_transitions,
    log_partition,
    pack_words,
    sequence_score,
    viterbi_decode,
)


def brute_force(emissions, length, transitions, start, end):
    scores = {}
    for tags in itertools.product(range(emissions.shape[1]), repeat=length):
        scores[tags] = (start[tags[0]] + end[tags[-1]]
                        + sum(emissions[t, tags[t]] for t in range(length))
                        + sum(transitions[tags[t - 1], tags[t]] for t in range(1, length)))
    return scores


@pytest.mark.parametrize("trial", range(12))
def test_log_partition_and_viterbi_equal_brute_force(trial):
    rng = np.random.default_rng(trial)
    batch, words, tags = 3, int(rng.integers(1, 5)), int(rng.integers(1, 5))
    emissions = rng.normal(size=(batch, words, tags)).astype(np.float32)
    transitions = rng.normal(size=(tags, tags)).astype(np.float32)
    start, end = (rng.normal(size=tags).astype(np.float32) for _ in range(2))
    lengths = rng.integers(0, words + 1, size=batch).astype(np.int32)
    lengths[0] = words  # at least one full row
    log_z = log_partition(emissions, lengths, transitions, start, end).numpy()
    decoded = viterbi_decode(emissions, lengths, transitions, start, end).numpy()
    for row, length in enumerate(lengths):
        if length == 0:
            assert log_z[row] == 0 and not decoded[row].any()
            continue
        scores = brute_force(emissions[row], length, transitions, start, end)
        expected = math.log(sum(math.exp(s) for s in scores.values()))
        assert log_z[row] == pytest.approx(expected, abs=1e-4)
        best = max(scores, key=scores.get)
        assert tuple(decoded[row, :length]) == best
        assert not decoded[row, length:].any()
        gold = np.zeros((1, words), np.int32)
        gold[0, :length] = best
        score = sequence_score(emissions[row:row + 1], gold, lengths[row:row + 1],
                               transitions, start, end).numpy()[0]
        assert score == pytest.approx(scores[best], abs=1e-4)


def test_gradients_are_finite_even_with_forbidden_transitions():
    import tensorflow as tf

    from wd_train.model.crf import crf_negative_log_likelihood

    rng = np.random.default_rng(1)
    emissions = tf.Variable(rng.normal(size=(2, 4, 3)).astype(np.float32))
    forbidden, _, _ = allowed_transitions(["B-X", "I-X", "O"], "iob2")
    transitions = tf.Variable(forbidden)
    start, end = tf.Variable(np.zeros(3, np.float32)), tf.Variable(np.zeros(3, np.float32))
    tags = tf.constant([[0, 1, 2, 0], [2, 2, 0, 0]])
    with tf.GradientTape() as tape:
        nll = crf_negative_log_likelihood(emissions, tags, tf.constant([4, 2]), transitions,
                                          start, end)
    gradients = tape.gradient(nll, [emissions, transitions, start, end])
    assert np.all(nll.numpy() > 0)
    assert all(np.all(np.isfinite(g.numpy())) for g in gradients)


def test_pack_words():
    import tensorflow as tf

    mask = tf.constant([[False, True, False, True, True], [False, False, True, False, False]])
    values = tf.constant([[0, 5, 0, 6, 7], [0, 0, 8, 0, 0]])
    packed, lengths = pack_words(values, mask)
    assert packed.numpy().tolist() == [[5, 6, 7, 0, 0], [8, 0, 0, 0, 0]]
    scores = tf.random.normal([2, 5, 3])
    packed_scores, _ = pack_words(scores, mask)
    np.testing.assert_array_equal(packed_scores[0, :3], tf.gather(scores[0], [1, 3, 4]))
    assert not packed_scores[1, 1:].numpy().any()
    assert lengths.numpy().tolist() == [3, 1]


def test_iob2_constraints():
    labels = ["B-PER", "I-PER", "B-LOC", "I-LOC", "O"]
    transitions, start, end = allowed_transitions(labels, "iob2")
    allowed = transitions == 0
    assert start.tolist() == [0, FORBIDDEN, 0, FORBIDDEN, 0] and not end.any()
    assert allowed[0, 1] and allowed[1, 1]  # B-PER I-PER, I-PER I-PER
    assert not allowed[4, 1] and not allowed[2, 1] and not allowed[3, 1]  # O/LOC then I-PER
    assert allowed[:, [0, 2, 4]].all()  # B-* and O may follow anything


def test_bioes_constraints():
    labels = ["B-X", "I-X", "E-X", "S-X", "O"]
    transitions, start, end = allowed_transitions(labels, "bioes")
    allowed = {(a, b) for i, a in enumerate(labels) for j, b in enumerate(labels)
               if transitions[i, j] == 0}
    assert allowed == {("B-X", "I-X"), ("B-X", "E-X"), ("I-X", "I-X"), ("I-X", "E-X"),
                       *((a, b) for a in ("E-X", "S-X", "O") for b in ("B-X", "S-X", "O"))}
    assert [labels[i] for i in np.flatnonzero(start == 0)] == ["B-X", "S-X", "O"]
    assert [labels[i] for i in np.flatnonzero(end == 0)] == ["E-X", "S-X", "O"]


def test_count_invalid_sequences():
    assert count_invalid([["B-PER", "I-PER", "O"], ["O", "I-PER"], ["B-LOC", "I-PER"],
                          ["I-LOC"], []], "iob2") == 3
    assert count_invalid([["S-X", "B-X", "E-X"], ["B-X", "O"]], "bioes") == 1  # B-X not closed


def test_invalid_sequences_are_counted_in_the_run_scheme_not_one_guessed_from_the_tags():
    # BIOES predictions without a single E-/S- tag (an early epoch): still BIOES, still invalid
    unclosed = [["B-PER", "I-PER"], ["B-PER"], ["O"]]
    assert count_invalid(unclosed, "bioes") == 2
    assert count_invalid(unclosed, "iob2") == 0


def test_a_batch_without_words_decodes_to_nothing():
    """A replica's empty share of a small batch: zero rows, or rows without a word."""
    import tensorflow as tf

    transitions = tf.zeros([3, 3])
    start = end = tf.zeros([3])
    for rows in (0, 2):
        logits = tf.zeros([rows, 5, 3])
        mask = tf.zeros([rows, 5], tf.bool)
        packed, lengths = pack_words(logits, mask)
        assert packed.shape[1] == 5 and not lengths.numpy().any()
        assert log_partition(packed, lengths, transitions, start, end).numpy().tolist() == \
            [0.0] * rows
        decoded = viterbi_decode(packed, lengths, transitions, start, end)
        assert decoded.numpy().tolist() == [[0] * 5] * rows
        assert decoded.shape[0] == rows


def test_one_word_rows_in_a_graph_of_unknown_batch_size():
    """In a tf.function with a free batch size (the training step), a batch of one-word
    sentences must not leave the recursions an empty scan to stack."""
    import tensorflow as tf

    from wd_train.model.crf import crf_negative_log_likelihood

    spec = tf.TensorSpec([None, None], tf.int32)

    @tf.function(input_signature=[spec, spec])
    def nll_and_path(labels, mask_ids):
        mask = mask_ids > 0
        logits = tf.one_hot(tf.maximum(labels, 0), 3)
        emissions, lengths = pack_words(logits, mask)
        tags, _ = pack_words(labels, mask)
        zeros = tf.zeros([3])
        nll = crf_negative_log_likelihood(emissions, tags, lengths, tf.zeros([3, 3]), zeros,
                                          zeros)
        return nll, viterbi_decode(emissions, lengths, tf.zeros([3, 3]), zeros, zeros)

    labels = tf.constant([[-1, 2, -1], [-1, 1, -1]])
    nll, path = nll_and_path(labels, tf.cast(labels >= 0, tf.int32))
    assert np.all(np.isfinite(nll.numpy()))
    assert path.numpy().tolist() == [[2, 0, 0], [1, 0, 0]]
