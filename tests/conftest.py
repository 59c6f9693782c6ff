"""Shared fixtures: a tiny vocab, tiny CoNLL files and config files written per test."""

from __future__ import annotations

import random
from pathlib import Path

import pytest
import yaml

import wd_train  # noqa: F401  (sets TF_USE_LEGACY_KERAS before anything imports TensorFlow)

SHARED_DATA = Path(__file__).resolve().parents[2] / "shared" / "data"

PEOPLE = ["john smith", "mary jones", "peter blackburn", "anna schmidt", "li wei", "carlos diaz"]
PLACES = ["london", "new york", "berlin", "paris", "tokyo", "sao paulo"]
ORGS = ["acme corp", "bank of england", "red cross", "united nations"]
FILLER = ["the", "said", "on", "monday", "in", "visited", "met", "with", "from", "and", "a",
          "report", "today", "officials", ",", ".", "of", "to", "was"]

SPECIAL = ["[PAD]", "[UNK]", "[CLS]", "[SEP]", "[MASK]"]


def tiny_vocab_tokens() -> list[str]:
    words = sorted({w for phrase in PEOPLE + PLACES + ORGS for w in phrase.split()} | set(FILLER))
    pieces = ["##s", "##ing", "##ed", "x", "##x", "un", "##able"]
    return SPECIAL + words + pieces


def write_vocab(path: Path) -> Path:
    path.write_text("\n".join(tiny_vocab_tokens()) + "\n", encoding="utf-8")
    return path


def make_sentences(count: int, seed: int, long_every: int = 0) -> list[list[tuple[str, str]]]:
    """Template sentences with PER/LOC/ORG entities; every `long_every`-th one is very long."""
    rng = random.Random(seed)
    sentences = []
    for index in range(count):
        words: list[tuple[str, str]] = []
        parts = 3 if not (long_every and index % long_every == 0) else 25
        for _ in range(parts):
            kind, names = rng.choice([("PER", PEOPLE), ("LOC", PLACES), ("ORG", ORGS)])
            for position, token in enumerate(rng.choice(names).split()):
                words.append((token.title(), ("B-" if position == 0 else "I-") + kind))
            words.extend((rng.choice(FILLER), "O") for _ in range(rng.randint(1, 3)))
        words.append((".", "O"))
        sentences.append(words)
    return sentences


def write_conll(path: Path, sentences) -> Path:
    lines = []
    for sentence in sentences:
        lines.extend(f"{token} {tag}" for token, tag in sentence)
        lines.append("")
    path.write_text("\n".join(lines) + "\n", encoding="utf-8")
    return path


@pytest.fixture
def tiny_dataset(tmp_path: Path) -> dict[str, Path]:
    return {
        "train": write_conll(tmp_path / "train.conll", make_sentences(60, 1, long_every=15)),
        "dev": write_conll(tmp_path / "dev.conll", make_sentences(20, 2, long_every=10)),
        "test": write_conll(tmp_path / "test.conll", make_sentences(20, 3, long_every=10)),
        "vocab": write_vocab(tmp_path / "vocab.txt"),
    }


def tiny_config_dict(dataset: dict[str, Path], out: Path, **sections) -> dict:
    config = {
        "data": {"train": str(dataset["train"]), "dev": str(dataset["dev"]),
                 "test": str(dataset["test"]), "max_seq_len": 24},
        "model": {"random_init": {"layers": 1, "hidden": 32, "heads": 2, "max_position": 64},
                  "vocab": str(dataset["vocab"])},
        "optimizer": {"learning_rate": 0.005, "warmup_proportion": 0.2},
        "training": {"epochs": 2, "batch_size": 8, "seed": 7},
        "output": {"dir": str(out)},
    }
    for section, values in sections.items():
        config.setdefault(section, {}).update(values)
    return config


def write_config(path: Path, config: dict) -> Path:
    path.write_text(yaml.safe_dump(config, sort_keys=False), encoding="utf-8")
    return path
