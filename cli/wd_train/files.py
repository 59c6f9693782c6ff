"""Whole-or-nothing file writes, and appending a line that parallel writers cannot interleave.

Every file that a later step reads (metrics.json, results lines, summaries, charts) goes through
here: it is written to a temporary name in the same folder and renamed, so a killed process never
leaves half a file that looks finished.
"""

from __future__ import annotations

import contextlib
import csv
import fcntl
import io
import json
import math
import os
import re
import stat
import tempfile
from collections.abc import Iterator
from pathlib import Path

from .errors import WdTrainError

# Characters str.splitlines() ends a line at that JSON leaves raw in a string (it escapes only
# those below U+0020): a JSONL file read with splitlines() would break a record there.
_LINE_BREAKS_JSON_KEEPS = {"\x85": "\\u0085", "\u2028": "\\u2028", "\u2029": "\\u2029"}
_LINE_BREAK = re.compile("[\x85\u2028\u2029]")


def to_json(data, indent: int | None = None, sort_keys: bool = False) -> str:
    """Strict JSON (NaN or Infinity raise ValueError: they are not JSON) with every line
    break Python's `splitlines()` knows escaped, so a JSONL line is one line for any reader.
    Everything wd-train writes as JSON (records, results lines, --json, predict's JSONL) goes
    through here."""
    text = json.dumps(data, ensure_ascii=False, allow_nan=False, indent=indent,
                      sort_keys=sort_keys)
    return _LINE_BREAK.sub(lambda m: _LINE_BREAKS_JSON_KEEPS[m.group()], text)


def _refuse_constant(name: str):
    raise ValueError(f"{name} is not a number JSON allows")


def _finite_float(text: str) -> float:
    value = float(text)
    if not math.isfinite(value):
        raise ValueError(f"{text[:40]} is out of a float's range")
    return value


def loads_strict(text: str | bytes):
    """`json.loads` that refuses NaN, Infinity and numbers beyond a float's range (Python's
    json reads them; no other JSON reader does, and a summary must not pass them on)."""
    return json.loads(text, parse_constant=_refuse_constant, parse_float=_finite_float)


@contextlib.contextmanager
def errors_name(path: Path) -> Iterator[None]:
    """An OSError raised while writing `path` through a temporary name (or a library that
    reports a long message, as h5py) names `path`, the file the user knows, with the system's
    reason (`No space left on device`), never the temporary file."""
    try:
        yield
    except OSError as exc:
        code = exc.errno
        if not isinstance(code, int):
            found = re.search(r"errno = (\d+)", str(exc))
            code = int(found.group(1)) if found else None
        if code is None:
            raise
        raise OSError(code, os.strerror(code), str(path)) from None


def write_bytes_atomic(path: Path, data: bytes) -> None:
    """Write to a temporary file in the same folder, then rename: readers never see half a file."""
    path = Path(path)
    with errors_name(path):
        path.parent.mkdir(parents=True, exist_ok=True)
        fd, tmp = tempfile.mkstemp(dir=path.parent, prefix=f".{path.name}.", suffix=".tmp")
        try:
            os.fchmod(fd, 0o666 & ~current_umask())  # mkstemp's 0600 would hide results
            with os.fdopen(fd, "wb") as handle:
                handle.write(data)
            os.replace(tmp, path)
        except BaseException:
            Path(tmp).unlink(missing_ok=True)
            raise


@contextlib.contextmanager
def staged_errors(staging: Path, final: Path) -> Iterator[None]:
    """An OSError about a file in `staging` (a temporary folder renamed into place later)
    names the file at its place in `final`, the folder the user asked for."""
    staging, final = Path(staging), Path(final)
    try:
        yield
    except OSError as exc:
        name = Path(os.fsdecode(exc.filename)) if exc.filename is not None else None
        if name is None or (name != staging and staging not in name.parents):
            raise
        raise OSError(exc.errno, exc.strerror, str(final / name.relative_to(staging))
                      ) from None


def make_temp_dir(parent: Path, name: str) -> Path:
    """A temporary folder beside the output folder `parent/name`, to be renamed into place
    once whole; with the permissions a new folder gets (umask), not mkdtemp's 0700, so a
    SavedModel or an imported checkpoint is readable by whom the user means."""
    with errors_name(Path(parent) / name):
        tmp = Path(tempfile.mkdtemp(prefix=f".{name}.tmp-", dir=parent))
        os.chmod(tmp, 0o777 & ~current_umask())
    return tmp


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
    with errors_name(path):
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
    with errors_name(path):  # the path the user gave, not a link's target or a temporary
        if target.exists() and not target.is_file():
            with open(target, "w", encoding="utf-8") as handle:
                handle.write(text)
            return
        write_text_atomic(target, text)


def write_json_atomic(path: Path, data) -> None:
    write_text_atomic(path, to_json(data, indent=2) + "\n")


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

