"""`make setup` picks the TensorFlow wheel by the machine: tensorflow[and-cuda] where
nvidia-smi lists a GPU, the plain wheel elsewhere; WD_CUDA forces either."""

import shutil
import subprocess
from pathlib import Path

import pytest

ROOT = Path(__file__).resolve().parents[1]


def planned_install(tmp_path, **variables) -> str:
    """The pip line `make setup` would run, for a virtualenv that does not exist yet."""
    assignments = [f"{k}={v}" for k, v in {"VENV": tmp_path / "venv", **variables}.items()]
    result = subprocess.run(["make", "-n", "setup", *assignments], cwd=ROOT, capture_output=True,
                            text=True, check=True)
    return next(line for line in result.stdout.splitlines() if "pip install" in line
                and "-e" in line)


@pytest.mark.skipif(shutil.which("make") is None, reason="no make here")
def test_wd_cuda_chooses_the_tensorflow_wheel(tmp_path):
    assert "'.[test,cuda]'" in planned_install(tmp_path, WD_CUDA=1)
    assert "'.[test]'" in planned_install(tmp_path, WD_CUDA=0)
    gpu = shutil.which("nvidia-smi") is not None and subprocess.run(
        ["nvidia-smi", "-L"], capture_output=True, text=True, check=False).stdout.startswith("GPU")
    assert ("test,cuda" in planned_install(tmp_path)) == gpu  # by the machine, no WD_CUDA
