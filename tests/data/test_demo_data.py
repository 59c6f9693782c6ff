"""The committed synthetic demo data (data/demo/) and its generator (data/make_demo.py)."""

from __future__ import annotations

import re
import subprocess
import sys
from pathlib import Path

import pytest

ROOT = Path(__file__).resolve().parents[2]
DATA = ROOT / "data" / "demo"
SCRIPT = ROOT / "data" / "make_demo.py"
SPLITS = ("train", "dev", "test")
TYPES = ("PER", "LOC", "ORG", "MISC")
TAG = re.compile(r"O|[BI]-(PER|LOC|ORG|MISC)")

Sentence = list[tuple[str, str]]


def parse(path: Path) -> list[Sentence]:
    """Strict reader: fails on anything that is not 2-column, space-separated CoNLL IOB2."""
    raw = path.read_bytes()
    assert b"\r" not in raw, f"{path.name}: CR line endings"
    text = raw.decode("utf-8")
    assert text.endswith("\n"), f"{path.name}: no final newline"
    assert not text.startswith("\n"), f"{path.name}: starts with a blank line"
    assert "\n\n\n" not in text, f"{path.name}: more than one blank line between sentences"
    sentences: list[Sentence] = []
    current: Sentence = []
    previous = "O"
    for number, line in enumerate(text.split("\n")[:-1], start=1):
        where = f"{path.name}:{number}"
        if line == "":
            assert current, f"{where}: blank line without a sentence before it"
            sentences.append(current)
            current, previous = [], "O"
            continue
        columns = line.split(" ")
        assert len(columns) == 2, f"{where}: expected `token TAG`, got {line!r}"
        token, tag = columns
        assert token and token == token.strip(), f"{where}: bad token {token!r}"
        assert token != "-DOCSTART-", f"{where}: -DOCSTART- line"
        assert TAG.fullmatch(tag), f"{where}: bad tag {tag!r}"
        if tag.startswith("I-"):
            assert previous[2:] == tag[2:] and previous != "O", (
                f"{where}: {tag} does not continue a {tag[2:]} entity (previous tag {previous})"
            )
        current.append((token, tag))
        previous = tag
    if current:
        sentences.append(current)
    return sentences


@pytest.fixture(scope="module")
def splits() -> dict[str, list[Sentence]]:
    return {split: parse(DATA / f"{split}.conll") for split in SPLITS}


def test_files_are_valid_conll_iob2(splits):
    for split, sentences in splits.items():
        assert sentences, f"{split}: no sentences"


def test_regeneration_is_byte_identical(tmp_path):
    subprocess.run(
        [sys.executable, str(SCRIPT), "--out", str(tmp_path)],
        check=True,
        capture_output=True,
        cwd=tmp_path,
    )
    for split in SPLITS:
        committed = (DATA / f"{split}.conll").read_bytes()
        regenerated = (tmp_path / f"{split}.conll").read_bytes()
        assert regenerated == committed, f"{split}.conll differs from the generator's output"


def test_dev_and_test_sentences_are_not_in_train(splits):
    train = {tuple(tok for tok, _ in s) for s in splits["train"]}
    for split in ("dev", "test"):
        leaked = [s for s in splits[split] if tuple(tok for tok, _ in s) in train]
        assert not leaked, f"{len(leaked)} {split} sentences also occur in train"


def test_every_split_has_all_entity_types(splits):
    for split, sentences in splits.items():
        found = {tag[2:] for s in sentences for _, tag in s if tag.startswith("B-")}
        assert found == set(TYPES), f"{split}: entity types {sorted(found)}"


def test_sizes_and_long_sentences(splits):
    sizes = {split: len(sentences) for split, sentences in splits.items()}
    assert sizes == {"train": 3000, "dev": 500, "test": 500}
    for split, sentences in splits.items():
        lengths = [len(s) for s in sentences]
        assert 12 <= sum(lengths) / len(lengths) <= 20, f"{split}: mean sentence length"
        assert any(n >= 60 for n in lengths), f"{split}: no sentence of 60+ tokens"
        assert max(lengths) <= 120, f"{split}: sentence of {max(lengths)} tokens"
