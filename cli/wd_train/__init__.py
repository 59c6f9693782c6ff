"""wd-train: fine-tune keras_bert sequence labellers and measure LR warmup/decay.

keras-bert 0.89 only works through the Keras-2 API, so the legacy-Keras switch is set here,
before anything can import TensorFlow. Importing this package stays cheap: TensorFlow itself is
imported only inside the functions that need it.
"""

import os
import warnings

os.environ.setdefault("TF_USE_LEGACY_KERAS", "1")
# oneDNN's CPU kernels (TensorFlow's default only on recent Intel CPUs, Eigen's elsewhere): on
# BERT's small per-batch matmuls they train ~1.5x faster than Eigen's on the AMD CPUs measured
# (docs/speed.md), configs/ci.yaml gives the same F1. TF_ENABLE_ONEDNN_OPTS=0 chooses Eigen's,
# whose float32 sums do not depend on the CPU's instruction set (oneDNN picks kernels per ISA).
os.environ.setdefault("TF_ENABLE_ONEDNN_OPTS", "1")
# TensorFlow's C++ banner lines are noise for a CLI; users can still raise the level themselves.
os.environ.setdefault("TF_CPP_MIN_LOG_LEVEL", "2")

# keras_bert builds its layers with shared unseeded initialisers; wd-train sets the global seed,
# which makes them reproducible, so tf-keras' warning about them is noise for our users.
warnings.filterwarnings("ignore", message="The initializer .* is unseeded")

__version__ = "0.1.0"


def code_version() -> str:
    """`0.1.0`, plus `+g<commit>` (and `.dirty` with uncommitted changes) when wd-train runs
    from a git checkout: what results lines record so a number can be traced to its code."""
    global _code_version
    if _code_version is None:
        import subprocess

        _code_version = __version__
        source = os.path.dirname(os.path.abspath(__file__))
        try:
            def git(*args: str) -> str:
                return subprocess.run(["git", *args], cwd=source, capture_output=True, text=True,
                                      timeout=5, check=True).stdout.strip()

            commit = git("rev-parse", "--short=12", "HEAD")
            dirty = git("status", "--porcelain", "--untracked-files=no", "--", ".")
            _code_version += f"+g{commit}" + (".dirty" if dirty else "")
        except (OSError, subprocess.SubprocessError):
            pass  # an installed wheel: the version alone
    return _code_version


_code_version: str | None = None
