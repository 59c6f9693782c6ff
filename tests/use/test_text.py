"""Raw text → words with offsets → entities: offsets always point back into the text."""

from pathlib import Path

import pytest

from wd_train.use.text import Entity, entity_spans, split_words

TEXTS = [
    "Angela Merkel visited Paris.",
    "  John   Smith ,  of   the  Red Cross!!",
    "São Paulo e Zürich: Ærø & Ōsaka — «Montréal»",
    "U.S.-based I.B.M. paid $3.5bn (approx.) on 1996-08-30",
    "北京欢迎你, Beijing!",
    "tab\there\u00a0nbsp\u2028line\x00null",
]


@pytest.mark.parametrize("text", TEXTS)
def test_every_word_is_its_own_slice_of_the_text(text):
    words = split_words(text)
    assert words, text
    for word in words:
        assert text[word.start:word.end] == word.text
        assert word.text.strip() == word.text and word.text
    assert [w.start for w in words] == sorted(w.start for w in words)


def test_bert_basic_tokenizer_rules():
    assert [w.text for w in split_words("U.S.-based $3.5bn (approx.)")] == [
        "U", ".", "S", ".", "-", "based", "$", "3", ".", "5bn", "(", "approx", ".", ")"]
    assert [w.text for w in split_words("北京 欢迎")] == ["北", "京", "欢", "迎"]
    assert [w.text for w in split_words("a\u00a0b\u2028c\x00d")] == ["a", "b", "c", "d"]
    assert [w.text for w in split_words("ab c", "chars")] == ["a", "b", "c"]


def test_entities_carry_character_offsets_for_iob2_and_bioes():
    text = "  Angela  Merkel  visited São Paulo ."
    words = split_words(text)
    tags = ["B-PER", "I-PER", "O", "B-LOC", "I-LOC", "O"]
    assert entity_spans(words, tags, text) == [
        Entity(type="PER", start=2, end=16, text="Angela  Merkel"),
        Entity(type="LOC", start=26, end=35, text="São Paulo")]
    bioes = ["B-PER", "E-PER", "O", "B-LOC", "E-LOC", "O"]
    assert entity_spans(words, bioes, text) == entity_spans(words, tags, text)
    # an I- that starts a chunk counts, as in conlleval (and seqeval's scoring)
    assert entity_spans(words, ["O", "I-PER", "O", "O", "O", "O"], text) == [
        Entity(type="PER", start=10, end=16, text="Merkel")]


def test_stdin_raw_text_is_utf8_or_refused_with_its_line(monkeypatch):
    import io
    import sys

    from wd_train.errors import WdTrainError
    from wd_train.use.predict import read_raw_texts

    def stdin(data: bytes):
        monkeypatch.setattr(sys, "stdin", io.TextIOWrapper(io.BytesIO(data)))

    stdin("Angela Merkel\nin Zürich\n".encode())
    assert read_raw_texts(Path("-"), []) == ["Angela Merkel", "in Zürich"]
    stdin(b"fine\nbad \xff byte\n")
    with pytest.raises(WdTrainError, match=r"-:2: not valid UTF-8 \(byte 0xff\)"):
        read_raw_texts(Path("-"), [])
