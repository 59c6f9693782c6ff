"""Words → wordpieces, labels on first pieces, long sentences split into windows.

Each word is tokenized on its own with keras_bert's `Tokenizer` (so piece boundaries never cross
words); its label sits on its first piece. Other pieces, [CLS], [SEP] and padding carry
IGNORE and are left out of the loss and of prediction.

A sentence with more pieces than fit in `max_seq_len` is cut into several windows at word
boundaries, so that every word is predicted exactly once and scored: nothing is truncated
(the article's scripts and HF's run_ner silently drop the tail). A single word longer than a
whole window keeps only its first pieces — its label is still predicted from the first piece.
"""

from __future__ import annotations

import math
from dataclasses import dataclass
from pathlib import Path

from ..bert_folder import CLS, SEP, UNK, vocab_problem
from ..errors import WdTrainError
from ..files import read_regular_file
from .reader import Sentence

IGNORE = -1
# BERT's wordpiece `max_input_chars_per_word`: a longer word is one [UNK]. keras_bert has no such
# limit and its wordpiece search is quadratic (a 10 000-character word took 100 s).
MAX_WORD_CHARS = 100


@dataclass
class Window:
    sentence: int  # index of the sentence in its split
    first_word: int  # index in that sentence of the window's first word
    token_ids: list[int]  # [CLS] pieces… [SEP]
    label_ids: list[int]  # label id on each word's first piece, IGNORE elsewhere

    @property
    def num_words(self) -> int:
        return sum(1 for label in self.label_ids if label != IGNORE)


def load_vocab(path: Path | str) -> dict[str, int]:
    path = Path(path)
    try:
        lines = read_regular_file(path, "vocab").decode("utf-8").splitlines()
    except UnicodeDecodeError as exc:
        raise WdTrainError(f"{path}: cannot read vocab ({exc})") from None
    problem = vocab_problem(path, lines)
    if problem is not None:
        raise WdTrainError(problem)
    return {token.strip(): index for index, token in enumerate(lines) if token.strip()}


def guess_lowercase(vocab: dict[str, int]) -> bool:
    """An uncased vocab has (almost) no capitalised entries."""
    words = [w for w in vocab if w.isalpha()]
    capitalised = sum(1 for w in words if w[0].isupper())
    return capitalised < 0.01 * max(1, len(words))


class WordPieceAligner:
    def __init__(self, vocab: dict[str, int], lowercase: bool, max_seq_len: int):
        from keras_bert import Tokenizer  # imports TensorFlow: keep it out of module import

        self.vocab = vocab
        self.tokenizer = Tokenizer(vocab, cased=not lowercase)
        self.max_seq_len = max_seq_len
        self.unk_id = vocab[UNK]
        self._cache: dict[str, list[int]] = {}

    def word_piece_ids(self, word: str) -> list[int]:
        ids = self._cache.get(word)
        if ids is None and len(word) > MAX_WORD_CHARS:
            ids = self._cache[word] = [self.unk_id]
        if ids is None:
            pieces = self.tokenizer._tokenize(word)  # keras_bert's basic + wordpiece split
            ids = [self.vocab.get(p, self.unk_id) for p in pieces]
            # keras_bert falls back to one unknown piece per character; BERT's own tokenizer
            # maps a word it cannot split into known pieces to a single [UNK]. Do as BERT does:
            # it is what the pretrained weights saw, and it keeps windows short.
            if not ids or self.unk_id in ids:
                ids = [self.unk_id]
            self._cache[word] = ids
        return ids

    def windows(self, sentence_index: int, words: list[str], label_ids: list[int]) -> list[Window]:
        capacity = self.max_seq_len - 2
        pieces = [self.word_piece_ids(w)[:capacity] for w in words]
        total = sum(len(p) for p in pieces)
        # Balanced cut: aim for equal windows rather than full ones and a short tail.
        target = math.ceil(total / math.ceil(total / capacity)) if total else capacity
        result: list[Window] = []
        start = 0
        while start < len(words):
            end, used = start, 0
            while end < len(words) and used + len(pieces[end]) <= capacity:
                if used >= target:
                    break
                used += len(pieces[end])
                end += 1
            token_ids = [self.vocab[CLS]]
            window_labels = [IGNORE]
            for word_pieces, label in zip(pieces[start:end], label_ids[start:end]):
                token_ids.extend(word_pieces)
                window_labels.extend([label] + [IGNORE] * (len(word_pieces) - 1))
            token_ids.append(self.vocab[SEP])
            window_labels.append(IGNORE)
            result.append(Window(sentence_index, start, token_ids, window_labels))
            start = end
        return result


def encode_sentences(
    sentences: list[Sentence],
    aligner: WordPieceAligner,
    label_to_id: dict[str, int],
) -> list[Window]:
    windows: list[Window] = []
    for index, sentence in enumerate(sentences):
        label_ids = [label_to_id[tag] for tag in sentence.tags]
        windows.extend(aligner.windows(index, sentence.tokens, label_ids))
    return windows
