"""Read CoNLL-style column files into sentences.

One token per line, columns separated by spaces or tabs, the tag in `label_column` (last by
default); a blank line ends a sentence; `-DOCSTART-` lines are skipped. The Chinese format of the
keras_bert article (one character per line, `字 TAG`) is the same format with characters as tokens.
"""

from __future__ import annotations

from dataclasses import dataclass, field
from pathlib import Path

from ..errors import WdTrainError
from .tags import iob1_to_iob2, tag_problem


@dataclass
class Sentence:
    tokens: list[str]
    tags: list[str]
    line: int  # 1-based line number of the first token, for error messages
    token_lines: list[int] = field(default_factory=list, repr=False)


def read_text(path: Path, encoding: str) -> str:
    """The file decoded; a missing, unreadable or mis-encoded file is one clear error."""
    try:
        data = path.read_bytes()
    except FileNotFoundError:
        raise WdTrainError(f"{path}: data file not found") from None
    except OSError as exc:
        raise WdTrainError(f"{path}: cannot read ({exc.strerror})") from None
    try:
        return data.decode(encoding)
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
    tokens_only: bool = False,
    text: str | None = None,
) -> list[Sentence]:
    """`tokens_only`: the first column is the token and there are no tags (every tag "O").
    `text`: the file's content when the caller has already read it."""
    path = Path(path)
    if text is None:
        text = read_text(path, encoding)
    sentences: list[Sentence] = []
    tokens: list[str] = []
    tags: list[str] = []
    lines: list[int] = []

    def flush() -> None:
        if tokens:
            converted = iob1_to_iob2(tags) if scheme == "iob1" else list(tags)
            sentences.append(Sentence(list(tokens), converted, lines[0], list(lines)))
            tokens.clear()
            tags.clear()
            lines.clear()

    for number, raw_line in enumerate(text.splitlines(), start=1):
        line = raw_line.strip()
        if not line:
            flush()
            if limit is not None and len(sentences) >= limit:
                break
            continue
        columns = line.split()
        if columns[0] == "-DOCSTART-":
            flush()
            continue
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


def has_tag_column(text: str, path: Path | str) -> bool:
    """Whether the first token line of `text` (read from `path`) has a tag column (2+ columns)
    or only a token."""
    for line in text.splitlines():
        columns = line.split()
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
