"""Use a finished run: tag a CoNLL file with its best weights and, when the file carries gold
tags, score it with seqeval; or tag raw texts and return their entities with character offsets.
What `wd-train predict` calls.

The file is read with the run's own data settings (format, tag column, scheme, encoding) and
encoded with its vocab, casing and max_seq_len, so a file like the run's test set scores exactly
as the run's test set did. A file with one column holds tokens only: it is tagged, not scored.
"""

from __future__ import annotations

import logging
import sys
from dataclasses import dataclass, replace
from pathlib import Path

from ..config import read_saved_config
from ..data.dataset import read_settings
from ..data.reader import (
    ReadSettings,
    Sentence,
    check_labels_known,
    has_tag_column,
    read_text,
    split_columns,
    split_lines,
)
from ..data.tags import tag_problem
from ..data.wordpieces import WordPieceAligner, encode_sentences, load_vocab
from ..errors import WdTrainError
from ..evaluation import Scores, conll_lines, score
from ..run_dir import CONFIG_FILE, TAGGER_FILE, TaggerFile, read_tagger_file
from .text import Entity, Word, entity_spans, split_words

log = logging.getLogger(__name__)


@dataclass
class Prediction:
    input: Path
    sentences: list[Sentence]
    predicted: list[list[str]]
    scores: Scores | None  # None when the file has no gold tags

    def conll_lines(self) -> str:
        """`word gold predicted` (conlleval's input) or `word predicted` without gold."""
        return conll_lines(self.sentences, self.predicted, gold=self.scores is not None)

    def as_dict(self) -> dict:
        return {
            "input": str(self.input),
            "sentences": len(self.sentences),
            "words": sum(len(s.tokens) for s in self.sentences),
            "scored": self.scores is not None,
            **(self.scores.model_dump() if self.scores is not None else {}),
        }


def _run_read_settings(run_dir: Path) -> ReadSettings:
    """How the run read its data files; a file to tag is read whole (data.limit caps the run's
    training data, not what it tags)."""
    return replace(read_settings(read_saved_config(run_dir / CONFIG_FILE).data), limit=None)


def _tag(run_dir: Path, tagger: TaggerFile, sentences: list[Sentence],
         batch_size: int, constrained: bool | None = None,
         allow_unfinished: bool = False) -> list[list[str]]:
    """Every word's tag, with the run's vocab, casing, max_seq_len and best weights, decoded as
    the run did or, when `constrained` is given, with or without the scheme's constraints."""
    from ..evaluation import make_predict_function, predict_tags
    from .trained import decoding_constraints, load_trained

    vocab_path = tagger.vocab_path(run_dir)
    if not vocab_path.exists():
        raise WdTrainError(f"{run_dir}/{TAGGER_FILE}: vocab {vocab_path} not found")
    aligner = WordPieceAligner(load_vocab(vocab_path), tagger.lowercase, tagger.max_seq_len)
    # Gold ids only mark which pieces are predicted (each word's first): any tag will do here.
    placeholders = [Sentence(s.tokens, ["O"] * len(s.tokens), s.line) for s in sentences]
    windows = encode_sentences(placeholders, aligner, {"O": 0})
    model, _ = load_trained(run_dir, tagger, allow_unfinished=allow_unfinished)
    predict = make_predict_function(
        model, constraints=decoding_constraints(tagger, constrained))
    return predict_tags(predict, windows, sentences, tagger.labels,
                        batch_size)


def predict_file(run_dir: Path | str, input_path: Path | str, batch_size: int = 64,
                 constrained: bool | None = None, allow_unfinished: bool = False
                 ) -> Prediction:
    """Tag (and score, when it has gold tags) `input_path` with the finished run `run_dir`
    (`allow_unfinished`: or an unfinished run's latest weights). `constrained`: None decodes
    as the run did; True/False with/without the scheme's constraints."""
    run_dir, input_path = Path(run_dir), Path(input_path)
    # fails early, before TensorFlow, on a run that is not one
    tagger = read_tagger_file(run_dir, allow_unfinished)
    settings = _run_read_settings(run_dir)
    # read once: sniffed, then parsed; a named pipe is a stream to tag (`<(zcat x.gz)`)
    text = read_text(input_path, settings.encoding, stream=True)
    scored = has_tag_column(text, input_path)
    sentences = settings.read(input_path, tokens_only=not scored, text=text)
    if scored:  # a gold tag the model cannot predict would score as a silent miss
        check_labels_known(sentences, set(tagger.labels), input_path)
    predicted = _tag(run_dir, tagger, sentences, batch_size, constrained, allow_unfinished)
    scores = score([s.tags for s in sentences], predicted, tagger.scheme) if scored else None
    return Prediction(input_path, sentences, predicted, scores)


@dataclass
class TextPrediction:
    """One raw text, tagged: its words (with offsets), their tags and the entities."""

    text: str
    words: list[Word]
    tags: list[str]
    entities: list[Entity]

    def as_dict(self) -> dict:
        return {"text": self.text, "entities": [e.as_dict() for e in self.entities]}


def predict_texts(run_dir: Path | str, texts: list[str], batch_size: int = 64,
                  constrained: bool | None = None, allow_unfinished: bool = False
                  ) -> list[TextPrediction]:
    """Raw texts → words (the training data's convention) → tags → entities with character
    offsets into each text. An empty text has no words and no entities."""
    run_dir = Path(run_dir)
    tagger = read_tagger_file(run_dir, allow_unfinished)
    words = [split_words(text, tagger.data_format) for text in texts]
    sentences = [Sentence([w.text for w in ws], ["O"] * len(ws), number)
                 for number, ws in enumerate(words, start=1) if ws]
    tagged = iter(_tag(run_dir, tagger, sentences, batch_size, constrained, allow_unfinished)
                  if sentences else [])
    predictions = []
    for text, ws in zip(texts, words):
        tags = next(tagged) if ws else []
        predictions.append(TextPrediction(text, ws, tags, entity_spans(ws, tags, text)))
    return predictions


def read_raw_texts(input_path: Path | None, texts: list[str], input_kind: str = "auto"
                   ) -> list[str] | None:
    """The texts to tag when the input is raw text (`--text`, `-` for stdin, a .txt file: one
    text per line), or None when it is a CoNLL file. With `auto` a .txt file whose first line
    ends in a tag (`EU B-ORG`) is CoNLL: the Hugging Face layout of CoNLL-2003 names its files
    *.txt. The file is read once."""
    if input_kind not in ("auto", "text", "conll"):
        raise WdTrainError(f"--input {input_kind}: expected auto, text or conll")
    if texts:
        return list(texts)
    if str(input_path) == "-":
        return _lines(_read_stdin())
    if input_kind == "conll" or (input_kind == "auto" and input_path.suffix != ".txt"):
        return None
    content = read_text(input_path, "utf-8", stream=True)
    if input_kind == "auto" and _ends_in_tags(content):
        log.warning(f"{input_path}: its lines end in tags, read as a CoNLL file (--input text "
                    "reads it as raw text)")
        return None
    return _lines(content)


STDIN_LIMIT = 1 << 30  # bytes: raw text beyond this is a file's job (or /dev/zero)


def _read_stdin() -> str:
    """Standard input as UTF-8, refused as a file would be (with its line) when it is not, and
    refused past STDIN_LIMIT bytes rather than read without end."""
    data = sys.stdin.buffer.read(STDIN_LIMIT + 1)
    if len(data) > STDIN_LIMIT:
        raise WdTrainError(f"-: standard input is longer than {STDIN_LIMIT >> 20} MiB; give a "
                           "file instead")
    try:
        return data.decode("utf-8-sig")
    except UnicodeDecodeError as exc:
        line = data[: exc.start].count(b"\n") + 1
        raise WdTrainError(f"-:{line}: not valid UTF-8 (byte {data[exc.start]:#04x})") from None


def _lines(content: str) -> list[str]:
    texts = content.split("\n")
    return texts[:-1] if len(texts) > 1 and texts[-1] == "" else texts  # the last newline


def _ends_in_tags(content: str) -> bool:
    for line in split_lines(content):
        columns = split_columns(line)
        if columns:
            return columns[0] == "-DOCSTART-" or (
                len(columns) >= 2 and tag_problem(columns[-1], "bioes") is None)
    return False


def text_conll_lines(predictions: list[TextPrediction]) -> str:
    """`word predicted` per line, a blank line after each text (as for a tokens-only file)."""
    out = []
    for prediction in predictions:
        out.extend(f"{w.text} {t}" for w, t in zip(prediction.words, prediction.tags))
        out.append("")
    return "\n".join(out) + "\n"


def scores_table(prediction: Prediction) -> str:
    """seqeval's report for a scored file; a one-line count for a tokens-only one."""
    words = sum(len(s.tokens) for s in prediction.sentences)
    if prediction.scores is None:
        return f"{prediction.input}: tagged {len(prediction.sentences)} sentences, {words} words"
    return (f"{prediction.input}: {len(prediction.sentences)} sentences, {words} words, "
            f"micro F1 {prediction.scores.f1:.4f}\n{prediction.scores.report}")
