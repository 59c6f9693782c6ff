"""`wd-train check-data`: each finding on a small file that shows it."""

import json

from wd_train.config import load_config
from wd_train.data.check import check_data, findings_text


def _config(tmp_path, tiny_dataset, tiny_config_dict, write_config, **files):
    config = tiny_config_dict(tiny_dataset, tmp_path / "out")
    for split, text in files.items():
        path = tmp_path / f"{split}.conll"
        path.write_text(text, encoding="utf-8")
        config["data"][split] = str(path)
    return write_config(tmp_path / "c.yaml", config)


TRAIN = ("John B-PER\nsmith I-PER\nvisited O\nlondon B-LOC\n.\tO\n \t\n"
         "the O\nunion I-ORG\nsaid O\n\n"
         "qqqzzz O\nqqqzzz O\nberlin B-LOC\n")
DEV = "John B-PER\nsmith I-PER\nvisited O\nlondon B-LOC\n. O\n\nparis B-LOC\n"


def test_findings_on_a_small_data_set(tmp_path, tiny_dataset, tiny_config_dict, write_config):
    long_test = " O\n".join(["london"] * 40) + " O\n"  # 42 pieces: two windows of 24
    path = _config(tmp_path, tiny_dataset, tiny_config_dict, write_config,
                   train=TRAIN, dev=DEV, test=long_test)
    findings = check_data(load_config(path)[0], str(path))
    train, dev, test = findings.splits
    assert (train.sentences, train.words, train.entities) == (3, 11, {"LOC": 2, "ORG": 1,
                                                                     "PER": 1})
    assert train.repaired_tags == 1  # "union I-ORG" after O, read as B-ORG
    assert train.blank_lines_with_spaces == 1
    assert train.unknown_words == 3  # qqqzzz twice, and "union" (no ##ion in the vocab)
    assert train.most_frequent_unknown == [("qqqzzz", 2), ("union", 1)]
    assert dev.shared_with_train == 1 and dev.first_shared_at.endswith("dev.conll:1")
    assert dev.unseen_tags == [] and findings.refused == []
    assert test.multi_window_sentences == 1 and test.longest_pieces == 42
    text = findings_text(findings)
    assert "1 invalid IOB2 tag (I-X after O or another type) read as B-X" in text
    assert "most frequent [UNK] words: qqqzzz ×2, union ×1" in text
    assert "1 sentence longer than one window at max_seq_len 24" in text
    assert text.endswith("training would accept this data")


def test_refusals_exit_2_after_the_report(tmp_path, tiny_dataset, tiny_config_dict, write_config,
                                          wd_invoke):
    path = _config(tmp_path, tiny_dataset, tiny_config_dict, write_config,
                   train=TRAIN, dev=DEV + "\nRome B-GPE\n", test="EU B-ORG\nrejects\n")
    result = wd_invoke("check-data", path, "--json")
    assert result.exit_code == 2
    findings = json.loads(result.stdout)
    test = findings["splits"][2]
    assert "test.conll:2: expected at least 2 columns" in test["error"]
    assert findings["splits"][1]["unseen_tags"] == ["B-GPE"]
    assert result.stderr.strip().splitlines() == [
        (f"wd-train: error: {tmp_path}/test.conll:2: expected at least 2 columns (token and "
        "tag), got 1: 'rejects'"),
        f"wd-train: error: {tmp_path}/dev.conll: tags not in the training data: B-GPE"]
    plain = wd_invoke("check-data", path)
    assert "test: REFUSED: " in plain.stdout and "training would refuse this data" in plain.stdout
