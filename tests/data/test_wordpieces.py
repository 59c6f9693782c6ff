import random

import pytest

from wd_train.data.reader import Sentence
from wd_train.data.wordpieces import (
    IGNORE,
    WordPieceAligner,
    encode_sentences,
    guess_lowercase,
    load_vocab,
)
from wd_train.errors import WdTrainError


@pytest.fixture
def vocab(write_vocab, tmp_path):
    return load_vocab(write_vocab(tmp_path / "vocab.txt"))


def test_first_piece_carries_the_label(tiny_vocab_tokens, vocab):
    aligner = WordPieceAligner(vocab, lowercase=True, max_seq_len=32)
    # "Londons" → london ##s; "Xx" → x ##x ; "zzz" → unknown pieces
    [window] = aligner.windows(0, ["Londons", "said", "Xx"], [1, 0, 2])
    pieces = [tiny_vocab_tokens()[i] for i in window.token_ids]
    assert pieces == ["[CLS]", "london", "##s", "said", "x", "##x", "[SEP]"]
    assert window.label_ids == [IGNORE, 1, IGNORE, 0, 2, IGNORE, IGNORE]
    assert window.num_words == 3


def test_casing_follows_the_setting(vocab):
    cased = WordPieceAligner(vocab, lowercase=False, max_seq_len=32)
    assert cased.word_piece_ids("London") == [vocab["[UNK]"]]
    assert WordPieceAligner(vocab, True, 32).word_piece_ids("London") == [vocab["london"]]


@pytest.mark.parametrize("max_seq_len", [8, 9, 16, 33])
def test_every_word_is_in_exactly_one_window(tiny_vocab_tokens, vocab, max_seq_len):
    rng = random.Random(max_seq_len)
    words = [w for w in tiny_vocab_tokens()[5:] if not w.startswith("##")]
    sentences = []
    for _ in range(40):
        length = rng.randint(1, 90)
        tokens = [rng.choice(words) + rng.choice(["", "s", "ing", "xx"]) for _ in range(length)]
        sentences.append(Sentence(tokens, ["O"] * length, 1))
    aligner = WordPieceAligner(vocab, True, max_seq_len)
    windows = encode_sentences(sentences, aligner, {"O": 0})
    assert all(len(w.token_ids) <= max_seq_len for w in windows)
    covered = {}
    for window in windows:
        for offset in range(window.num_words):
            key = (window.sentence, window.first_word + offset)
            assert key not in covered
            covered[key] = True
    assert len(covered) == sum(len(s.tokens) for s in sentences)


def test_overlong_word_keeps_its_first_pieces(vocab):
    aligner = WordPieceAligner(vocab, True, max_seq_len=8)
    [window] = aligner.windows(0, ["x" * 20], [1])
    assert len(window.token_ids) == 8 and window.label_ids[1] == 1


def test_vocab_checks(tmp_path):
    bad = tmp_path / "v.txt"
    bad.write_text("[UNK]\n[CLS]\n[SEP]\n", encoding="utf-8")
    with pytest.raises(WdTrainError, match="expected \\[PAD\\] as token 0"):
        load_vocab(bad)
    bad.write_text("[PAD]\nhello\n", encoding="utf-8")
    with pytest.raises(WdTrainError, match="lacks the special tokens"):
        load_vocab(bad)


def test_guess_lowercase(tiny_vocab_tokens):
    assert guess_lowercase({w: i for i, w in enumerate(tiny_vocab_tokens())})
    assert not guess_lowercase({"The": 0, "London": 1, "the": 2})


def test_a_word_over_100_characters_is_one_unknown_piece_at_once(tiny_vocab_tokens, write_vocab,
                                                                 tmp_path):
    import time

    vocab = load_vocab(write_vocab(tmp_path / "vocab.txt"))
    aligner = WordPieceAligner(vocab, lowercase=True, max_seq_len=16)
    started = time.perf_counter()
    assert aligner.word_piece_ids("x" * 10_000) == [vocab["[UNK]"]]  # BERT's limit
    assert time.perf_counter() - started < 1.0  # keras_bert's search took 100 s on this word
    assert aligner.word_piece_ids("x" * 100) != [vocab["[UNK]"]]  # 100 is still split
