"""The data stage as a whole: read the splits, fix the label set, load the vocab and casing,
and encode every split into windows. Everything downstream gets one `EncodedData`."""

from __future__ import annotations

from dataclasses import dataclass
from pathlib import Path

from ..bert_folder import IMPORT_META_FILE, VOCAB_FILE, check_folder, read_import_meta
from ..config import Config, DataConfig
from .reader import Sentence, check_labels_known, read_conll
from .wordpieces import Window, WordPieceAligner, encode_sentences, guess_lowercase, load_vocab


@dataclass
class Split:
    name: str
    path: Path
    sentences: list[Sentence]
    windows: list[Window]

    @property
    def num_words(self) -> int:
        return sum(len(s.tokens) for s in self.sentences)


@dataclass
class EncodedData:
    labels: list[str]  # id → tag; "O" first
    vocab_path: Path
    vocab: dict[str, int]
    lowercase: bool
    lowercase_source: str
    train: Split
    dev: Split
    test: Split | None

    @property
    def label_to_id(self) -> dict[str, int]:
        return {label: index for index, label in enumerate(self.labels)}


def label_list(sentences: list[Sentence]) -> list[str]:
    tags = {tag for s in sentences for tag in s.tags}
    others = sorted(tags - {"O"}, key=lambda t: (t.partition("-")[2], t))
    return ["O", *others]


def resolve_vocab_and_casing(config: Config, vocab: dict[str, int]) -> tuple[bool, str]:
    if config.model.lowercase is not None:
        return config.model.lowercase, "config model.lowercase"
    if config.model.checkpoint is not None:
        meta = read_import_meta(config.model.checkpoint)
        if "lowercase" in meta:
            return bool(meta["lowercase"]), f"{config.model.checkpoint}/{IMPORT_META_FILE}"
    return guess_lowercase(vocab), "guessed from the vocab"


def read_settings(data: DataConfig) -> dict:
    """`read_conll` keyword arguments from the data section (all but the sentence limit)."""
    return {"label_column": data.label_column, "scheme": data.scheme,
            "encoding": data.encoding, "format": data.format}


def load_data(config: Config) -> EncodedData:
    data = config.data
    read = {**read_settings(data), "limit": data.limit}
    if config.model.checkpoint is not None:
        check_folder(config.model.checkpoint)
    vocab_path = config.model.vocab or config.model.checkpoint / VOCAB_FILE
    vocab = load_vocab(vocab_path)
    lowercase, lowercase_source = resolve_vocab_and_casing(config, vocab)

    train_sentences = read_conll(data.train, **read)
    labels = label_list(train_sentences)
    known = set(labels)
    dev_sentences = read_conll(data.dev, **read)
    check_labels_known(dev_sentences, known, data.dev)
    test_sentences = None
    if data.test is not None:
        test_sentences = read_conll(data.test, **read)
        check_labels_known(test_sentences, known, data.test)

    aligner = WordPieceAligner(vocab, lowercase, data.max_seq_len)
    label_to_id = {label: index for index, label in enumerate(labels)}

    def split(name: str, path: Path, sentences: list[Sentence]) -> Split:
        return Split(name, path, sentences, encode_sentences(sentences, aligner, label_to_id))

    return EncodedData(
        labels=labels,
        vocab_path=Path(vocab_path),
        vocab=vocab,
        lowercase=lowercase,
        lowercase_source=lowercase_source,
        train=split("train", data.train, train_sentences),
        dev=split("dev", data.dev, dev_sentences),
        test=split("test", data.test, test_sentences) if test_sentences is not None else None,
    )
