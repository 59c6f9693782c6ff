"""Evaluation's decoding: windows stitched back into sentences, Viterbi over whole sentences."""

import numpy as np
import pytest

from wd_train.data.reader import Sentence
from wd_train.data.wordpieces import IGNORE, Window
from wd_train.evaluation import Predictor, count_invalid, predict_tags

LABELS = ["O", "B-X", "I-X", "B-Y", "I-Y"]
CLS, SEP = 101, 102


class SoftmaxModel:
    """What the decoders ask of a softmax tagger: it has no CRF layer."""

    def get_layer(self, name):
        raise ValueError(name)


def windows_of(sentence: int, cuts: list[tuple[int, list[int]]]) -> list[Window]:
    """Windows of one sentence: (first word, that window's token ids, one piece per word)."""
    return [Window(sentence, first, [CLS, *tokens, SEP], [IGNORE, *[0] * len(tokens), IGNORE])
            for first, tokens in cuts]


def predictor(word_scores: dict[int, list[float]], constrained: bool) -> Predictor:
    """A softmax tagger whose logits for token id t are word_scores[t] (0 elsewhere), decoded as
    evaluation decodes it, with or without the IOB2 constraints."""
    import tensorflow as tf

    from wd_train.model.decoding import (
        piece_outputs_function,
        scheme_constraints,
        sentence_decoder,
    )

    table = np.zeros((103, len(LABELS)), np.float32)
    for token, scores in word_scores.items():
        table[token] = scores
    model = SoftmaxModel()
    constraints = scheme_constraints(LABELS, "iob2") if constrained else None
    outputs = piece_outputs_function(model, constraints)
    decode = sentence_decoder(model, constraints)
    return Predictor(lambda tokens, segments: outputs(tf.gather(table, tokens)),
                     None if decode is None else tf.function(decode))


def strong(label: str, margin: float = 5.0) -> list[float]:
    return [margin if name == label else 0.0 for name in LABELS]


def test_an_entity_cut_by_a_window_boundary_stays_one_entity():
    """`B-X | I-X` across the cut: decoding window by window, the start constraint would force
    the second window's first word to B-X (two entities, both wrong)."""
    scores = {1: strong("O"), 2: strong("B-X"), 3: strong("I-X"), 4: strong("O")}
    sentence = Sentence(["a", "b", "c", "d"], ["O", "B-X", "I-X", "O"], 1)
    windows = windows_of(0, [(0, [1, 2]), (2, [3, 4])])
    for constrained in (False, True):
        tags = predict_tags(predictor(scores, constrained), windows, [sentence], LABELS, 8)
        assert tags == [["O", "B-X", "I-X", "O"]]


def test_constraints_hold_across_a_window_boundary():
    """`O | I-X` across the cut is invalid: constrained Viterbi over the whole sentence repairs
    it, as it would inside one window; the arg-max keeps it."""
    weak_inside = [0.0, 1.5, 2.0, 0.0, 0.0]  # I-X first, B-X a close second
    scores = {1: strong("O"), 2: weak_inside, 3: strong("I-X")}
    sentence = Sentence(["a", "b", "c"], ["O", "B-X", "I-X"], 1)
    windows = windows_of(0, [(0, [1]), (1, [2, 3])])
    assert predict_tags(predictor(scores, False), windows, [sentence], LABELS, 8) == [
        ["O", "I-X", "I-X"]]
    constrained = predict_tags(predictor(scores, True), windows, [sentence], LABELS, 8)
    assert constrained == [["O", "B-X", "I-X"]]
    assert count_invalid(constrained, "iob2") == 0


def test_sentences_of_every_length_decode_in_one_batch():
    """One-word and empty sentences beside long ones; windows in any order."""
    scores = {1: strong("B-Y"), 2: strong("I-Y"), 3: strong("O")}
    sentences = [Sentence(["a"], ["B-Y"], 1), Sentence([], [], 1),
                 Sentence(["a", "b", "c", "a", "b"], ["B-Y", "I-Y", "O", "B-Y", "I-Y"], 1)]
    windows = [*windows_of(2, [(3, [1, 2]), (0, [1, 2, 3])]), *windows_of(0, [(0, [1])])]
    for constrained in (False, True):
        tags = predict_tags(predictor(scores, constrained), windows, sentences, LABELS, 2)
        assert tags == [s.tags for s in sentences]


def test_a_word_without_a_window_is_an_error_not_a_silent_tag():
    sentence = Sentence(["a", "b"], ["O", "O"], 1)
    with pytest.raises(RuntimeError, match="1 words received no prediction"):
        predict_tags(predictor({}, True), windows_of(0, [(0, [1])]), [sentence], LABELS, 8)
