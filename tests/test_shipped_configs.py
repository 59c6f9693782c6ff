"""The shipped configs validate, and the CoNLL studies agree where docs/studies says they do."""

from pathlib import Path

import pytest
import yaml

from wd_train.config import config_to_yaml, load_config, validate
from wd_train.experiments.comparison import plan_cells

ROOT = Path(__file__).resolve().parent.parent
CONFIGS = ROOT / "configs"


@pytest.mark.parametrize("path", sorted(CONFIGS.glob("*.yaml")), ids=lambda p: p.name)
def test_shipped_config_validates_and_round_trips(path):
    config, _ = load_config(path)
    # a run saves its config as config.yaml; --resume and reuse read it back as the same config
    assert validate(yaml.safe_load(config_to_yaml(config)), "saved") == config
    for data_file in (config.data.train, config.data.dev, config.data.test):
        # the project's own data (runs/ holds what scripts derive, e.g. bench/zh_time_data.py)
        if data_file is not None and ROOT / "data" in data_file.parents:
            assert data_file.is_file(), data_file


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


@pytest.mark.parametrize("name", ["conll2003-heads.yaml", "conll2003-activation.yaml",
                                  "conll2003-schedules.yaml"])
def test_conll_studies_change_only_their_variant_keys(name):
    """Each study's cell is configs/conll2003.yaml with the variant's overrides and nothing else,
    so its softmax / gelu_tanh / warmup_decay / constant cells are the same runs as
    conll2003-compare.yaml's (the study pages put them side by side)."""
    path = CONFIGS / name
    study, _ = load_config(path)
    for cell in plan_cells(path, study, []):
        overrides = [f"{key}={value}" for key, value in
                     study.compare.variants[cell.variant].items()]
        bench, _ = load_config(CONFIGS / "conll2003.yaml",
                               [*overrides, f"training.seed={cell.seed}"])
        assert cell.config.model_dump(exclude={"output"}) == bench.model_dump(exclude={"output"})


def test_the_best_conll_recipe_is_the_heads_study_bilstm_crf_cell():
    """docs/studies/heads reports configs/conll2003-best.yaml's seeds from
    configs/conll2003-heads.yaml's bilstm_crf cells: they must be the same runs."""
    heads_path = CONFIGS / "conll2003-heads.yaml"
    heads, _ = load_config(heads_path)
    for cell in plan_cells(heads_path, heads, []):
        if cell.variant == "bilstm_crf":
            best, _ = load_config(CONFIGS / "conll2003-best.yaml", [f"training.seed={cell.seed}"])
            assert cell.config.model_dump(exclude={"output"}) == best.model_dump(exclude={"output"})


def test_the_lr_grid_is_the_conll_recipe_on_a_subset_at_each_rate():
    """configs/conll2003-lr-grid.yaml changes only the schedule, the peak rate (its grid) and
    data.limit from configs/conll2003.yaml: its verdict is about the rate, not the recipe."""
    _assert_rate_grid_is_the_recipe("conll2003-lr-grid.yaml", 2 * 5 * 3, ["data.limit=1000"])


def test_the_lr_confirmation_is_the_conll_recipe_at_each_rate_with_the_fused_update():
    """configs/conll2003-lr-confirm.yaml changes only the schedule, the peak rate (its grid) and
    the update's fusion (same math to float32 reassociation) from configs/conll2003.yaml."""
    _assert_rate_grid_is_the_recipe("conll2003-lr-confirm.yaml", 2 * 3 * 3,
                                    ["training.fused_update=true"])


def _assert_rate_grid_is_the_recipe(name: str, count: int, changes: list[str]) -> None:
    """Every cell of the schedule × learning-rate grid configs/`name` is configs/conll2003.yaml
    with the cell's schedule, seed and rate, and `changes`: nothing else."""
    path = CONFIGS / name
    grid, _ = load_config(path)
    cells = plan_cells(path, grid, [])
    assert len(cells) == count
    for cell in cells:
        recipe, _ = load_config(CONFIGS / "conll2003.yaml", [
            f"optimizer.schedule={cell.variant}", f"training.seed={cell.seed}", *changes,
            f"optimizer.learning_rate={cell.point['optimizer.learning_rate']}"])
        assert cell.config.model_dump(exclude={"output"}) == recipe.model_dump(exclude={"output"})


def test_the_numerics_study_is_the_lr_grid_cell_at_3e_4_in_each_numerics():
    """configs/conll2003-numerics.yaml is the LR grid's warmup_decay cell at 3e-4 (the subset),
    as it trains by default, with the fused update, in mixed_bfloat16: nothing else differs."""
    path = CONFIGS / "conll2003-numerics.yaml"
    study, _ = load_config(path)
    cells = plan_cells(path, study, [])
    setting = {"float32": ["training.precision=float32", "training.fused_update=false"],
               "fused_update": ["training.precision=float32", "training.fused_update=true"],
               "mixed_bfloat16": ["training.precision=mixed_bfloat16",
                                  "training.fused_update=false"]}
    assert {(cell.variant, cell.seed) for cell in cells} == {
        (variant, seed) for variant in setting for seed in (1, 2, 3)}
    for cell in cells:
        recipe, _ = load_config(CONFIGS / "conll2003.yaml", [
            "optimizer.schedule=warmup_decay", f"training.seed={cell.seed}", "data.limit=1000",
            "optimizer.learning_rate=3e-4", *setting[cell.variant]])
        assert cell.config.model_dump(exclude={"output"}) == recipe.model_dump(exclude={"output"})
