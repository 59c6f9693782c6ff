"""`wd-train check-data CONFIG`: what training would make of a config's data, before training
(spaCy's `debug data`, for this tool). Files are read exactly as training reads them; the
findings say what would be refused, repaired, unknown to the vocab or cut into windows.

TensorFlow is loaded only for the wordpiece counts (keras_bert's tokenizer imports it).
"""

from __future__ import annotations

from collections import Counter
from dataclasses import dataclass, field
from pathlib import Path

from pydantic import BaseModel

from ..bert_folder import read_bert_folder
from ..config import Config
from ..errors import WdTrainError
from .dataset import read_settings, resolve_vocab_and_casing, vocab_path_of
from .reader import Sentence, read_text, split_columns, split_lines
from .wordpieces import WordPieceAligner, load_vocab

MOST_FREQUENT = 10


class SplitFindings(BaseModel):
    name: str
    path: str
    error: str | None = None  # why training would refuse this file
    sentences: int = 0
    words: int = 0
    entities: dict[str, int] = {}  # per type
    repaired_tags: int = 0  # invalid IOB2 starts read as B-X
    unseen_tags: list[str] = []  # dev/test tags that train does not have
    unknown_words: int = 0  # words that become one [UNK]
    unknown_rate: float = 0.0
    most_frequent_unknown: list[tuple[str, int]] = []
    multi_window_sentences: int = 0  # sentences cut into more than one window
    longest_pieces: int = 0  # wordpieces of the longest sentence, [CLS]/[SEP] included
    longest_at: str | None = None  # file:line
    shared_with_train: int = 0  # dev/test sentences that also occur in train, word for word
    first_shared_at: str | None = None
    blank_lines_with_spaces: int = 0
    one_column_lines: int = 0
    first_one_column_at: str | None = None


class DataFindings(BaseModel):
    config: str
    max_seq_len: int
    vocab: str
    lowercase: bool
    splits: list[SplitFindings]

    @property
    def refused(self) -> list[str]:
        """One line per reason training would refuse the data."""
        lines = [s.error for s in self.splits if s.error]
        lines += [f"{s.path}: tags not in the training data: {', '.join(s.unseen_tags)}"
                  for s in self.splits if s.unseen_tags]
        return lines


@dataclass
class _Split:
    findings: SplitFindings
    sentences: list[Sentence] = field(default_factory=list)


def _scan_lines(findings: SplitFindings, text: str, tokens_only: bool = False) -> None:
    for number, line in enumerate(split_lines(text), start=1):
        columns = split_columns(line)
        if not columns:
            findings.blank_lines_with_spaces += bool(line.strip("\r"))
        elif len(columns) == 1 and not tokens_only:
            findings.one_column_lines += 1
            findings.first_one_column_at = findings.first_one_column_at or \
                f"{findings.path}:{number}"


def _read_split(name: str, path: Path, config: Config) -> _Split:
    findings = SplitFindings(name=name, path=str(path))
    split = _Split(findings)
    settings = read_settings(config.data)
    try:
        text = read_text(path, settings.encoding)
        _scan_lines(findings, text)
        split.sentences = settings.read(path, text=text)
    except WdTrainError as exc:
        findings.error = str(exc)
        return split
    findings.sentences = len(split.sentences)
    findings.words = sum(len(s.tokens) for s in split.sentences)
    starts = Counter(tag.partition("-")[2] for s in split.sentences for tag in s.tags
                     if tag[:2] in ("B-", "S-"))
    findings.entities = dict(sorted(starts.items()))
    findings.repaired_tags = sum(s.repaired for s in split.sentences)
    return split


def _wordpieces(split: _Split, aligner: WordPieceAligner) -> None:
    findings = split.findings
    unknown: Counter[str] = Counter()
    capacity = aligner.max_seq_len - 2
    for sentence in split.sentences:
        pieces = 0
        for word in sentence.tokens:
            ids = aligner.word_piece_ids(word)
            pieces += min(len(ids), capacity)
            if ids == [aligner.unk_id]:
                unknown[word] += 1
        if pieces > capacity:
            findings.multi_window_sentences += 1
        if pieces + 2 > findings.longest_pieces:
            findings.longest_pieces = pieces + 2
            findings.longest_at = f"{findings.path}:{sentence.line}"
    findings.unknown_words = sum(unknown.values())
    findings.unknown_rate = findings.unknown_words / max(findings.words, 1)
    findings.most_frequent_unknown = unknown.most_common(MOST_FREQUENT)


def check_data(config: Config, config_source: str) -> DataFindings:
    data = config.data
    splits = [_read_split("train", data.train, config), _read_split("dev", data.dev, config)]
    if data.test is not None:
        splits.append(_read_split("test", data.test, config))
    train = splits[0]
    if train.findings.error is None:
        known = {tag for s in train.sentences for tag in s.tags}
        train_sentences = {tuple(s.tokens): s for s in train.sentences}
        for split in splits[1:]:
            if split.findings.error is not None:
                continue
            split.findings.unseen_tags = sorted(
                {tag for s in split.sentences for tag in s.tags} - known)
            shared = [s for s in split.sentences if tuple(s.tokens) in train_sentences]
            split.findings.shared_with_train = len(shared)
            if shared:
                split.findings.first_shared_at = f"{split.findings.path}:{shared[0].line}"

    folder = read_bert_folder(config.model.checkpoint)
    vocab_path = vocab_path_of(config, folder)
    vocab = load_vocab(vocab_path)
    lowercase, _ = resolve_vocab_and_casing(config, vocab, folder)
    aligner = WordPieceAligner(vocab, lowercase, data.max_seq_len)
    for split in splits:
        if split.findings.error is None:
            _wordpieces(split, aligner)
    return DataFindings(config=config_source, max_seq_len=data.max_seq_len,
                        vocab=str(vocab_path), lowercase=lowercase,
                        splits=[s.findings for s in splits])


def _count(n: int, noun: str) -> str:
    return f"{n} {noun}{'s' * (n != 1)}"


def findings_text(findings: DataFindings) -> str:
    """The findings as a person reads them (Markdown-ish, one block per topic)."""
    splits = [s for s in findings.splits if s.error is None]
    types = sorted({t for s in splits for t in s.entities})
    title = (f"data check: {findings.config} (vocab {findings.vocab}, lowercase="
             f"{findings.lowercase}, max_seq_len {findings.max_seq_len})")
    lines = [title, ""]
    header = ["split", "sentences", "words", *types, "[UNK] words", ">1 window", "longest"]
    rows = [[s.name, str(s.sentences), str(s.words), *(str(s.entities.get(t, 0)) for t in types),
             f"{s.unknown_words} ({100 * s.unknown_rate:.2f} %)", str(s.multi_window_sentences),
             str(s.longest_pieces)] for s in splits]
    widths = [max(len(c) for c in column) for column in zip(header, *rows)]
    for row in (header, *rows):
        lines.append("  ".join(c.rjust(w) if i else c.ljust(w)
                               for i, (c, w) in enumerate(zip(row, widths))))
    lines.append("")
    for s in findings.splits:
        if s.error:
            lines.append(f"{s.name}: REFUSED: {s.error}")
            continue
        notes = []
        if s.repaired_tags:
            notes.append(f"{_count(s.repaired_tags, 'invalid IOB2 tag')} (I-X after O or "
                         "another type) read as B-X")
        if s.unseen_tags:
            notes.append(f"tags not in train (training refuses them): {', '.join(s.unseen_tags)}")
        if s.shared_with_train:
            notes.append(f"{_count(s.shared_with_train, 'sentence')} also in train, word for "
                         f"word (first: {s.first_shared_at})")
        if s.multi_window_sentences:
            notes.append(f"{_count(s.multi_window_sentences, 'sentence')} longer than one "
                         f"window at max_seq_len {findings.max_seq_len}; the longest has "
                         f"{s.longest_pieces} pieces ({s.longest_at})")
        if s.most_frequent_unknown:
            frequent = ", ".join(f"{w} ×{n}" for w, n in s.most_frequent_unknown)
            notes.append(f"most frequent [UNK] words: {frequent}")
        if s.blank_lines_with_spaces:
            notes.append(f"{_count(s.blank_lines_with_spaces, 'blank line')} with spaces or "
                         "tabs (read as sentence breaks)")
        lines.append(f"{s.name} ({s.path}): " + ("; ".join(notes) if notes else "no findings"))
    verdict = ("training would refuse this data" if findings.refused
               else "training would accept this data")
    lines += ["", verdict]
    return "\n".join(lines)
