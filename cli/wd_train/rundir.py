"""Run directory I/O: whole-or-nothing writes, the 'finished run' guard, the results file.

`metrics.json` is written last: its presence is what marks a run as finished.
"""

from __future__ import annotations

import csv
import fcntl
import io
import json
import os
import shutil
import tempfile
from pathlib import Path

from .errors import WdTrainError

FINISHED_MARKER = "metrics.json"


def write_bytes_atomic(path: Path, data: bytes) -> None:
    """Write to a temporary file in the same folder, then rename: readers never see half a file."""
    path = Path(path)
    path.parent.mkdir(parents=True, exist_ok=True)
    fd, tmp = tempfile.mkstemp(dir=path.parent, prefix=f".{path.name}.", suffix=".tmp")
    try:
        with os.fdopen(fd, "wb") as handle:
            handle.write(data)
        os.replace(tmp, path)
    except BaseException:
        Path(tmp).unlink(missing_ok=True)
        raise


def write_text_atomic(path: Path, text: str) -> None:
    write_bytes_atomic(path, text.encode("utf-8"))


def write_json_atomic(path: Path, data) -> None:
    write_text_atomic(path, json.dumps(data, indent=2, ensure_ascii=False) + "\n")


def write_csv_atomic(path: Path, header: list[str], rows) -> None:
    buffer = io.StringIO()
    writer = csv.writer(buffer, lineterminator="\n")
    writer.writerow(header)
    writer.writerows(rows)
    write_text_atomic(path, buffer.getvalue())


def is_finished_run(path: Path) -> bool:
    return (Path(path) / FINISHED_MARKER).exists()


def prepare_run_dir(path: Path, overwrite: bool) -> Path:
    """Create the run directory; refuse to write over a finished run unless asked to."""
    path = Path(path)
    if path.exists() and not path.is_dir():
        raise WdTrainError(f"output.dir: {path} exists and is not a directory")
    if is_finished_run(path):
        if not overwrite:
            raise WdTrainError(
                f"output.dir: {path} already holds a finished run; pass --overwrite to replace "
                "it or --output-dir to write elsewhere"
            )
        # Remove the old run first so that nothing of it can be mistaken for the new one.
        # Only a folder marked as a finished run is ever deleted.
        (path / FINISHED_MARKER).unlink()
        shutil.rmtree(path)
    path.mkdir(parents=True, exist_ok=True)
    return path


def append_result_line(path: Path, record: dict) -> None:
    """Append one JSON line under an exclusive lock: parallel runs never interleave lines."""
    path = Path(path)
    path.parent.mkdir(parents=True, exist_ok=True)
    line = (json.dumps(record, ensure_ascii=False, sort_keys=True) + "\n").encode("utf-8")
    fd = os.open(path, os.O_WRONLY | os.O_APPEND | os.O_CREAT, 0o644)
    try:
        fcntl.flock(fd, fcntl.LOCK_EX)
        try:
            os.write(fd, line)
        finally:
            fcntl.flock(fd, fcntl.LOCK_UN)
    finally:
        os.close(fd)
