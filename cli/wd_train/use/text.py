"""Raw text for a tagger: words with their character offsets, and entities from word tags.

Words follow the training data's convention: for `conll` data BERT's basic tokenizer rules
(split at whitespace and control characters; every punctuation character and every CJK
character a word of its own), for `chars` data one word per non-space character. Splitting is
done here, on the original text, so that every word keeps its offsets: `text[start:end]` is the
word (casing and accents are the wordpiece stage's business, as in training).
"""

from __future__ import annotations

import unicodedata
from dataclasses import asdict, dataclass


@dataclass(frozen=True)
class Word:
    text: str
    start: int  # character offsets into the original text
    end: int


def _is_whitespace(ch: str) -> bool:
    # BERT: spaces, tabs, newlines and category Zs, then Python's split(), which also breaks
    # at U+2028/U+2029 and the other characters str.isspace() knows
    return ch.isspace() or unicodedata.category(ch) == "Zs"


def _is_control(ch: str) -> bool:
    return ch not in "\t\n\r" and unicodedata.category(ch).startswith("C")


def _is_punctuation(ch: str) -> bool:
    cp = ord(ch)  # BERT counts all non-letter/number ASCII as punctuation ($, ^, ` too)
    if 33 <= cp <= 47 or 58 <= cp <= 64 or 91 <= cp <= 96 or 123 <= cp <= 126:
        return True
    return unicodedata.category(ch).startswith("P")


# CJK ideographs, each a word of its own (BERT's ranges); export.py builds its RE2 class here
CJK_RANGES = ((0x4E00, 0x9FFF), (0x3400, 0x4DBF), (0x20000, 0x2A6DF), (0x2A700, 0x2B73F),
              (0x2B740, 0x2B81F), (0x2B820, 0x2CEAF), (0xF900, 0xFAFF), (0x2F800, 0x2FA1F))


def _is_cjk(ch: str) -> bool:
    cp = ord(ch)
    return any(low <= cp <= high for low, high in CJK_RANGES)


def split_words(text: str, data_format: str = "conll") -> list[Word]:
    """The words of `text`, with offsets (see the module docstring)."""
    words: list[Word] = []
    start: int | None = None

    def close(end: int) -> None:
        nonlocal start
        if start is not None:
            words.append(Word(text[start:end], start, end))
            start = None

    for index, ch in enumerate(text):
        if _is_whitespace(ch) or _is_control(ch) or ch in "\x00\ufffd":
            close(index)
        elif data_format == "chars" or _is_punctuation(ch) or _is_cjk(ch):
            close(index)
            words.append(Word(ch, index, index + 1))
        elif start is None:
            start = index
    close(len(text))
    return words


@dataclass(frozen=True)
class Entity:
    """One entity of a raw text: `text[start:end]` is `text`. Its dict (JSON lines, the
    SavedModel's rows) has these four keys."""

    type: str
    start: int  # character offsets into the original text
    end: int
    text: str

    def as_dict(self) -> dict:
        return asdict(self)


def entity_spans(words: list[Word], tags: list[str], text: str) -> list[Entity]:
    """The entities with character offsets; seqeval's chunker reads the tags (IOB2 or BIOES;
    an I-X that starts a chunk counts, as in conlleval)."""
    from seqeval.metrics.sequence_labeling import get_entities

    spans = []
    for entity_type, first, last in get_entities(list(tags)):
        start, end = words[first].start, words[last].end
        spans.append(Entity(entity_type, start, end, text[start:end]))
    return spans
