"""What a person sees while a command runs, all on stderr: log lines and a progress bar.

stdout is kept for results (the F1 table, or one JSON object with --json). The library logs to
the `wd_train` logger (Python `logging`); `console_session` attaches a handler for one command:
on a terminal rich's handler, which keeps log lines above the live progress bar; elsewhere (CI,
a pipe) a plain handler, one line per message as written, never re-wrapped. `--quiet` shows
nothing but warnings.
"""

from __future__ import annotations

import contextlib
import importlib.abc
import importlib.util
import logging
import os
import sys
from collections.abc import Iterator

LOGGER = "wd_train"
TF_LOG_VARIABLE = "WD_TRAIN_TF_LOG"  # set to 1 to see TensorFlow's C++ start-up lines again


class _QuietTensorFlowImport(importlib.abc.MetaPathFinder):
    """Silences TensorFlow's C++ start-up lines (absl's "before InitializeLog", oneDNN, the CUDA
    probe on a machine without a GPU), which TF_CPP_MIN_LOG_LEVEL does not reach: while
    `tensorflow` is first imported and its devices first listed, file descriptor 2 points at
    /dev/null. Whichever module imports TensorFlow first, the lines are gone; nothing else is
    touched, and Python-level errors after the import still reach stderr."""

    def find_spec(self, name, path=None, target=None):
        if name != "tensorflow":
            return None
        sys.meta_path.remove(self)  # once; let the real finders find it
        spec = importlib.util.find_spec(name)
        if spec is None or spec.loader is None:
            return spec
        loader = spec.loader
        original_exec = loader.exec_module

        def exec_module(module):
            with _stderr_to_devnull():
                original_exec(module)
                module.config.list_physical_devices()  # the CUDA probe happens here
        loader.exec_module = exec_module
        return spec


@contextlib.contextmanager
def _stderr_to_devnull() -> Iterator[None]:
    sys.stderr.flush()
    saved = os.dup(2)
    devnull = os.open(os.devnull, os.O_WRONLY)
    try:
        os.dup2(devnull, 2)
        yield
    finally:
        os.dup2(saved, 2)
        os.close(saved)
        os.close(devnull)


def quiet_tensorflow_startup() -> None:
    """For the command line: hide TensorFlow's start-up noise unless WD_TRAIN_TF_LOG=1."""
    if os.environ.get(TF_LOG_VARIABLE, "") not in ("", "0") or "tensorflow" in sys.modules:
        return
    # and its later C++ log lines (such as oneDNN's "supports DT_INT32 only with AVX-512"
    # on every CPU run): errors that matter reach Python as exceptions
    os.environ["TF_CPP_MIN_LOG_LEVEL"] = "3"
    if not any(isinstance(f, _QuietTensorFlowImport) for f in sys.meta_path):
        sys.meta_path.insert(0, _QuietTensorFlowImport())


class ConsoleProgress:
    """The training loop's per-step callback, drawn as a rich progress bar on a terminal."""

    def __init__(self, console, enabled: bool):
        self.console = console
        self.enabled = enabled
        self._bar = None
        self._task = None

    def __call__(self, phase: str, done: int, total: int, values: dict) -> None:
        if not self.enabled:
            return
        from rich.progress import (
            BarColumn,
            MofNCompleteColumn,
            Progress,
            TextColumn,
            TimeRemainingColumn,
        )

        if self._bar is None:
            self._bar = Progress(
                TextColumn("{task.description}"), BarColumn(), MofNCompleteColumn(),
                TimeRemainingColumn(), TextColumn("{task.fields[info]}"),
                console=self.console, transient=True,
            )
            self._bar.start()
        description = f"epoch {values.get('epoch', '')}"
        info = f"loss {values['loss']:.4f} lr {values['lr']:.2e}"
        if self._task is None or done == 1:
            if self._task is not None:
                self._bar.remove_task(self._task)
            self._task = self._bar.add_task(description, total=total, info=info)
        self._bar.update(self._task, completed=done, description=description, info=info)
        if done == total:
            self.close()

    def close(self) -> None:
        if self._bar is not None:
            self._bar.stop()
            self._bar = None
            self._task = None


@contextlib.contextmanager
def console_session(quiet: bool = False) -> Iterator[ConsoleProgress]:
    """Route the `wd_train` log to stderr for one command; yields the progress callback."""
    from rich.console import Console

    console = Console(file=sys.stderr, highlight=False)
    interactive = console.is_terminal and not quiet
    if interactive:
        from rich.logging import RichHandler

        handler: logging.Handler = RichHandler(
            console=console, show_time=False, show_level=False, show_path=False,
            markup=False, highlighter=None, keywords=[])
    else:
        handler = logging.StreamHandler(sys.stderr)
    handler.setFormatter(logging.Formatter("%(message)s"))
    logger = logging.getLogger(LOGGER)
    saved = logger.level, logger.propagate
    logger.addHandler(handler)
    logger.setLevel(logging.WARNING if quiet else logging.INFO)
    logger.propagate = False
    progress = ConsoleProgress(console, enabled=interactive)
    try:
        yield progress
    finally:
        progress.close()
        logger.removeHandler(handler)
        logger.setLevel(saved[0])
        logger.propagate = saved[1]
