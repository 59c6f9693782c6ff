"""The console: TensorFlow's C++ start-up lines (written to file descriptor 2, out of Python's
reach) are hidden by the import hook, and only while TensorFlow is imported; log lines go to
stderr as written, `--quiet` keeps warnings only, and the logger is left as it was found."""

import logging
import os
import subprocess
import sys
from pathlib import Path

import pytest

from wd_train.console import LOGGER, console_session

CLI = Path(__file__).resolve().parents[1] / "cli"

# A stand-in `tensorflow` whose import and device probe write to fd 2, as TensorFlow's C++ does.
FAKE_TENSORFLOW = """
import os
os.write(2, b"C++ start-up noise\\n")

class config:
    @staticmethod
    def list_physical_devices():
        os.write(2, b"CUDA probe noise\\n")
        return []
"""

PROGRAM = """
import os, sys
from wd_train.console import quiet_tensorflow_startup
quiet_tensorflow_startup()
os.write(2, b"before the import\\n")
import tensorflow
os.write(2, b"after the import\\n")
print("hook left:", any(type(f).__name__ == "_QuietTensorFlowImport" for f in sys.meta_path))
print("TF_CPP_MIN_LOG_LEVEL", os.environ.get("TF_CPP_MIN_LOG_LEVEL"))
"""


def run_program(tmp_path, **env) -> subprocess.CompletedProcess:
    (tmp_path / "tensorflow").mkdir(exist_ok=True)
    (tmp_path / "tensorflow" / "__init__.py").write_text(FAKE_TENSORFLOW)
    environment = {k: v for k, v in os.environ.items()
                   if k not in ("WD_TRAIN_TF_LOG", "TF_CPP_MIN_LOG_LEVEL")}
    environment.update(PYTHONPATH=f"{tmp_path}{os.pathsep}{CLI}", **env)
    return subprocess.run([sys.executable, "-c", PROGRAM], capture_output=True, text=True,
                          env=environment, check=True, timeout=120)


def test_the_import_hook_hides_tensorflows_fd2_lines_only_during_the_import(tmp_path):
    result = run_program(tmp_path)
    assert result.stderr == "before the import\nafter the import\n"  # fd 2 works again
    assert "hook left: False" in result.stdout  # it removed itself after the one import
    assert "TF_CPP_MIN_LOG_LEVEL 3" in result.stdout


def test_wd_train_tf_log_shows_tensorflows_lines(tmp_path):
    result = run_program(tmp_path, WD_TRAIN_TF_LOG="1")
    # (without the hook nothing probes the devices at import)
    assert result.stderr == "before the import\nC++ start-up noise\nafter the import\n"
    assert "TF_CPP_MIN_LOG_LEVEL 3" not in result.stdout  # its later lines too


@pytest.mark.parametrize(("quiet", "shown"), [
    (False, "an info line,  as written\na warning\n"),
    (True, "a warning\n"),
])
def test_a_session_logs_to_stderr_and_restores_the_logger(capsys, quiet, shown):
    logger = logging.getLogger(LOGGER)
    before = (logger.level, logger.propagate, list(logger.handlers))
    with console_session(quiet=quiet) as progress:
        logging.getLogger(f"{LOGGER}.training").info("an info line,  as written")
        logging.getLogger(f"{LOGGER}.training").warning("a warning")
        progress("train", 1, 2, {"epoch": 1, "loss": 0.5, "lr": 1e-4})  # no bar off a terminal
    captured = capsys.readouterr()
    assert captured.err == shown and captured.out == ""
    assert (logger.level, logger.propagate, list(logger.handlers)) == before
