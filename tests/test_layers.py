"""The layer contract (pyproject.toml, import-linter) is exhaustive: a module no layer names,
here a planted `wd_train/utils.py` that imports the CLI, fails `make lint`'s lint-imports."""

import shutil
import subprocess
import sys
from pathlib import Path

import pytest

ROOT = Path(__file__).resolve().parents[1]
LINT_IMPORTS = Path(sys.executable).parent / "lint-imports"


def lint_imports(tree: Path) -> subprocess.CompletedProcess:
    return subprocess.run([str(LINT_IMPORTS), "--no-cache"], cwd=tree, capture_output=True,
                          text=True, env={"PYTHONPATH": str(tree / "cli"), "PATH": "/usr/bin:/bin"},
                          timeout=300, check=False)


@pytest.mark.skipif(not LINT_IMPORTS.exists(), reason="import-linter is not installed")
def test_a_module_outside_every_layer_fails_lint(tmp_path):
    tree = tmp_path / "copy"
    shutil.copytree(ROOT / "cli" / "wd_train", tree / "cli" / "wd_train",
                    ignore=shutil.ignore_patterns("__pycache__"))
    shutil.copy(ROOT / "pyproject.toml", tree / "pyproject.toml")
    kept = lint_imports(tree)
    assert kept.returncode == 0, kept.stdout + kept.stderr  # the copy as it is passes

    (tree / "cli" / "wd_train" / "utils.py").write_text("from . import cli  # noqa: F401\n")
    broken = lint_imports(tree)
    assert broken.returncode != 0
    assert "not listed as layers" in broken.stdout and "- wd_train.utils" in broken.stdout
