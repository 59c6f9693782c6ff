"""Whole-or-nothing writes: a failed write leaves neither half a file nor a temporary one."""

from pathlib import Path

import pytest

from wd_train.files import append_line_locked, write_csv_atomic, write_text_atomic


def test_write_replaces_whole_and_leaves_no_temporary(tmp_path):
    path = tmp_path / "deep" / "out.txt"
    write_text_atomic(path, "first")
    write_text_atomic(path, "second")
    assert path.read_text() == "second"
    assert [p.name for p in path.parent.iterdir()] == ["out.txt"]


def test_a_failed_write_keeps_the_old_file(tmp_path, monkeypatch):
    import os

    path = tmp_path / "out.txt"
    write_text_atomic(path, "old")

    def fail(*args):
        raise OSError(28, "No space left on device")

    monkeypatch.setattr(os, "replace", fail)
    with pytest.raises(OSError):
        write_text_atomic(path, "new")
    assert path.read_text() == "old"
    assert [p.name for p in tmp_path.iterdir()] == ["out.txt"]


def test_csv_and_appended_lines(tmp_path):
    write_csv_atomic(tmp_path / "t.csv", ["a", "b"], [[1, "x,y"]])
    assert (tmp_path / "t.csv").read_text() == 'a,b\n1,"x,y"\n'
    append_line_locked(tmp_path / "r.jsonl", "one")
    append_line_locked(tmp_path / "r.jsonl", "two\n")
    assert (tmp_path / "r.jsonl").read_text() == "one\ntwo\n"


def test_written_files_respect_the_umask(tmp_path):
    import os

    old = os.umask(0o027)
    try:
        write_text_atomic(tmp_path / "a.txt", "x")
    finally:
        os.umask(old)
    assert (tmp_path / "a.txt").stat().st_mode & 0o777 == 0o640


def test_replace_atomic_keeps_the_old_file_when_the_writer_fails(tmp_path):
    from wd_train.files import replace_atomic

    path = tmp_path / "weights.h5"
    path.write_bytes(b"old")

    def half_then_crash(tmp):
        tmp.write_bytes(b"ne")
        raise KeyboardInterrupt

    with pytest.raises(KeyboardInterrupt):
        replace_atomic(path, half_then_crash)
    assert path.read_bytes() == b"old" and [p.name for p in tmp_path.iterdir()] == ["weights.h5"]
    replace_atomic(path, lambda tmp: tmp.write_bytes(b"new"))
    assert path.read_bytes() == b"new"


def test_a_user_named_output_keeps_links_and_devices(tmp_path):
    """`predict -o` into a symlink writes its target (the link stays); into a FIFO or a device
    it writes through, never replacing the node with a regular file."""
    import os
    import threading

    from wd_train.files import write_user_output

    target = tmp_path / "real.txt"
    target.write_text("old")
    link = tmp_path / "link.txt"
    link.symlink_to(target)
    write_user_output(link, "new")
    assert link.is_symlink() and target.read_text() == "new"
    fifo = tmp_path / "pipe"
    os.mkfifo(fifo)
    received = []
    reader = threading.Thread(target=lambda: received.append(fifo.read_text()))
    reader.start()
    write_user_output(fifo, "through the pipe")
    reader.join(timeout=10)
    assert received == ["through the pipe"]
    assert not fifo.is_file() and fifo.exists()
    write_user_output(Path("/dev/null"), "nothing")
    assert not Path("/dev/null").is_file()
    write_user_output(tmp_path / "plain.txt", "whole")
    assert (tmp_path / "plain.txt").read_text() == "whole"


def test_devices_fifos_and_folders_are_refused_as_data_or_vocab(tmp_path):
    """/dev/zero would be read without end, a FIFO without a writer waited on for ever."""
    import os

    from wd_train.data.reader import read_text
    from wd_train.data.wordpieces import load_vocab
    from wd_train.errors import WdTrainError

    os.mkfifo(tmp_path / "pipe")
    for path in (Path("/dev/zero"), tmp_path / "pipe"):
        with pytest.raises(WdTrainError, match="not a regular file; expected a data file"):
            read_text(path, "utf-8")
        with pytest.raises(WdTrainError, match="not a regular file; expected a vocab file"):
            load_vocab(path)
    with pytest.raises(WdTrainError, match="a folder; expected a data file"):
        read_text(tmp_path, "utf-8")


def test_a_named_pipe_is_read_where_a_stream_is_meant(tmp_path):
    """`wd-train predict RUN <(zcat test.conll.gz)`: the pipe is read (input to tag); as
    training data it is still refused."""
    import os
    import threading

    from wd_train.data.reader import read_text

    fifo = tmp_path / "pipe"
    os.mkfifo(fifo)
    writer = threading.Thread(target=lambda: fifo.write_text("EU B-ORG\n"))
    writer.start()
    assert read_text(fifo, "utf-8", stream=True) == "EU B-ORG\n"
    writer.join(timeout=10)
