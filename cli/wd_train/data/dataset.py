"""The data stage as a whole: read the splits, fix the label set, load the vocab and casing,
and encode every split into windows. Everything downstream gets one `EncodedData`."""

from __future__ import annotations

import logging
from dataclasses import dataclass
from pathlib import Path

from ..bert_folder import IMPORT_META_FILE, VOCAB_FILE, BertFolder
from ..config import Config, DataConfig, GateConfig
from ..errors import WdTrainError
from .reader import ReadSettings, Sentence, check_labels_known
from .tags import learned_scheme
from .wordpieces import Window, WordPieceAligner, encode_sentences, guess_lowercase, load_vocab

log = logging.getLogger(__name__)


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
    scheme: str  # of the tags as read and learned: iob2 or bioes (iob1 is read as iob2)
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


def resolve_vocab_and_casing(config: Config, vocab: dict[str, int], folder: BertFolder | None
                             ) -> tuple[bool, str]:
    if config.model.lowercase is not None:
        return config.model.lowercase, "config model.lowercase"
    if folder is not None and folder.meta.lowercase is not None:
        return folder.meta.lowercase, f"{folder.path}/{IMPORT_META_FILE}"
    return guess_lowercase(vocab), "guessed from the vocab"


def vocab_path_of(config: Config, folder: BertFolder | None) -> Path:
    """model.vocab, else the checkpoint's vocab.txt (`folder`: the checkpoint's, checked)."""
    return Path(config.model.vocab or folder.path / VOCAB_FILE)


def read_settings(data: DataConfig) -> ReadSettings:
    """How the data section says its files are read, its sentence limit included."""
    return ReadSettings(label_column=data.label_column, scheme=data.scheme,
                        encoding=data.encoding, format=data.format,
                        on_invalid_tags=data.on_invalid_tags, limit=data.limit)


def _read(path: Path, settings: ReadSettings) -> list[Sentence]:
    sentences = settings.read(path)
    repaired = sum(s.repaired for s in sentences)
    if repaired:
        log.info(f"{path}: {repaired} invalid IOB2 tag{'s' * (repaired != 1)} (I-X after O or "
                 "another type) read as B-X (data.on_invalid_tags: repair)")
    return sentences


def load_data(config: Config, folder: BertFolder | None) -> EncodedData:
    """`folder`: the checkpoint's (bert_folder.read_bert_folder), None with random_init."""
    data = config.data
    read = read_settings(data)
    vocab_path = vocab_path_of(config, folder)
    vocab = load_vocab(vocab_path)
    lowercase, lowercase_source = resolve_vocab_and_casing(config, vocab, folder)

    train_sentences = _read(data.train, read)
    labels = label_list(train_sentences)
    check_gate_type(config.gate, entity_types(train_sentences))
    known = set(labels)
    dev_sentences = _read(data.dev, read)
    check_labels_known(dev_sentences, known, data.dev)
    test_sentences = None
    if data.test is not None:
        test_sentences = _read(data.test, read)
        check_labels_known(test_sentences, known, data.test)

    aligner = WordPieceAligner(vocab, lowercase, data.max_seq_len)
    label_to_id = {label: index for index, label in enumerate(labels)}

    def split(name: str, path: Path, sentences: list[Sentence]) -> Split:
        return Split(name, path, sentences, encode_sentences(sentences, aligner, label_to_id))

    return EncodedData(
        labels=labels,
        scheme=learned_scheme(data.scheme),
        vocab_path=Path(vocab_path),
        vocab=vocab,
        lowercase=lowercase,
        lowercase_source=lowercase_source,
        train=split("train", data.train, train_sentences),
        dev=split("dev", data.dev, dev_sentences),
        test=split("test", data.test, test_sentences) if test_sentences is not None else None,
    )


def entity_types(sentences: list[Sentence]) -> set[str]:
    return {tag.partition("-")[2] for s in sentences for tag in s.tags if tag != "O"}


def check_gate_type(gate: GateConfig | None, train_types: set[str]) -> None:
    """A gate on one entity type must name a type the training data has: refused with the data,
    before training (and before metrics.json is written)."""
    if gate is None or ".per_type." not in gate.metric:
        return
    type_name = gate.metric.split(".")[2]
    if type_name not in train_types:
        raise WdTrainError(f"gate.metric: {gate.metric}: no entity type {type_name!r} in "
                           f"data.train (types: {', '.join(sorted(train_types)) or 'none'})")
