"""The evaluation stage: predict every word's tag (windows stitched back into sentences) and
score entities with seqeval (word level, the real tag strings). Shared by the training loop
(dev after every epoch, test at the end) and by `wd-train predict`."""

from __future__ import annotations

import itertools
from collections.abc import Callable
from dataclasses import dataclass

import numpy as np
from pydantic import BaseModel, Field

from .data.batching import Padding, batch_indices, pad_batch
from .data.reader import Sentence
from .data.wordpieces import IGNORE, Window

FRACTION = {"ge": 0.0, "le": 1.0, "allow_inf_nan": False}  # a score read back must be one


class TypeScores(BaseModel):
    precision: float = Field(**FRACTION)
    recall: float = Field(**FRACTION)
    f1: float = Field(**FRACTION)
    support: int = Field(ge=0)


class Scores(BaseModel):
    """Entity-level micro scores and per type; as recorded in metrics.json and results lines."""

    # a fraction in [0, 1]: a damaged results line or metrics.json with NaN, Infinity or −5
    # is refused when read, never summarised into invalid JSON
    precision: float = Field(**FRACTION)
    recall: float = Field(**FRACTION)
    f1: float = Field(**FRACTION)
    per_type: dict[str, TypeScores]
    # predicted sentences whose tags break the tag scheme (I-X after O or another type)
    invalid_sequences: int | None = None
    # share of words tagged inside an entity (not O), predicted and gold: a run collapsing to
    # all-O shows as a predicted share of 0 long before anyone reads its F1
    predicted_entity_share: float | None = Field(None, **FRACTION)
    gold_entity_share: float | None = Field(None, **FRACTION)
    # seqeval's classification report (report.txt); not part of the recorded scores
    report: str = Field("", exclude=True, repr=False)


@dataclass
class Predictor:
    """A tagger's prediction in two steps. `windows` runs the model over a batch of windows
    (token ids, segment ids → per piece: the tag id, or per-tag scores when `sentences` is
    set); `sentences` then decodes whole sentences from their words' scores by Viterbi
    (model/decoding.py: sentence_decoder)."""

    windows: Callable
    sentences: Callable | None


def make_predict_function(model, jit_compile: bool = False, constraints=None) -> Predictor:
    """The model's prediction, decoded as its head does, constrained to the tag scheme when
    `constraints` are given."""
    import tensorflow as tf

    from .model.decoding import piece_outputs_function, sentence_decoder

    ids = tf.TensorSpec([None, None], tf.int32)
    outputs = piece_outputs_function(model, constraints)

    @tf.function(input_signature=[ids, ids], jit_compile=jit_compile)
    def windows(token_ids, segment_ids):
        return outputs(model([token_ids, segment_ids], training=False))

    decode = sentence_decoder(model, constraints)
    sentences = None if decode is None else tf.function(decode, input_signature=[
        tf.TensorSpec([None, None, None], tf.float32), tf.TensorSpec([None], tf.int32)])
    return Predictor(windows, sentences)


def predict_tags(
    predict: Predictor, windows: list[Window], sentences: list[Sentence], labels: list[str],
    batch_size: int, pad_to_multiple_of: Padding | int = 1,
) -> list[list[str]]:
    """Tag of every word of every sentence (windows stitched back together; Viterbi, where
    the head decodes by it, over the stitched sentence)."""
    viterbi = predict.sentences is not None
    # per sentence: each word's tag id, or its per-tag scores; and whether a window gave it
    per_word = [np.zeros((len(s.tokens), len(labels)), np.float32) if viterbi
                else np.zeros(len(s.tokens), np.int64) for s in sentences]
    given = [np.zeros(len(s.tokens), bool) for s in sentences]
    lengths = [len(w.token_ids) for w in windows]
    for indices in batch_indices(lengths, batch_size, rng=None):
        tokens, segments, gold = pad_batch(windows, indices, pad_to_multiple_of)
        outputs = predict.windows(tokens, segments).numpy()
        for row, index in enumerate(indices):
            window = windows[index]
            at_words = outputs[row][gold[row] != IGNORE]
            span = slice(window.first_word, window.first_word + len(at_words))
            per_word[window.sentence][span] = at_words
            given[window.sentence][span] = True
    missing = sum(int((~g).sum()) for g in given)
    if missing:  # cannot happen unless alignment is broken; never score a partial prediction
        raise RuntimeError(f"{missing} words received no prediction")
    tag_ids = _viterbi(predict.sentences, per_word, batch_size) if viterbi else per_word
    return [[labels[i] for i in ids] for ids in tag_ids]


def _viterbi(decode: Callable, scores: list[np.ndarray], batch_size: int) -> list[np.ndarray]:
    """Each sentence's best tag ids from its words' scores [words, C], sentences of similar
    length batched together."""
    tag_ids = [np.zeros(0, np.int64) for _ in scores]
    lengths = [len(s) for s in scores]
    non_empty = [i for i, n in enumerate(lengths) if n]
    for indices in batch_indices([lengths[i] for i in non_empty], batch_size, rng=None):
        batch = [non_empty[i] for i in indices]
        width = max(lengths[i] for i in batch)
        padded = np.zeros((len(batch), width, scores[batch[0]].shape[1]), np.float32)
        for row, i in enumerate(batch):
            padded[row, : lengths[i]] = scores[i]
        decoded = decode(padded, np.array([lengths[i] for i in batch], np.int32)).numpy()
        for row, i in enumerate(batch):
            tag_ids[i] = decoded[row, : lengths[i]]
    return tag_ids


def score(gold: list[list[str]], predicted: list[list[str]], scheme: str) -> Scores:
    """seqeval's entity scores; `scheme` (iob2 or bioes, the tags' own) for counting the
    predicted sentences that break it."""
    from seqeval.metrics import classification_report, f1_score, precision_score, recall_score

    report_dict = classification_report(gold, predicted, output_dict=True, zero_division=0)
    per_type = {
        name: TypeScores(precision=float(v["precision"]), recall=float(v["recall"]),
                         f1=float(v["f1-score"]), support=int(v["support"]))
        for name, v in report_dict.items()
        if not name.endswith(" avg")
    }
    return Scores(
        precision=float(precision_score(gold, predicted, zero_division=0)),
        recall=float(recall_score(gold, predicted, zero_division=0)),
        f1=float(f1_score(gold, predicted, zero_division=0)),
        per_type=per_type,
        invalid_sequences=count_invalid(predicted, scheme),
        predicted_entity_share=entity_share(predicted),
        gold_entity_share=entity_share(gold),
        report=classification_report(gold, predicted, digits=4, zero_division=0),
    )


def entity_share(tags: list[list[str]]) -> float:
    """The share of words whose tag is not O (0 for no words)."""
    words = sum(len(sentence) for sentence in tags)
    inside = sum(tag != "O" for sentence in tags for tag in sentence)
    return inside / words if words else 0.0


def count_invalid(predicted: list[list[str]], scheme: str) -> int:
    """Sentences whose predicted tags break `scheme` (iob2 or bioes; the run's, never guessed
    from the predictions, which may lack every E-/S- tag): the transitions constrained decoding
    forbids (model/crf.py)."""
    from .model.crf import FORBIDDEN, allowed_transitions

    labels = sorted({tag for tags in predicted for tag in tags})
    transitions, start, end = allowed_transitions(labels, scheme)
    index = {label: i for i, label in enumerate(labels)}
    invalid = 0
    for tags in predicted:
        ids = [index[t] for t in tags]
        if ids and (start[ids[0]] == FORBIDDEN or end[ids[-1]] == FORBIDDEN or any(
                transitions[a, b] == FORBIDDEN for a, b in itertools.pairwise(ids))):
            invalid += 1
    return invalid


def conll_lines(sentences: list[Sentence], predicted: list[list[str]], gold: bool = True) -> str:
    """`word gold predicted` (conlleval's input; `word predicted` without gold), one word per
    line, a blank line between sentences."""
    out = []
    for sentence, tags in zip(sentences, predicted):
        if gold:
            out.extend(f"{w} {g} {p}" for w, g, p in zip(sentence.tokens, sentence.tags, tags))
        else:
            out.extend(f"{w} {p}" for w, p in zip(sentence.tokens, tags))
        out.append("")
    return "\n".join(out) + "\n"


def evaluate(predict, split, labels: list[str], scheme: str, batch_size: int,
             pad_to_multiple_of: Padding | int = 1):
    """(Scores, predicted tags) for an encoded split whose tags are in `scheme`."""
    predicted = predict_tags(predict, split.windows, split.sentences, labels, batch_size,
                             pad_to_multiple_of)
    gold = [s.tags for s in split.sentences]
    return score(gold, predicted, scheme), predicted

