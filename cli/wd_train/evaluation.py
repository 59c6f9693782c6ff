"""The evaluation stage: predict every word's tag (windows stitched back into sentences) and
score entities with seqeval (word level, the real tag strings). Shared by the training loop
(dev after every epoch, test at the end) and by `wd-train predict`."""

from __future__ import annotations

import itertools

from pydantic import BaseModel, Field

from .data.batching import batch_indices, pad_batch
from .data.reader import Sentence
from .data.wordpieces import IGNORE, Window


class TypeScores(BaseModel):
    precision: float
    recall: float
    f1: float
    support: int


class Scores(BaseModel):
    """Entity-level micro scores and per type; as recorded in metrics.json and results lines."""

    precision: float
    recall: float
    f1: float
    per_type: dict[str, TypeScores]
    # predicted sentences whose tags break the tag scheme (I-X after O or another type)
    invalid_sequences: int | None = None
    # seqeval's classification report (report.txt); not part of the recorded scores
    report: str = Field("", exclude=True, repr=False)


def make_predict_function(model, jit_compile: bool = False, constraints=None):
    """(token ids, segment ids, word mask) → tag ids, decoded as the model's head does
    (model/decoding.py), constrained to the tag scheme when `constraints` are given."""
    import tensorflow as tf

    from .model.decoding import decode_function

    spec = tf.TensorSpec([None, None], tf.int32)
    decode = decode_function(model, constraints)

    @tf.function(input_signature=[spec, spec, tf.TensorSpec([None, None], tf.bool)],
                 jit_compile=jit_compile)
    def predict(token_ids, segment_ids, word_mask):
        logits = model([token_ids, segment_ids], training=False)
        return decode(logits, word_mask)

    return predict


def predict_tags(
    predict, windows: list[Window], sentences: list[Sentence], labels: list[str],
    batch_size: int, pad_to_multiple_of: int = 1,
) -> list[list[str]]:
    """Tag of every word of every sentence (windows stitched back together)."""
    predicted: list[list[str | None]] = [[None] * len(s.tokens) for s in sentences]
    lengths = [len(w.token_ids) for w in windows]
    for indices in batch_indices(lengths, batch_size, rng=None):
        tokens, segments, gold = pad_batch(windows, indices, pad_to_multiple_of)
        label_ids = predict(tokens, segments, gold != IGNORE).numpy()
        for row, index in enumerate(indices):
            window = windows[index]
            word_labels = label_ids[row][gold[row] != IGNORE]
            start = window.first_word
            for offset, label_id in enumerate(word_labels):
                predicted[window.sentence][start + offset] = labels[label_id]
    missing = sum(tag is None for tags in predicted for tag in tags)
    if missing:  # cannot happen unless alignment is broken; never score a partial prediction
        raise RuntimeError(f"{missing} words received no prediction")
    return predicted  # type: ignore[return-value]


def score(gold: list[list[str]], predicted: list[list[str]]) -> Scores:
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
        invalid_sequences=count_invalid(predicted),
        report=classification_report(gold, predicted, digits=4, zero_division=0),
    )


def count_invalid(predicted: list[list[str]]) -> int:
    """Sentences whose predicted tags break the tag scheme (BIOES when any tag is E- or S-,
    else IOB2): the transitions constrained decoding forbids (model/crf.py)."""
    from .model.crf import FORBIDDEN, allowed_transitions

    labels = sorted({tag for tags in predicted for tag in tags})
    scheme = "bioes" if any(t[:2] in ("E-", "S-") for t in labels) else "iob2"
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


def evaluate(predict, split, labels: list[str], batch_size: int, pad_to_multiple_of: int = 1):
    """(Scores, predicted tags) for an encoded split."""
    predicted = predict_tags(predict, split.windows, split.sentences, labels, batch_size,
                             pad_to_multiple_of)
    gold = [s.tags for s in split.sentences]
    return score(gold, predicted), predicted

