"""What a person sees while a command runs, all on stderr: log lines and a progress bar.

stdout is kept for results (the F1 table, or one JSON object with --json). The library logs to
the `wd_train` logger (Python `logging`); `console_session` attaches a handler for one command:
on a terminal rich's handler, which keeps log lines above the live progress bar; elsewhere (CI,
a pipe) a plain handler, one line per message as written, never re-wrapped. `--quiet` shows
nothing but warnings.
"""

from __future__ import annotations

import contextlib
import logging
import sys
from collections.abc import Iterator

LOGGER = "wd_train"


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
