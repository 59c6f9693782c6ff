"""The shipped configs validate, and the CoNLL pair agrees where the README says it does."""

from pathlib import Path

import pytest

from wd_train.compare import plan_cells
from wd_train.config import load_config

CONFIGS = Path(__file__).resolve().parent.parent / "configs"


@pytest.mark.parametrize("path", sorted(CONFIGS.glob("*.yaml")), ids=lambda p: p.name)
def test_shipped_config_validates(path):
    config, _ = load_config(path)
    assert config.data.train is not None


def test_conll_compare_cells_are_the_benchmark_runs():
    """bench/conll2003.sh runs configs/conll2003.yaml with --set optimizer.schedule=<variant>
    into the compare's cell folders, so the compare can reuse them: apart from the output folder,
    each compare variant must equal conll2003.yaml with that schedule."""
    path = CONFIGS / "conll2003-compare.yaml"
    compare, _ = load_config(path)
    for cell in plan_cells(path, compare, []):
        bench, _ = load_config(CONFIGS / "conll2003.yaml", [
            f"optimizer.schedule={cell.variant}", f"training.seed={cell.seed}"])
        assert cell.config.model_dump(exclude={"output"}) == bench.model_dump(exclude={"output"})
        assert cell.run_dir.parent.parent == bench.output.dir.parent / "conll2003-compare"
