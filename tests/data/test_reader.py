from pathlib import Path

import pytest

from wd_train.data.reader import check_labels_known, read_conll
from wd_train.data.tags import iob1_to_iob2, tag_problem
from wd_train.errors import WdTrainError


def write(tmp_path: Path, text: str, name: str = "f.conll", encoding="utf-8") -> Path:
    path = tmp_path / name
    path.write_bytes(text.encode(encoding))
    return path


def test_columns_docstart_tabs_and_label_column(tmp_path):
    path = write(tmp_path, "-DOCSTART- -X- O O\n\nEU NNP B-NP B-ORG\nrejects\tVBZ\tB-VP\tO\n\n"
                 "Peter NNP B-NP B-PER\nBlackburn NNP I-NP I-PER\n")
    sentences = read_conll(path)
    assert [s.tokens for s in sentences] == [["EU", "rejects"], ["Peter", "Blackburn"]]
    assert sentences[1].tags == ["B-PER", "I-PER"]
    assert sentences[1].line == 6
    chunks = read_conll(path, label_column=2, scheme="iob2")
    assert chunks[0].tags == ["B-NP", "B-VP"]


def test_limit(tmp_path):
    path = write(tmp_path, "a O\n\nb O\n\nc O\n")
    assert len(read_conll(path, limit=2)) == 2


def test_malformed_line_names_file_and_line(tmp_path):
    path = write(tmp_path, "EU B-ORG\nrejects\n")
    with pytest.raises(WdTrainError, match=rf"^{path}:2: expected at least 2 columns"):
        read_conll(path)


def test_bad_tag_names_file_and_line(tmp_path):
    path = write(tmp_path, "EU B-ORG\n\nx X-ORG\n")
    with pytest.raises(WdTrainError, match=rf"^{path}:3: tag 'X-ORG' is not valid in IOB2"):
        read_conll(path)
    bioes = write(tmp_path, "New B-LOC\nYork E-LOC\nParis S-LOC\n", "b.conll")
    assert read_conll(bioes, scheme="bioes")[0].tags == ["B-LOC", "E-LOC", "S-LOC"]
    with pytest.raises(WdTrainError, match="E-LOC"):
        read_conll(bioes, scheme="iob2")


def test_empty_file_and_missing_file(tmp_path):
    with pytest.raises(WdTrainError, match="no sentences found"):
        read_conll(write(tmp_path, "\n\n"))
    with pytest.raises(WdTrainError, match="data file not found"):
        read_conll(tmp_path / "missing.conll")


def test_bad_encoding_names_line(tmp_path):
    path = tmp_path / "latin.conll"
    path.write_bytes("a O\n\nM\xfcnchen B-LOC\n".encode("latin-1"))
    with pytest.raises(WdTrainError, match=rf"^{path}:3: not valid utf-8"):
        read_conll(path)
    assert read_conll(path, encoding="latin-1")[1].tokens == ["München"]


def test_unseen_label_names_file_and_line(tmp_path):
    path = write(tmp_path, "a O\nb B-PER\n\nc B-LOC\n")
    with pytest.raises(WdTrainError, match=rf"^{path}:4: tag 'B-LOC' does not occur"):
        check_labels_known(read_conll(path), {"O", "B-PER"}, path)


def test_iob1_converted_to_iob2(tmp_path):
    assert iob1_to_iob2(["I-PER", "I-PER", "O", "I-LOC", "B-LOC", "I-ORG"]) == [
        "B-PER", "I-PER", "O", "B-LOC", "B-LOC", "B-ORG"]
    path = write(tmp_path, "Peter I-PER\nBlackburn I-PER\nin O\nBonn I-LOC\n")
    assert read_conll(path, scheme="iob1")[0].tags == ["B-PER", "I-PER", "O", "B-LOC"]
    assert tag_problem("I-PER", "iob1") is None


def test_chinese_one_character_per_line(shared_data):
    if not (shared_data / "zh-time").exists():
        pytest.skip("shared data not here")
    sentences = read_conll(shared_data / "zh-time" / "time.train", limit=50)
    assert len(sentences) == 50
    assert all(len(token) == 1 for s in sentences for token in s.tokens)
    assert any(tag == "B-TIME" for s in sentences for tag in s.tags)


def test_chars_format_checks_one_character_per_token(tmp_path):
    path = write(tmp_path, "北 B-LOC\n京 I-LOC\n\n上海 B-LOC\n")
    with pytest.raises(WdTrainError, match=rf"^{path}:4: data.format is chars"):
        read_conll(path, format="chars")
    assert len(read_conll(path)) == 2


def test_tokens_only_files_and_tag_column_detection(tmp_path):
    from wd_train.data.reader import has_tag_column

    tokens = tmp_path / "tokens.txt"
    tokens.write_text("-DOCSTART-\n\nEU\nrejects\n\nPeter\n")
    tagged = tmp_path / "tagged.txt"
    tagged.write_text("EU NNP B-ORG\nrejects VBZ O\n")
    assert has_tag_column(tokens.read_text(), tokens) is False
    assert has_tag_column(tagged.read_text(), tagged) is True
    sentences = read_conll(tokens, tokens_only=True)
    assert [s.tokens for s in sentences] == [["EU", "rejects"], ["Peter"]]
    assert [s.tags for s in sentences] == [["O", "O"], ["O"]]
    tokens.write_text("EU\nrejects VBZ O\n")  # a tag column after a tokens-only first line
    with pytest.raises(WdTrainError, match=r"tokens.txt:2: expected one column"):
        read_conll(tokens, tokens_only=True)
    with pytest.raises(WdTrainError, match="no sentences"):
        has_tag_column("\n\n", tmp_path / "blank.txt")


def test_a_byte_order_mark_is_not_part_of_the_first_token(tmp_path):
    path = tmp_path / "bom.conll"
    path.write_bytes("-DOCSTART- O\n\nEU B-ORG\n".encode("utf-8-sig"))
    (sentence,) = read_conll(path)
    assert sentence.tokens == ["EU"] and sentence.line == 3


def test_lines_end_at_newlines_and_columns_split_at_spaces_and_tabs_only(tmp_path):
    text = "1\u00a0000 O\nLine\u2028Sep O\nform\x0cfeed O\r\nEU\tB-ORG\n"
    path = write(tmp_path, text)
    (sentence,) = read_conll(path)
    assert sentence.tokens == ["1\u00a0000", "Line\u2028Sep", "form\x0cfeed", "EU"]
    assert sentence.token_lines == [1, 2, 3, 4]  # no line numbers shifted


def test_a_row_with_another_column_count_is_refused_at_its_line(tmp_path):
    path = write(tmp_path, "EU NNP B-ORG\nrejects VBZ O\n\nNew York NNP B-LOC\n")
    with pytest.raises(WdTrainError, match=r"f.conll:4: 4 columns, but line 1 has 3"):
        read_conll(path)


def test_invalid_iob2_starts_are_repaired_refused_or_kept(tmp_path):
    path = write(tmp_path, "the O\nUnion I-ORG\nsaid O\nJohn B-PER\nParis I-LOC\n")
    (repaired,) = read_conll(path)
    assert repaired.tags == ["O", "B-ORG", "O", "B-PER", "B-LOC"] and repaired.repaired == 2
    (kept,) = read_conll(path, on_invalid_tags="keep")
    assert kept.tags == ["O", "I-ORG", "O", "B-PER", "I-LOC"] and kept.repaired == 0
    with pytest.raises(WdTrainError, match=r"f.conll:2: I-ORG does not continue an entity "
                                           r"\(after O\)"):
        read_conll(path, on_invalid_tags="error")
    (bioes,) = read_conll(write(tmp_path, "Union I-ORG\n", "b.conll"), scheme="bioes")
    assert bioes.tags == ["I-ORG"]  # the repair is IOB2's; BIOES files are read as written
