"""compare.grid end to end on a tiny model: `--list-cells` prints one command per cell, the
commands run under two parallel processes (as GNU parallel would), each cell exactly once, a
learning rate that diverges is recorded as a result, and `wd-train report` merges the cells
into a grid summary with each variant's best point and lr_sensitivity.png."""

import json
import os
import re
import shlex
import shutil
import subprocess
import sys
from concurrent.futures import ThreadPoolExecutor
from pathlib import Path

import pytest
import yaml

from wd_train.errors import WdTrainError

VARIANTS = {"warmup_decay": {"optimizer.schedule": "warmup_decay"},
            "constant": {"optimizer.schedule": "constant"}}
RATES = [0.005, 1000.0]  # 1000: Adam moves every weight by ~1000 at once, the loss explodes
SEEDS = [1, 2]
CELLS = [f"{v}/learning_rate={r:g}/seed-{s}" for s in SEEDS for v in VARIANTS for r in RATES]


@pytest.fixture(scope="module")
def grid(make_sentences, write_conll, write_vocab, tiny_config_dict, write_config,
         wd_process, tmp_path_factory):
    tmp = tmp_path_factory.mktemp("grid")
    dataset = {"train": write_conll(tmp / "train.conll", make_sentences(40, 1)),
               "dev": write_conll(tmp / "dev.conll", make_sentences(12, 2)),
               "test": write_conll(tmp / "test.conll", make_sentences(12, 3)),
               "vocab": write_vocab(tmp / "vocab.txt")}
    config = tiny_config_dict(
        dataset, tmp / "out", training={"epochs": 2, "batch_size": 8, "max_loss": 20.0},
        compare={"variants": VARIANTS, "seeds": SEEDS,
                 "grid": {"optimizer.learning_rate": RATES}})
    path = write_config(tmp / "grid.yaml", config)
    results = tmp / "results.jsonl"
    listed = wd_process("train", path, "--list-cells", "--results", results)
    assert listed.returncode == 0, listed.stderr
    commands = listed.stdout.splitlines()
    # the commands as a scheduler runs them: a shell each, two at a time
    env = {**os.environ, "PATH": f"{Path(sys.executable).parent}:{os.environ['PATH']}"}

    def run(command: str) -> subprocess.CompletedProcess:
        return subprocess.run(command, check=False, shell=True, cwd=tmp, env=env,
                              capture_output=True, text=True, timeout=600)

    with ThreadPoolExecutor(max_workers=2) as pool:
        finished = list(pool.map(run, commands))
    relisted = wd_process("train", path, "--list-cells")
    report = wd_process("report", tmp / "out", "--json", "--quiet")
    return {"tmp": tmp, "path": path, "commands": commands, "finished": finished,
            "results": results, "relisted": relisted, "report": report, "out": tmp / "out"}


def test_list_cells_prints_one_command_per_cell(grid):
    assert [c.split("--cell ")[1].split()[0] for c in grid["commands"]] == CELLS
    assert all(c.startswith("wd-train train ") and f"--results {grid['results']}" in c
               for c in grid["commands"])


def test_each_cell_ran_once_and_divergence_is_a_result(grid):
    codes = {c.split("--cell ")[1].split()[0]: r.returncode
             for c, r in zip(grid["commands"], grid["finished"])}
    assert codes == {cell: 3 if "learning_rate=1000" in cell else 0 for cell in CELLS}, [
        r.stderr[-300:] for r in grid["finished"] if r.returncode not in (0, 3)]
    lines = [json.loads(line) for line in grid["results"].read_text().splitlines()]
    by_cell = {}
    for line in lines:  # one line per cell: none ran twice
        key = (line["variant"], line["grid"]["optimizer.learning_rate"], line["seed"])
        assert key not in by_cell
        by_cell[key] = line
    assert len(by_cell) == len(CELLS)
    for (variant, rate, seed), line in by_cell.items():
        run_dir = grid["out"] / variant / f"learning_rate={rate:g}" / f"seed-{seed}"
        assert line["run_dir"] == str(run_dir)
        if rate == 1000.0:
            assert line["status"] == "diverged" and line["dev"] is None
            assert line["diverged"]["step"] >= 1 and line["diverged"]["lr"] <= rate
            assert (run_dir / "diverged.json").is_file()
            assert not (run_dir / "metrics.json").exists()
        else:
            assert line["status"] == "finished" and line["dev"]["f1"] >= 0
            assert json.loads((run_dir / "metrics.json").read_text())["grid"] == {
                "optimizer.learning_rate": rate}
    # every cell has its result: nothing left to list, so nothing is retried
    assert grid["relisted"].returncode == 0 and grid["relisted"].stdout == ""


def test_report_merges_the_cells_into_a_grid_summary(grid):
    assert grid["report"].returncode == 0, grid["report"].stderr
    summary = json.loads(grid["report"].stdout)
    names = [g["name"] for g in summary["groups"]]
    assert sorted(names) == sorted(f"{v}/learning_rate={r:g}" for v in VARIANTS for r in RATES)
    counts = {g["name"]: (g["n"], g["diverged"]) for g in summary["groups"]}
    for variant in VARIANTS:
        assert counts[f"{variant}/learning_rate=1000"] == (0, 2)
        assert counts[f"{variant}/learning_rate=0.005"] == (2, 0)
    analysis = summary["grid"]
    assert analysis["keys"] == ["optimizer.learning_rate"]
    assert analysis["baseline"] == "constant"
    # a point where seeds diverged is never selected
    assert {b["variant"]: b["point"] for b in analysis["best"]} == {
        v: {"optimizer.learning_rate": 0.005} for v in VARIANTS}
    assert [d["a"] for d in summary["differences"]] == ["warmup_decay/learning_rate=0.005"] * 2
    markdown = (grid["out"] / "summary.md").read_text()
    assert "| diverged |" in markdown and "4 that diverged" in markdown
    assert "selected on its dev mean F1 only" in markdown
    assert (grid["out"] / "lr_sensitivity.png").read_bytes().startswith(b"\x89PNG")


def test_a_diverged_cell_is_reused_not_retried(grid, wd_process):
    cell = "constant/learning_rate=1000/seed-1"
    again = wd_process("train", grid["path"], "--cell", cell, "--quiet")
    assert again.returncode == 3
    assert "diverged earlier" in again.stderr and "--overwrite" in again.stderr
    assert again.stderr.count("\n") == 1  # one line, no traceback


def test_cell_names_and_selection(grid, tiny_config_dict, write_config, tmp_path, tiny_dataset):
    from wd_train.config import load_config
    from wd_train.experiments.comparison import plan_cells, select_cells

    config, _ = load_config(grid["path"])
    cells = plan_cells(grid["path"], config, [])
    assert [c.name for c in cells] == CELLS
    assert all(c.run_dir == grid["out"] / c.name for c in cells)
    picked = select_cells(cells, config.compare, variant="constant", seed=2, cell=None)
    assert [c.name for c in picked] == [f"constant/learning_rate={r:g}/seed-2" for r in RATES]
    with pytest.raises(WdTrainError, match="--cell nope: no such cell"):
        select_cells(cells, config.compare, variant=None, seed=None, cell="nope")
    with pytest.raises(WdTrainError, match="compare.grid varies this key"):
        plan_cells(grid["path"], config, ["optimizer.learning_rate=0.1"])


@pytest.mark.parametrize(("grid", "message"), [
    ({"learning_rate": [0.1]}, "'learning_rate' is not a dotted section.key"),
    ({"optimizer.learning_rate": []}, "give at least one value"),
    ({"optimizer.learning_rate": [0.1, 0.1]}, "listed twice"),
    ({"training.seed": [1, 2]}, "set by the comparison itself"),
    ({"optimizer.schedule": ["constant"]}, ("variants.a sets optimizer.schedule, which "
                                           "compare.grid varies")),
])
def test_grid_schema_errors(tiny_config_dict, write_config, tmp_path, tiny_dataset, grid,
                            message):
    from wd_train.config import load_config

    compare = {"variants": {"a": {"optimizer.schedule": "constant"}}, "grid": grid}
    path = write_config(tmp_path / "c.yaml",
                        tiny_config_dict(tiny_dataset, tmp_path / "o", compare=compare))
    with pytest.raises(WdTrainError, match=message):
        load_config(path)


def test_exponent_floats_written_without_a_dot_are_numbers(tiny_config_dict, tmp_path,
                                                          tiny_dataset):
    """PyYAML reads `1e-4` as a string; the config loader reads it as YAML 1.2 does, so it names
    the same cell as `0.0001` (and both in one grid are one value listed twice)."""
    from wd_train.config import load_config
    from wd_train.experiments.comparison import plan_cells

    def config_with_rates(*rates):
        compare = {"variants": {"a": {"optimizer.schedule": "constant"}}, "seeds": [1],
                   "grid": {"optimizer.learning_rate": [f"RATE{i}" for i in range(len(rates))]}}
        text = yaml.safe_dump(tiny_config_dict(tiny_dataset, tmp_path / "o", compare=compare))
        for i, rate in enumerate(rates):
            text = text.replace(f"RATE{i}", rate)
        path = tmp_path / "c.yaml"
        path.write_text(text, encoding="utf-8")
        return path

    path = config_with_rates("1e-4", "3E-5")
    config, _ = load_config(path)
    assert config.compare.grid["optimizer.learning_rate"] == [1e-4, 3e-5]
    assert [c.name for c in plan_cells(path, config, [])] == [
        "a/learning_rate=0.0001/seed-1", "a/learning_rate=3e-5/seed-1"]
    with pytest.raises(WdTrainError, match="listed twice"):
        load_config(config_with_rates("1e-4", "0.0001"))


def test_a_grid_key_below_a_value_is_named_in_the_config_not_in_set(tiny_config_dict, tmp_path,
                                                                     tiny_dataset):
    from wd_train.config import load_config
    from wd_train.experiments.comparison import plan_cells

    compare = {"variants": {"a": {"optimizer.schedule": "constant"}}, "seeds": [1],
               "grid": {"optimizer.learning_rate.x": [1]}}
    path = tmp_path / "c.yaml"
    path.write_text(yaml.safe_dump(tiny_config_dict(tiny_dataset, tmp_path / "o",
                                                    compare=compare)), encoding="utf-8")
    config, _ = load_config(path)
    with pytest.raises(WdTrainError) as info:
        plan_cells(path, config, [])
    assert str(info.value) == (f"{path}: compare.grid: optimizer.learning_rate.x: "
                               "learning_rate is not a section")
    with pytest.raises(WdTrainError, match=r"^--set optimizer.learning_rate.x: learning_rate "
                       "is not a section$"):
        load_config(path, ["optimizer.learning_rate.x=1"])


def test_list_cells_and_cell_need_a_comparison(tiny_config_dict, write_config, tmp_path,
                                               tiny_dataset, wd_invoke):
    plain = write_config(tmp_path / "plain.yaml",
                         tiny_config_dict(tiny_dataset, tmp_path / "run"))
    listed = wd_invoke("train", plain, "--list-cells")
    assert listed.exit_code == 2
    assert "--list-cells: " in listed.stderr and "has no compare section" in listed.stderr
    one = wd_invoke("train", plain, "--cell", "constant/seed-1")
    assert one.exit_code == 2 and "--cell: " in one.stderr
    compared = write_config(tmp_path / "cmp.yaml", tiny_config_dict(
        tiny_dataset, tmp_path / "cmp", compare={"variants": VARIANTS, "seeds": [1]}))
    listed = wd_invoke("train", compared, "--list-cells", "--set", "training.epochs=1")
    assert listed.exit_code == 0
    assert listed.stdout.splitlines() == [
        f"wd-train train {compared} --cell {v}/seed-1 --set training.epochs=1 --quiet"
        for v in VARIANTS]


def _cells_of(commands: str) -> list[str]:
    return [shlex.split(c)[shlex.split(c).index("--cell") + 1] for c in commands.splitlines()]


def test_list_cells_lists_the_cells_picked_and_passes_on_how_they_run(grid, wd_invoke,
                                                                     tmp_path):
    """--variant/--seed/--cell pick the cells listed; --resume and --overwrite go into every
    command (with --overwrite the finished cells are listed too: they would be trained again);
    --min-f1 (a gate on each variant's mean) and --json have no meaning per cell: refused."""
    fresh = tmp_path / "fresh"  # no cell has a result there
    listed = wd_invoke("train", grid["path"], "--list-cells", "--output-dir", fresh,
                       "--variant", "constant", "--seed", "1", "--resume")
    assert listed.exit_code == 0, listed.stderr
    assert _cells_of(listed.stdout) == [f"constant/learning_rate={r:g}/seed-1" for r in RATES]
    assert all(c.endswith(f"--output-dir {fresh} --resume --quiet")
               for c in listed.stdout.splitlines())
    one = wd_invoke("train", grid["path"], "--list-cells", "--output-dir", fresh,
                    "--cell", "warmup_decay/learning_rate=1000/seed-2")
    assert _cells_of(one.stdout) == ["warmup_decay/learning_rate=1000/seed-2"]
    # every cell of grid["out"] has its result: --overwrite lists them all, to be redone
    assert wd_invoke("train", grid["path"], "--list-cells").stdout == ""
    redo = wd_invoke("train", grid["path"], "--list-cells", "--overwrite", "--seed", "2")
    assert redo.exit_code == 0, redo.stderr
    assert _cells_of(redo.stdout) == [c for c in CELLS if c.endswith("seed-2")]
    assert all(c.endswith(" --overwrite --quiet") for c in redo.stdout.splitlines())
    for args, message in [
            (["--variant", "nope"], "--variant nope: not in compare.variants"),
            (["--cell", "nope"], "--cell nope: no such cell"),
            (["--min-f1", "0.5"], "--min-f1: "),
            (["--json"], "--json: "),
            (["--resume", "--overwrite"], "--resume and --overwrite: choose one")]:
        refused = wd_invoke("train", grid["path"], "--list-cells", *args)
        assert refused.exit_code == 2, (args, refused.stdout)
        assert refused.stdout == "" and refused.stderr.count("\n") == 1
        assert refused.stderr.startswith(f"wd-train: error: {message}"), refused.stderr


def test_list_cells_lists_a_cell_whose_result_would_not_be_reused(grid, wd_invoke, tmp_path):
    """A cell is done for --list-cells only when a comparison would reuse it: its folder holds
    a readable result of this cell's config. One that holds another config's run or an
    unreadable metrics.json is listed, with a warning line on stderr naming folder and reason;
    its command then stops with the error reuse gives (no training)."""
    out = tmp_path / "out"
    shutil.copytree(grid["out"], out)
    listed = wd_invoke("train", grid["path"], "--list-cells", "--output-dir", out)
    assert (listed.exit_code, listed.stdout, listed.stderr) == (0, "", "")

    unreadable = "constant/learning_rate=0.005/seed-1"
    (out / unreadable / "metrics.json").write_text("{", encoding="utf-8")
    other = "warmup_decay/learning_rate=0.005/seed-2"
    diverged_other = "constant/learning_rate=1000/seed-2"
    for name in (other, diverged_other):
        saved = out / name / "config.yaml"
        config = yaml.safe_load(saved.read_text(encoding="utf-8"))
        config["training"]["epochs"] = 3
        saved.write_text(yaml.safe_dump(config), encoding="utf-8")

    listed = wd_invoke("train", grid["path"], "--list-cells", "--output-dir", out)
    assert listed.exit_code == 0, listed.stderr
    assert _cells_of(listed.stdout) == [c for c in CELLS if c in (unreadable, other,
                                                                  diverged_other)]
    warnings = listed.stderr.splitlines()
    assert len(warnings) == 3 and all(w.startswith("warning: ") for w in warnings)
    by_cell = {name: next(w for w in warnings if f"{out / name}" in w)
               for name in (unreadable, other, diverged_other)}
    assert "metrics.json: cannot read" in by_cell[unreadable]
    assert "holds a finished run of another config (training.epochs: 3 there, 2 now)" in \
        by_cell[other]
    assert "holds a diverged run of another config (training.epochs: 3 there" in \
        by_cell[diverged_other]
    for command in listed.stdout.splitlines():  # each stops at once, with that reason
        ran = wd_invoke(*shlex.split(command)[1:])
        assert ran.exit_code == 2 and ran.stderr.count("\n") == 1, ran.stderr
        name = _cells_of(command)[0]
        reason = by_cell[name].split(f"{out / name}", 1)[1][:40]
        assert reason in ran.stderr, (reason, ran.stderr)


def test_the_advice_for_setting_a_grid_key_works(grid, wd_invoke, tmp_path):
    """--set on a key compare.grid varies is refused; the advised --set replaces the grid (its
    keys hold dots, so `--set compare.grid.optimizer.learning_rate=…` cannot name one)."""
    refused = wd_invoke("train", grid["path"], "--list-cells", "--set",
                        "optimizer.learning_rate=0.1")
    assert refused.exit_code == 2 and refused.stderr.count("\n") == 1
    advised = re.search(r"--set ('compare\.grid=[^']*')", refused.stderr)
    assert advised, refused.stderr
    setting = shlex.split(advised.group(1))[0]
    assert setting == "compare.grid={optimizer.learning_rate: [0.005, 1000.0]}"
    fresh = tmp_path / "fresh"
    as_now = wd_invoke("train", grid["path"], "--list-cells", "-o", fresh, "--set", setting)
    assert as_now.exit_code == 0, as_now.stderr
    assert _cells_of(as_now.stdout) == CELLS
    changed = setting.replace("[0.005, 1000.0]", "[0.01, 3.0e-5]")
    listed = wd_invoke("train", grid["path"], "--list-cells", "-o", fresh, "--set", changed)
    assert listed.exit_code == 0, listed.stderr
    assert _cells_of(listed.stdout) == [f"{v}/learning_rate={r}/seed-{s}" for s in SEEDS
                                        for v in VARIANTS for r in ("0.01", "3e-5")]
    # each printed command names a cell of the grid it sets (its own --list-cells lists it)
    command = shlex.split(listed.stdout.splitlines()[-1])
    again = wd_invoke(*command[1:], "--list-cells")
    assert again.exit_code == 0, again.stderr
    assert _cells_of(again.stdout) == [command[command.index("--cell") + 1]]


def test_a_grid_gates_each_variants_best_point_not_each_cell(grid, wd_process):
    """The sweep's rate of 1000 diverges on purpose: a gate on the grid checks each variant at
    its best point (both reach it at 0.005), and one cell's own run is not gated alone."""
    whole = wd_process("train", grid["path"], "--min-f1", "0.0")
    assert whole.returncode == 0, whole.stderr
    assert "gate passed" in whole.stderr + whole.stdout
    assert "learning_rate=0.005" in (whole.stderr + whole.stdout).split("gate passed")[1]
    one = wd_process("train", grid["path"], "--cell", "constant/learning_rate=0.005/seed-1",
                     "--min-f1", "0.99")
    assert one.returncode == 0, one.stderr
    assert "a grid's gate checks each variant's best point" in one.stderr
    strict = wd_process("train", grid["path"], "--min-f1", "0.99")
    assert strict.returncode == 1
    assert "gate failed: warmup_decay/learning_rate=0.005" in strict.stderr
