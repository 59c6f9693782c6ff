"""Whole-or-nothing file writes, and appending a line that parallel writers cannot interleave.

Every file that a later step reads (metrics.json, results lines, summaries, charts) goes through
here: it is written to a temporary name in the same folder and renamed, so a killed process never
leaves half a file that looks finished.
"""

from __future__ import annotations

import csv
import fcntl
import io
import json
import os
import stat
import tempfile
from pathlib import Path

from .errors import WdTrainError


def write_bytes_atomic(path: Path, data: bytes) -> None:
    """Write to a temporary file in the same folder, then rename: readers never see half a file."""
    path = Path(path)
    path.parent.mkdir(parents=True, exist_ok=True)
    fd, tmp = tempfile.mkstemp(dir=path.parent, prefix=f".{path.name}.", suffix=".tmp")
    try:
        os.fchmod(fd, 0o666 & ~current_umask())  # mkstemp's 0600 would hide results from others
        with os.fdopen(fd, "wb") as handle:
            handle.write(data)
        os.replace(tmp, path)
    except BaseException:
        Path(tmp).unlink(missing_ok=True)
        raise


def current_umask() -> int:
    mask = os.umask(0)
    os.umask(mask)
    return mask


def replace_atomic(path: Path, write) -> None:
    """`write(temporary_path)` writes the file (e.g. a library's save call), then it is renamed
    into place: a killed process leaves the old file or none, never half a new one. The
    temporary name keeps the suffix, which some writers read as the format (.h5)."""
    path = Path(path)
    tmp = path.with_name(f".{path.stem}.tmp-{os.getpid()}{path.suffix}")
    try:
        write(tmp)
        os.replace(tmp, path)
    except BaseException:
        tmp.unlink(missing_ok=True)
        raise


def write_text_atomic(path: Path, text: str) -> None:
    write_bytes_atomic(path, text.encode("utf-8"))


def write_user_output(path: Path, text: str) -> None:
    """A file the user named (`predict -o`): a regular file is written atomically, through a
    symlink at its target (the link stays a link); a device or FIFO (`/dev/stdout`,
    `/dev/null`) is written to as it is, never replaced by a file."""
    path = Path(path)
    target = path.resolve() if path.is_symlink() else path
    if target.exists() and not target.is_file():
        with open(target, "w", encoding="utf-8") as handle:
            handle.write(text)
        return
    write_text_atomic(target, text)


def write_json_atomic(path: Path, data) -> None:
    write_text_atomic(path, json.dumps(data, indent=2, ensure_ascii=False) + "\n")


def write_csv_atomic(path: Path, header: list[str], rows) -> None:
    buffer = io.StringIO()
    writer = csv.writer(buffer, lineterminator="\n")
    writer.writerow(header)
    writer.writerows(rows)
    write_text_atomic(path, buffer.getvalue())


def append_line_locked(path: Path, line: str) -> None:
    """Append one line under an exclusive lock: parallel processes never interleave lines."""
    path = Path(path)
    path.parent.mkdir(parents=True, exist_ok=True)
    data = (line.rstrip("\n") + "\n").encode("utf-8")
    fd = os.open(path, os.O_WRONLY | os.O_APPEND | os.O_CREAT, 0o644)
    try:
        fcntl.flock(fd, fcntl.LOCK_EX)
        try:
            os.write(fd, data)
        finally:
            fcntl.flock(fd, fcntl.LOCK_UN)
    finally:
        os.close(fd)


STREAM_LIMIT = 1 << 30  # bytes read from a named pipe at most (a file has its own size)


def read_regular_file(path: Path, what: str, stream: bool = False) -> bytes:
    """The bytes of a regular file: a device (`/dev/zero`), a folder or (unless `stream`, where
    a pipe is meant: `predict <(zcat x.gz)`) a FIFO is refused in one line rather than read
    without end or waited on; a FIFO is read up to STREAM_LIMIT bytes."""
    path = Path(path)
    try:
        mode = path.stat().st_mode
    except FileNotFoundError:
        raise WdTrainError(f"{path}: {what} file not found") from None
    except OSError as exc:
        raise WdTrainError(f"{path}: cannot read ({exc.strerror})") from None
    piped = stream and stat.S_ISFIFO(mode)
    if not stat.S_ISREG(mode) and not piped:
        kind = "a folder" if stat.S_ISDIR(mode) else "not a regular file"
        raise WdTrainError(f"{path}: {kind}; expected a {what} file")
    try:
        if not piped:
            return path.read_bytes()
        with open(path, "rb") as handle:
            data = handle.read(STREAM_LIMIT + 1)
    except OSError as exc:
        raise WdTrainError(f"{path}: cannot read ({exc.strerror})") from None
    if len(data) > STREAM_LIMIT:
        raise WdTrainError(f"{path}: more than {STREAM_LIMIT >> 20} MiB from a pipe; write it to "
                           "a file first")
    return data

