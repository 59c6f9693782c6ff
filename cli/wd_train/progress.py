"""What a person sees while a run goes: log lines and a progress bar, on stderr.

stdout is kept for results (the F1 table, or one JSON object with --json). The bar appears only
on a terminal; in CI or a pipe there is one line per epoch, and nothing with --quiet.
"""

from __future__ import annotations

import sys


class ConsoleProgress:
    def __init__(self, quiet: bool = False):
        from rich.console import Console

        self.quiet = quiet
        self.console = Console(stderr=True, highlight=False)
        self.interactive = self.console.is_terminal and not quiet
        self._bar = None
        self._task = None

    def log(self, message: str) -> None:
        if not self.quiet:
            self.console.print(message, markup=False, soft_wrap=True)

    def progress(self, phase: str, done: int, total: int, values: dict) -> None:
        if not self.interactive:
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


def eprint(message: str) -> None:
    print(message, file=sys.stderr)
