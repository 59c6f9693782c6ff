"""The project's error types. The CLI turns them into one line on stderr and an exit code."""

import os
import re


class WdTrainError(Exception):
    """A mistake the user can act on (bad config, bad data file, a file-system fault). Exit 2."""

    exit_code = 2


class GateFailed(WdTrainError):
    """A regression gate did not hold (metric below its threshold). Exit code 1."""

    exit_code = 1


class TrainingDiverged(WdTrainError):
    """The loss became non-finite or exceeded training.max_loss. Exit code 3: not a result."""

    exit_code = 3


def short_reason(exc: BaseException) -> str:
    """The part of an OS or TensorFlow error a person needs: `No space left on device`, not
    TensorFlow's function-node prefix, temporary file names and `[Op:SaveV2]` suffix."""
    code = getattr(exc, "errno", None)
    if isinstance(exc, OSError) and isinstance(code, int) and code > 0:
        return os.strerror(code)  # h5py's strerror is a paragraph with a temporary file name
    text = getattr(exc, "strerror", None) or getattr(exc, "message", None) or str(exc)
    text = re.sub(r"\{\{[^}]*\}\}\s*", "", str(text).splitlines()[0] if text else type(exc).__name__)
    text = re.sub(r"\s*\[Op:\w+\]\s*$", "", text)
    return text.rsplit("; ", 1)[-1] or type(exc).__name__
