"""A 2-variant × 2-seed comparison on a tiny model, through the command line: the cells are
ordinary runs, and the summary, results lines and charts agree with them."""

import csv
import json
import statistics
import struct

import pytest
import yaml
from typer.testing import CliRunner

from wd_train.cli import app
from wd_train.config import load_config
from wd_train.errors import WdTrainError
from wd_train.experiments.comparison import plan_cells

VARIANTS = {"warmup_decay": {"optimizer.schedule": "warmup_decay",
                             "optimizer.warmup_proportion": 0.3},
            "constant": {"optimizer.schedule": "constant"}}
SEEDS = [1, 2]
PNG_MAGIC = b"\x89PNG\r\n\x1a\n"


def invoke(*args):
    return CliRunner().invoke(app, [*map(str, args)])


@pytest.fixture(scope="module")
def comparison(write_conll, make_sentences, write_vocab, tiny_config_dict, write_config, tmp_path_factory):
    tmp = tmp_path_factory.mktemp("compare")
    dataset = {"train": write_conll(tmp / "train.conll", make_sentences(60, 1, long_every=15)),
               "dev": write_conll(tmp / "dev.conll", make_sentences(20, 2, long_every=10)),
               "test": write_conll(tmp / "test.conll", make_sentences(20, 3, long_every=10)),
               "vocab": write_vocab(tmp / "vocab.txt")}
    config = tiny_config_dict(dataset, tmp / "unused", compare={"variants": VARIANTS,
                                                                "seeds": SEEDS})
    path = write_config(tmp / "compare.yaml", config)
    out, results = tmp / "cmp", tmp / "results.jsonl"
    result = invoke("train", path, "--output-dir", out, "--results", results, "--json")
    assert result.exit_code == 0, result.output
    cells = {(v, s): json.loads((out / v / f"seed-{s}" / "metrics.json").read_text())
             for v in VARIANTS for s in SEEDS}
    return {"path": path, "out": out, "results": results, "stdout": result.stdout,
            "stderr": result.stderr, "cells": cells}


@pytest.fixture
def comparison_copy(comparison, tmp_path):
    """The finished comparison copied here, for tests that change its files."""
    import shutil

    out = shutil.copytree(comparison["out"], tmp_path / "cmp")
    results = shutil.copy(comparison["results"], tmp_path / "results.jsonl")
    return {**comparison, "out": out, "results": results}


def without_time(summary: dict) -> dict:
    return {k: v for k, v in summary.items() if k != "created_at"}


def test_summary_files_and_charts_exist(comparison):
    # what the charts draw is tested in test_plots.py; here: the files a comparison leaves,
    # each one the others agree with
    out = comparison["out"]
    summary = json.loads((out / "summary.json").read_text())
    rows = list(csv.DictReader((out / "summary.csv").open()))
    assert [r["group"] for r in rows] == [g["name"] for g in summary["groups"]]
    for row, group in zip(rows, summary["groups"]):
        assert float(row["test_f1_mean"]) == pytest.approx(group["test_f1"]["mean"], abs=1e-6)
    markdown = (out / "summary.md").read_text()
    assert all(g["name"] in markdown for g in summary["groups"])
    assert summary["plots"] == ["lr.png", "dev_f1.png", "loss.png"]
    for name in summary["plots"]:
        data = (out / name).read_bytes()
        assert data.startswith(PNG_MAGIC), name
        width, height = struct.unpack(">II", data[16:24])  # the PNG header's image size
        assert (width, height) == (900, 540), name  # 7.5 × 4.5 inches at 120 dpi
    assert not (out / "metrics.json").exists()  # the comparison folder is not itself a run
    assert not list(out.glob(".*.tmp"))


def test_json_mode_prints_the_summary_only(comparison):
    printed = json.loads(comparison["stdout"])  # stdout is exactly one JSON object
    written = json.loads((comparison["out"] / "summary.json").read_text())
    assert without_time(printed) == without_time(written)
    assert printed["plots"] == ["lr.png", "dev_f1.png", "loss.png"]
    assert "# Summary: 2 variants, 4 runs" in comparison["stderr"]


def test_summary_agrees_with_the_runs(comparison):
    summary = json.loads((comparison["out"] / "summary.json").read_text())
    cells = comparison["cells"]
    assert [g["name"] for g in summary["groups"]] == list(VARIANTS)
    for group in summary["groups"]:
        for split in ("dev", "test"):
            values = [cells[group["name"], s][split]["f1"] for s in SEEDS]
            stats = group[f"{split}_f1"]
            assert stats["n"] == 2
            assert stats["mean"] == pytest.approx(statistics.mean(values))
            assert stats["std"] == pytest.approx(statistics.stdev(values))
            assert (stats["min"], stats["max"]) == (min(values), max(values))
        assert group["best_epoch"]["mean"] == pytest.approx(
            statistics.mean(cells[group["name"], s]["best_epoch"] for s in SEEDS))
    for row in summary["per_seed"]:
        for variant in VARIANTS:
            assert row["cells"][variant]["test"] == cells[variant, row["seed"]]["test"]["f1"]
    test_diff = next(d for d in summary["differences"] if d["split"] == "test")
    expected = [100 * (cells["warmup_decay", s]["test"]["f1"] - cells["constant", s]["test"]["f1"])
                for s in SEEDS]
    assert (test_diff["a"], test_diff["b"], test_diff["seeds"]) == ("warmup_decay", "constant",
                                                                    SEEDS)
    assert test_diff["differences"] == pytest.approx(expected)
    half = 12.7062 * statistics.stdev(expected) / 2 ** 0.5  # t(0.975, df=1)
    assert test_diff["ci_low"] == pytest.approx(statistics.mean(expected) - half)
    assert test_diff["verdict"].startswith("warmup_decay − constant: ")
    assert "with 2 seeds" in test_diff["verdict"]
    markdown = (comparison["out"] / "summary.md").read_text()
    assert f"- test F1: {test_diff['verdict']}" in markdown
    rows = {r["group"]: r for r in csv.DictReader((comparison["out"] / "summary.csv").open())}
    assert float(rows["constant"]["test_f1_mean"]) == pytest.approx(
        summary["groups"][1]["test_f1"]["mean"], abs=1e-6)


def test_cells_are_ordinary_runs_of_their_variant(comparison):
    import tensorflow as tf
    from tensorflow.core.util import event_pb2

    out = comparison["out"]
    for (variant, seed), metrics in comparison["cells"].items():
        run_dir = out / variant / f"seed-{seed}"
        config, _ = load_config(run_dir / "config.yaml")
        assert config.compare is None and config.training.seed == seed
        assert config.optimizer.schedule == variant
        assert metrics["variant"] == variant and metrics["seed"] == seed
        assert metrics["overrides"] == VARIANTS[variant]
        (events,) = (run_dir / "tensorboard").glob("events.out.tfevents.*")
        steps: dict[str, list[int]] = {}
        for raw in tf.data.TFRecordDataset(str(events)):
            event = event_pb2.Event.FromString(raw.numpy())
            for value in event.summary.value:
                assert value.metadata.plugin_data.plugin_name == "scalars"
                steps.setdefault(value.tag, []).append(event.step)
        assert steps["lr"] == steps["loss"] == list(range(metrics["steps"]))
        assert len(steps["dev_f1"]) == metrics["epochs_run"]
    warmup = [float(r["lr"]) for r in csv.DictReader(
        (out / "warmup_decay" / "seed-1" / "lr.csv").open())]
    peak = max(warmup)
    assert warmup[0] < peak and warmup[-1] < peak  # ramp up, then decay
    constant = {r["lr"] for r in csv.DictReader((out / "constant" / "seed-1" / "lr.csv").open())}
    assert len(constant) == 1


def test_results_lines(comparison):
    lines = comparison["results"].read_text().splitlines()
    records = [json.loads(line) for line in lines]
    assert len(records) == 4
    for record in records:
        metrics = comparison["cells"][record["variant"], record["seed"]]
        assert record["test"]["f1"] == metrics["test"]["f1"]
        assert record["dev"]["f1"] == metrics["dev"]["f1"]
        assert record["overrides"] == VARIANTS[record["variant"]]
        assert record["run_dir"] == metrics["run_dir"]
        assert record["config"] == str(comparison["path"])
        assert record["train_seconds"] == metrics["train_seconds"]


def test_report_rebuilds_the_same_summary(comparison, tmp_path):
    for source in (comparison["out"], comparison["results"]):
        result = invoke("report", source, "--output-dir", tmp_path / "r", "--json", "--quiet")
        assert result.exit_code == 0, result.output
        rebuilt = json.loads(result.stdout)
        written = json.loads((comparison["out"] / "summary.json").read_text())
        for key in ("groups", "per_seed", "differences"):
            assert rebuilt[key] == written[key], key
        assert sorted((tmp_path / "r").glob("*.png")) != []
    by_schedule = invoke("report", comparison["results"], "--by", "optimizer.schedule", "-o",
                         tmp_path / "s", "-q")
    assert by_schedule.exit_code == 0
    assert "schedule=warmup_decay − schedule=constant" in by_schedule.stdout


def test_rerun_resumes_from_finished_cells(comparison_copy):
    comparison = comparison_copy
    before = comparison["results"].read_text()
    # one cell as a plain run would have left it (`-o cmp/constant/seed-2 --set ...`)
    marker = comparison["out"] / "constant" / "seed-2" / "metrics.json"
    plain = {**json.loads(marker.read_text()), "variant": None,
             "overrides": {"optimizer.schedule": "constant", "training.seed": 2}}
    marker.write_text(json.dumps(plain))
    result = invoke("train", comparison["path"], "--output-dir", comparison["out"],
                    "--results", comparison["results"])
    assert result.exit_code == 0, result.output
    assert result.stderr.count("finished run reused") == 4
    assert "# Summary: 2 variants, 4 runs" in result.stdout
    assert comparison["results"].read_text() == before  # nothing ran, nothing appended
    adopted = json.loads(marker.read_text())
    assert adopted["variant"] == "constant" and adopted["overrides"] == VARIANTS["constant"]
    assert adopted["test"] == plain["test"]


def test_a_saved_config_without_a_newer_key_is_still_reused(comparison_copy):
    """Configs saved before a key existed compare through the schema: its default fills in."""

    comparison = comparison_copy
    saved = comparison["out"] / "warmup_decay" / "seed-1" / "config.yaml"
    data = yaml.safe_load(saved.read_text())
    del data["training"]["loss_average"]
    saved.write_text(yaml.safe_dump(data))
    result = invoke("train", comparison["path"], "--output-dir", comparison["out"], "--quiet")
    assert result.exit_code == 0, result.output


def test_some_variants_without_the_baseline_still_summarise(comparison_copy, tmp_path):
    """`--variant warmup_decay` of a comparison whose baseline is `constant`: the cells run (here
    reused) and their summary is printed; the missing baseline is not an error after training."""
    comparison = comparison_copy
    config = yaml.safe_load(comparison["path"].read_text())
    config["compare"]["baseline"] = "constant"
    path = tmp_path / "with-baseline.yaml"
    path.write_text(yaml.safe_dump(config))
    result = invoke("train", path, "-o", comparison["out"], "--variant", "warmup_decay")
    assert result.exit_code == 0, result.output
    assert "compare.baseline constant is not among the variants run" in result.stderr
    assert "# Summary: 1 variant, 2 runs" in result.stdout


def test_one_cell_is_an_ordinary_run(comparison):
    out = comparison["out"]
    summary_time = (out / "summary.json").stat().st_mtime_ns
    result = invoke("train", comparison["path"], "-o", out, "--variant", "constant", "--seed",
                    2, "--json", "--quiet")
    assert result.exit_code == 0, result.output
    shown = json.loads(result.stdout)
    assert shown == comparison["cells"]["constant", 2]
    one_seed = invoke("train", comparison["path"], "-o", out, "--seed", 1, "--quiet")
    assert one_seed.exit_code == 0 and "# Summary: 2 variants, 2 runs" in one_seed.stdout
    assert (out / "summary.json").stat().st_mtime_ns == summary_time  # printed, not written


def test_a_changed_config_never_reuses_old_runs(comparison):
    result = invoke("train", comparison["path"], "-o", comparison["out"], "--set",
                    "training.epochs=3")
    assert result.exit_code == 2
    assert "training.epochs: 2 there, 3 now" in result.stderr
    assert "--overwrite" in result.stderr


@pytest.mark.parametrize(("compare", "message"), [
    ({"variants": {"a b": {}}}, "compare.variants: 'a b' is not usable as a folder name"),
    ({"variants": {"a": {"schedule": "constant"}}}, "'schedule' is not a dotted section.key"),
    ({"variants": {"a": {"training.seed": 3}}}, "training.seed is set by the comparison"),
    ({"seeds": [1, 1]}, "compare.seeds: expected distinct seeds"),
    ({"seeds": []}, "compare.seeds"),
    ({"variant": {}}, "compare.variant: unknown key; did you mean 'compare.variants'"),
])
def test_compare_schema_errors(tiny_config_dict, write_config, tmp_path, tiny_dataset, compare, message):
    path = write_config(tmp_path / "c.yaml",
                        tiny_config_dict(tiny_dataset, tmp_path / "o", compare=compare))
    with pytest.raises(WdTrainError, match=message.replace("(", r"\(")):
        load_config(path)


def test_cells_are_planned_and_checked_before_anything_runs(tiny_config_dict, write_config, tmp_path, tiny_dataset):
    compare = {"variants": {"good": {"optimizer.schedule": "constant"},
                            "typo": {"optimizer.shedule": "constant"}}, "seeds": [3, 4]}
    path = write_config(tmp_path / "c.yaml",
                        tiny_config_dict(tiny_dataset, tmp_path / "o", compare=compare))
    config, _ = load_config(path)
    with pytest.raises(WdTrainError, match=r"compare.variants.typo: optimizer.shedule: unknown "
                                           r"key; did you mean 'optimizer.schedule'"):
        plan_cells(path, config, [])
    del compare["variants"]["typo"]
    write_config(path, tiny_config_dict(tiny_dataset, tmp_path / "o", compare=compare))
    config, _ = load_config(path)
    cells = plan_cells(path, config, ["optimizer.learning_rate=0.01"])
    assert [(c.variant, c.seed) for c in cells] == [("good", 3), ("good", 4)]
    assert cells[0].run_dir == tmp_path / "o" / "good" / "seed-3"
    assert cells[0].config.optimizer.learning_rate == 0.01  # --set reaches every cell
    assert cells[0].overrides == {"optimizer.schedule": "constant",
                                  "optimizer.learning_rate": 0.01}
    with pytest.raises(WdTrainError, match="--set training.seed: a comparison takes its seeds"):
        plan_cells(path, config, ["training.seed=1"])
    result = invoke("train", path, "--variant", "nope")
    assert result.exit_code == 2 and "--variant nope: not in compare.variants (good)" in \
        result.stderr
    assert not (tmp_path / "o").exists()


def test_variant_and_seed_need_a_compare_section(tiny_config_dict, write_config, tmp_path, tiny_dataset):
    path = write_config(tmp_path / "c.yaml", tiny_config_dict(tiny_dataset, tmp_path / "o"))
    result = invoke("train", path, "--seed", 3)
    assert result.exit_code == 2 and "has no compare section" in result.stderr
