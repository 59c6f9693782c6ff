"""Read CoNLL-style column files into sentences.

One token per line, columns separated by spaces or tabs, the tag in `label_column` (last by
default); a blank line ends a sentence; `-DOCSTART-` lines are skipped. The Chinese format of the
keras_bert article (one character per line, `字 TAG`) is the same format with characters as tokens.

Lines end at "\n" only and columns split at spaces and tabs only: Python's `splitlines()` and
`split()` would also break at U+2028, form feeds and non-breaking spaces, shifting line numbers
and cutting tokens such as `1\u00a0000`. Every token line of a file has the same number of
columns (a row with more is a token with a space in it, or a shifted tag: refused at file:line).
"""

from __future__ import annotations

import codecs
import re
from dataclasses import dataclass, field
from pathlib import Path

from ..errors import WdTrainError
from ..files import read_regular_file
from .tags import iob1_to_iob2, repair_iob2, tag_problem

_COLUMN_SEPARATOR = re.compile(r"[ \t]+")


def split_lines(text: str) -> list[str]:
    """Lines at "\n" only (a "\r" before it is dropped with the other edge blanks)."""
    return text.split("\n")


def split_columns(line: str) -> list[str]:
    """Columns at spaces and tabs only; [] for a blank line."""
    stripped = line.strip(" \t\r")
    return _COLUMN_SEPARATOR.split(stripped) if stripped else []


@dataclass
class Sentence:
    tokens: list[str]
    tags: list[str]
    line: int  # 1-based line number of the first token, for error messages
    token_lines: list[int] = field(default_factory=list, repr=False)
    repaired: int = 0  # I-X tags read as B-X (an invalid IOB2 start, repaired as conlleval does)


def read_text(path: Path, encoding: str, stream: bool = False) -> str:
    """The file decoded; a missing, unreadable or mis-encoded file is one clear error.
    `stream`: a named pipe is read too (input to tag, where a stream is meant)."""
    data = read_regular_file(path, "data", stream)
    try:
        # "utf-8-sig": a byte-order mark is not part of the first token (it made -DOCSTART- a
        # word); files without one decode exactly as with "utf-8"
        is_utf8 = codecs.lookup(encoding).name == "utf-8"
        return data.decode("utf-8-sig" if is_utf8 else encoding)
    except UnicodeDecodeError as exc:
        line = data[: exc.start].count(b"\n") + 1
        raise WdTrainError(
            f"{path}:{line}: not valid {encoding} (byte {data[exc.start]:#04x}); "
            "set data.encoding if the file uses another encoding"
        ) from None
    except LookupError:
        raise WdTrainError(f"data.encoding: unknown encoding {encoding!r}") from None


def read_conll(
    path: Path | str,
    *,
    label_column: int = -1,
    scheme: str = "iob2",
    encoding: str = "utf-8",
    limit: int | None = None,
    format: str = "conll",
    on_invalid_tags: str = "repair",
    tokens_only: bool = False,
    text: str | None = None,
) -> list[Sentence]:
    """`tokens_only`: the first column is the token and there are no tags (every tag "O").
    `on_invalid_tags` (IOB2): `repair` an I-X that cannot continue an entity into B-X, `error`
    refuses it, `keep` reads it as written. `text`: the file's content when already read."""
    path = Path(path)
    if text is None:
        text = read_text(path, encoding)
    sentences: list[Sentence] = []
    tokens: list[str] = []
    tags: list[str] = []
    lines: list[int] = []

    width: tuple[int, int] | None = None  # (columns, line) of the first token line

    def flush() -> None:
        if tokens:
            converted, repaired = iob1_to_iob2(tags) if scheme == "iob1" else list(tags), 0
            if scheme == "iob2" and on_invalid_tags != "keep":
                converted, fixed = repair_iob2(converted)
                if fixed and on_invalid_tags == "error":
                    index = fixed[0]
                    raise WdTrainError(
                        f"{path}:{lines[index]}: {tags[index]} does not continue an entity "
                        f"(after {tags[index - 1] if index else 'the sentence start'}); "
                        "data.on_invalid_tags: repair reads it as B-, as conlleval does")
                repaired = len(fixed)
            sentences.append(Sentence(list(tokens), converted, lines[0], list(lines), repaired))
            tokens.clear()
            tags.clear()
            lines.clear()

    for number, raw_line in enumerate(split_lines(text), start=1):
        columns = split_columns(raw_line)
        if not columns:
            flush()
            if limit is not None and len(sentences) >= limit:
                break
            continue
        line = " ".join(columns)
        if columns[0] == "-DOCSTART-":
            flush()
            continue
        if width is None:
            width = (len(columns), number)
        elif len(columns) != width[0] and len(columns) > 1 and not tokens_only:
            raise WdTrainError(
                f"{path}:{number}: {len(columns)} columns, but line {width[1]} has {width[0]} "
                f"(every token line needs the same columns; a space inside a token?): {line!r}"
            )
        if tokens_only:
            if len(columns) > 1:
                raise WdTrainError(
                    f"{path}:{number}: expected one column (a file of tokens only, as its first "
                    f"line), got {len(columns)}: {line!r}"
                )
            tag = "O"
        elif len(columns) < 2:
            raise WdTrainError(
                f"{path}:{number}: expected at least 2 columns (token and tag), got 1: {line!r}"
            )
        else:
            try:
                tag = columns[label_column]
            except IndexError:
                raise WdTrainError(
                    f"{path}:{number}: data.label_column is {label_column} but the line has "
                    f"{len(columns)} columns"
                ) from None
            problem = tag_problem(tag, scheme)
            if problem:
                raise WdTrainError(f"{path}:{number}: {problem}")
        if format == "chars" and len(columns[0]) != 1:
            raise WdTrainError(
                f"{path}:{number}: data.format is chars but the token {columns[0]!r} has "
                f"{len(columns[0])} characters"
            )
        tokens.append(columns[0])
        tags.append(tag)
        lines.append(number)
    if limit is None or len(sentences) < limit:
        flush()
    if not sentences:
        raise WdTrainError(f"{path}: no sentences found (empty file?)")
    return sentences


@dataclass(frozen=True)
class ReadSettings:
    """How a data file is read: the data section's reading keys (dataset.read_settings)."""

    label_column: int = -1
    scheme: str = "iob2"
    encoding: str = "utf-8"
    format: str = "conll"
    on_invalid_tags: str = "repair"
    limit: int | None = None  # sentences; None reads the whole file

    def read(self, path: Path | str, *, tokens_only: bool = False, text: str | None = None
             ) -> list[Sentence]:
        return read_conll(path, label_column=self.label_column, scheme=self.scheme,
                          encoding=self.encoding, limit=self.limit, format=self.format,
                          on_invalid_tags=self.on_invalid_tags, tokens_only=tokens_only,
                          text=text)


def has_tag_column(text: str, path: Path | str) -> bool:
    """Whether the first token line of `text` (read from `path`) has a tag column (2+ columns)
    or only a token."""
    for line in split_lines(text):
        columns = split_columns(line)
        if columns and columns[0] != "-DOCSTART-":
            return len(columns) >= 2
    raise WdTrainError(f"{path}: no sentences found (empty file?)")


def check_labels_known(sentences: list[Sentence], known: set[str], path: Path | str) -> None:
    """Dev/test tags must have been seen in train: the model cannot predict anything else."""
    for sentence in sentences:
        for tag, line in zip(sentence.tags, sentence.token_lines):
            if tag not in known:
                raise WdTrainError(
                    f"{path}:{line}: tag {tag!r} does not occur in the training data "
                    f"(train has: {', '.join(sorted(known))})"
                )
