"""The summary `wd-train report` builds: grouping, per-seed table, paired differences, files."""

import csv
import json

import pytest
import yaml

from wd_train.errors import WdTrainError
from wd_train.evaluation import Scores
from wd_train.experiments.grouping import check_renames, group_results, rename_groups
from wd_train.experiments.report import report
from wd_train.experiments.results import ResultLine
from wd_train.experiments.stats import seeds_needed
from wd_train.experiments.summary import build_summary, summary_markdown


def scores(f1: float) -> Scores:
    return Scores(precision=f1, recall=f1, f1=f1, per_type={})


def record(tmp_path, name, seed, test_f1, dev_f1=0.5, variant=None, overrides=None,
           config=None) -> ResultLine:
    run_dir = tmp_path / name
    run_dir.mkdir(exist_ok=True)
    if config is not None:
        (run_dir / "config.yaml").write_text(yaml.safe_dump(config))
    return ResultLine(variant=variant, seed=seed, overrides=overrides or {},
                      dev=scores(dev_f1), test=scores(test_f1), best_epoch=2,
                      train_seconds=10.0, wall_seconds=12.0, run_dir=str(run_dir),
                      config="/x/sweep.yaml")


def as_dict(summary) -> dict:
    return summary.model_dump(mode="json")


def sweep(tmp_path):
    """lr × warmup × seed, as configs/sweep.sh makes them (no variant, --set overrides)."""
    records = []
    for lr, base in ((1e-4, 0.80), (5e-5, 0.70)):
        for warmup, bump in ((0.0, 0.0), (0.1, 0.02)):
            for seed in (1, 2):
                overrides = {"optimizer.learning_rate": lr, "optimizer.warmup_proportion": warmup,
                             "training.seed": seed}
                records.append(record(tmp_path, f"lr{lr}-w{warmup}-s{seed}", seed,
                                      base + bump + 0.01 * seed, overrides=overrides))
    return records


def test_group_by_variant_keeps_the_given_order(tmp_path):
    records = [record(tmp_path, f"r{i}", seed, 0.5, variant=v)
               for i, (v, seed) in enumerate([("wd", 1), ("const", 1), ("wd", 2), ("const", 2)])]
    assert list(group_results(records)) == ["wd", "const"]
    assert list(group_results(records, order=["const", "wd"])) == ["const", "wd"]


def test_runs_without_variant_group_by_their_overrides_seed_left_out(tmp_path):
    records = sweep(tmp_path)
    for r in records:
        r.overrides.update({"gate": None, "data.limit": 100})  # same in all: not in names
    groups = group_results(records)
    assert list(groups) == [
        "learning_rate=0.0001, warmup_proportion=0.0",
        "learning_rate=0.0001, warmup_proportion=0.1",
        "learning_rate=5e-05, warmup_proportion=0.0",
        "learning_rate=5e-05, warmup_proportion=0.1",
    ]
    assert all(len(runs) == 2 for runs in groups.values())
    assert "| setting " in summary_markdown(build_summary(groups))
    one_lr = [r for r in records if r.overrides["optimizer.learning_rate"] == 1e-4]
    assert list(group_results(one_lr)) == ["warmup_proportion=0.0", "warmup_proportion=0.1"]
    alike = [r for r in one_lr if r.overrides["optimizer.warmup_proportion"] == 0.0]
    assert list(group_results(alike)) == [
        "limit=100, learning_rate=0.0001, warmup_proportion=0.0"]
    for r in alike:
        r.overrides = {}
    assert list(group_results(alike)) == ["sweep"]  # the config file's name


def test_group_by_a_key_sorts_numbers_and_averages_runs_of_one_seed(tmp_path):
    built = build_summary(group_results(sweep(tmp_path), "optimizer.learning_rate"),
                          "optimizer.learning_rate")
    summary = as_dict(built)
    assert [g["name"] for g in summary["groups"]] == ["learning_rate=5e-05",
                                                      "learning_rate=0.0001"]
    assert [g["n"] for g in summary["groups"]] == [4, 4]
    assert summary["groups"][0]["runs_per_seed"] == 2
    # seed 1 at lr 5e-5: mean of warmup 0.0 (0.71) and warmup 0.1 (0.73)
    assert summary["per_seed"][0]["cells"]["learning_rate=5e-05"]["test"] == pytest.approx(0.72)
    (test_diff,) = [d for d in summary["differences"] if d["split"] == "test"]
    # no `constant` group: each against the first
    assert (test_diff["a"], test_diff["b"]) == ("learning_rate=0.0001", "learning_rate=5e-05")
    assert test_diff["differences"] == pytest.approx([10.0, 10.0])
    # the same +10 points on both seeds: no spread, so the t-test is undefined (not "p 0")
    assert test_diff["no_spread"] and not test_diff["significant"]
    assert test_diff["p_value"] is None and test_diff["seeds_needed"] is None
    assert test_diff["verdict"].endswith("+10.00 F1 points on every seed: no spread over 2 "
                                         "seeds, not testable")
    assert "per-seed F1 is those runs' mean" in summary_markdown(built)


def test_group_by_a_key_not_overridden_reads_the_run_config(tmp_path):
    saved = {"data": {"train": "t.conll", "dev": "d.conll"},
             "model": {"random_init": {}, "vocab": "vocab.txt"}}
    records = [record(tmp_path, f"r{seed}{epochs}", seed, 0.5 + 0.01 * epochs,
                      config={**saved, "training": {"epochs": epochs, "seed": seed}})
               for seed in (1, 2, 3) for epochs in (3, 1)]
    groups = group_results(records, "training.epochs")
    assert list(groups) == ["epochs=1", "epochs=3"]
    # a key the saved config leaves to its default is read as the default the run used
    assert list(group_results(records, "optimizer.schedule")) == ["schedule=warmup_decay"]
    with pytest.raises(WdTrainError, match="--by optimizer.nothing: no run has this key"):
        group_results(records, "optimizer.nothing")
    with pytest.raises(WdTrainError, match="expected 'variant' or a dotted config key"):
        group_results(records, "epochs")


def test_summary_numbers(tmp_path):
    cells = [("a", 1, 0.80, 0.90), ("b", 1, 0.79, 0.85), ("a", 2, 0.82, 0.91),
             ("b", 2, 0.80, 0.86), ("a", 3, 0.81, 0.92)]
    records = [record(tmp_path, f"{v}{seed}", seed, test, dev, v) for v, seed, test, dev in cells]
    built = build_summary(group_results(records))
    summary = as_dict(built)
    a, b = summary["groups"]
    assert (a["name"], a["n"], a["seeds"]) == ("a", 3, [1, 2, 3])
    assert a["test_f1"]["mean"] == pytest.approx(0.81)
    assert a["test_f1"]["std"] == pytest.approx(0.01)
    assert (a["test_f1"]["min"], a["test_f1"]["max"]) == (0.80, 0.82)
    assert b["n"] == 2 and b["dev_f1"]["mean"] == pytest.approx(0.855)
    assert summary["per_seed"][2]["cells"]["b"] == {"dev": None, "test": None}
    test_diff = summary["differences"][0]
    assert test_diff["split"] == "test" and test_diff["seeds"] == [1, 2]  # paired: seed 3 out
    assert (test_diff["a"], test_diff["b"]) == ("b", "a")  # against the first group
    assert test_diff["mean"] == pytest.approx(-1.5)
    markdown = summary_markdown(built)
    assert "| a " in markdown and "81.00 ± 1.00" in markdown
    assert "- test F1: b − a: −1.50 F1 points, 95 % CI [" in markdown


def test_groups_are_compared_with_the_first_when_none_is_constant(tmp_path):
    records = [record(tmp_path, f"g{g}s{s}", s, 0.5 + 0.01 * g, variant=f"g{g}")
               for g in range(8) for s in (1, 2)]
    summary = as_dict(build_summary(group_results(records)))
    pairs = {(d["a"], d["b"]) for d in summary["differences"]}
    assert pairs == {(f"g{g}", "g0") for g in range(1, 8)}
    assert summary["pairs"] == "each against g0"


def test_report_writes_the_files(tmp_path):
    results = tmp_path / "results.jsonl"
    results.write_text("".join(json.dumps(r.model_dump(mode="json")) + "\n"
                               for r in sweep(tmp_path)))
    summary = as_dict(report([results], by="optimizer.warmup_proportion"))
    for name in ("summary.md", "summary.json", "summary.csv"):
        assert (tmp_path / name).is_file()
    assert json.loads((tmp_path / "summary.json").read_text())["groups"] == summary["groups"]
    rows = list(csv.DictReader((tmp_path / "summary.csv").open()))
    assert [r["group"] for r in rows] == ["warmup_proportion=0.0", "warmup_proportion=0.1"]
    assert float(rows[0]["test_f1_mean"]) == pytest.approx(summary["groups"][0]["test_f1"]["mean"])
    assert summary["plots"] == []  # these run directories hold no curves


def test_report_renames_groups_and_their_runs_before_the_baseline_is_chosen(tmp_path):
    """Runs of another comparison set beside these under a new name: the tables, the runs in
    summary.json and --baseline all use it, and the order stays."""
    records = [record(tmp_path, f"{v}{seed}", seed, 0.8 + 0.01 * (v == "wd") + 0.001 * seed,
                      variant=v) for seed in (1, 2, 3) for v in ("wd", "crf", "constant")]
    results = tmp_path / "results.jsonl"
    results.write_text("".join(json.dumps(r.model_dump(mode="json")) + "\n" for r in records))
    summary = as_dict(report([results], renames=["wd=softmax", "constant=softmax+const"],
                             baseline="softmax"))
    assert [g["name"] for g in summary["groups"]] == ["softmax", "crf", "softmax+const"]
    assert {r["variant"] for r in summary["runs"]} == {"softmax", "crf", "softmax+const"}
    assert {(d["a"], d["b"]) for d in summary["differences"]} == {
        ("crf", "softmax"), ("softmax+const", "softmax")}
    assert "softmax+const" in (tmp_path / "summary.md").read_text()
    with pytest.raises(WdTrainError, match="no group 'softmx' \\(groups: wd, crf, constant\\)"):
        report([results], renames=["softmx=x"])
    with pytest.raises(WdTrainError, match="'wd' and 'crf' would both be called 'crf' and "
                                           "both have seed 1"):
        report([results], renames=["wd=crf"])


def test_groups_renamed_to_one_name_merge_when_no_seed_is_in_both(tmp_path):
    """One setting recorded under two names (seed 1 without an override, seeds 2 and 3 with
    one): renamed to one name, its three seeds pair with the baseline's."""
    records = [record(tmp_path, f"b{seed}", seed, 0.80 + 0.001 * seed, variant="base")
               for seed in (1, 2, 3)]
    records.append(record(tmp_path, "x1", 1, 0.82, variant="best"))
    records += [record(tmp_path, f"x{seed}", seed, 0.81 + 0.001 * seed, variant="best+x")
                for seed in (2, 3)]
    results = tmp_path / "results.jsonl"
    results.write_text("".join(json.dumps(r.model_dump(mode="json")) + "\n" for r in records))
    summary = as_dict(report([results], renames=["best=new", "best+x=new"], baseline="base"))
    assert [g["name"] for g in summary["groups"]] == ["base", "new"]
    new = summary["groups"][1]
    assert new["n"] == 3 and new["seeds"] == [1, 2, 3]
    test = next(d for d in summary["differences"] if d["split"] == "test")
    assert test["n"] == 3 and test["mean"] == pytest.approx(  # F1 points
        100 * ((0.82 - 0.801) + (0.812 - 0.802) + (0.813 - 0.803)) / 3)


def test_report_keeps_only_the_groups_asked_for_in_their_order(tmp_path):
    records = [record(tmp_path, f"{v}{seed}", seed, 0.8 + 0.001 * seed, variant=v)
               for seed in (1, 2) for v in ("wd", "crf", "constant")]
    results = tmp_path / "results.jsonl"
    results.write_text("".join(json.dumps(r.model_dump(mode="json")) + "\n" for r in records))
    summary = as_dict(report([results], renames=["wd=softmax"], only=["crf", "softmax"]))
    assert [g["name"] for g in summary["groups"]] == ["crf", "softmax"]
    assert len(summary["runs"]) == 4 and summary["pairs"] == "each against crf"
    with pytest.raises(WdTrainError, match="--only wd: no group 'wd'"):
        report([results], renames=["wd=softmax"], only=["wd"])


def test_rename_options_are_old_equals_new_matched_against_the_group_names(tmp_path):
    assert check_renames(["wd=softmax", " constant = softmax+constant "])
    for bad in ("wd", "=x", "wd=", " = "):
        with pytest.raises(WdTrainError, match=f"--rename {bad}: expected OLD=NEW"):
            check_renames([bad])
    # groups named by a config key hold "=" themselves: OLD is the part that names a group
    groups = group_results(sweep(tmp_path), "optimizer.learning_rate")
    assert list(groups) == ["learning_rate=5e-05", "learning_rate=0.0001"]
    renamed = rename_groups(groups, ["learning_rate=0.0001=high", " learning_rate=5e-05 = low"],
                            by="optimizer.learning_rate")
    assert list(renamed) == ["low", "high"]
    assert all(r.variant is None for runs in renamed.values() for r in runs)  # not variants
    with pytest.raises(WdTrainError, match="'wd' is renamed twice"):
        rename_groups({"wd": [], "c": []}, ["wd=a", "wd=b"])
    with pytest.raises(WdTrainError, match="ambiguous, it could rename 'a' or 'a=b'"):
        rename_groups({"a": [], "a=b": []}, ["a=b=c"])


def test_groups_of_runs_without_a_variant_are_renamed_with_their_runs(tmp_path):
    records = sweep(tmp_path)
    names = list(group_results(records))
    renamed = rename_groups(group_results(records), [f"{names[0]}=first"])
    assert {r.variant for r in renamed["first"]} == {"first"}
    assert all(r.variant is None for r in renamed[names[1]])


def test_report_into_a_comparison_folder_keeps_its_order_baseline_and_config(tmp_path):
    """`wd-train report runs/cmp` makes the comparison's summary again; a renamed or partial
    one must not replace it."""
    from wd_train.experiments.summary import write_summary

    records = [record(tmp_path, f"{v}{seed}", seed, 0.8 + 0.001 * seed, variant=v,
                      overrides={"optimizer.schedule": v}) for seed in (1, 2) for v in "bac"]
    groups = group_results(records, order=["c", "a", "b"])
    made = build_summary(groups, baseline="a")
    gate = {"metric": "test.f1", "min": 0.5, "applies_to": "each variant's mean",
            "values": {"c": 0.8, "a": 0.8, "b": 0.8}, "passed": True}
    made.config, made.gate = "/x/cmp.yaml", gate
    write_summary(tmp_path, made, groups)
    results = tmp_path / "results.jsonl"
    results.write_text("".join(json.dumps(r.model_dump(mode="json")) + "\n" for r in records))
    again = as_dict(report([results], output_dir=tmp_path))
    assert [g["name"] for g in again["groups"]] == ["c", "a", "b"]
    assert again["pairs"] == "each against a"
    assert (again["config"], again["gate"]) == ("/x/cmp.yaml", gate)
    fewer = as_dict(report([results], output_dir=tmp_path, baseline="c"))
    assert fewer["pairs"] == "each against c" and fewer["config"] == "/x/cmp.yaml"
    for partial in ({"only": ["a", "b"]}, {"renames": ["a=z"]}, {"by": "optimizer.schedule"}):
        with pytest.raises(WdTrainError, match="the comparison's own summary \\(of /x/cmp.yaml"):
            report([results], output_dir=tmp_path, **partial)
    with pytest.raises(WdTrainError, match="--baseline z: not one of the groups"):
        report([results], output_dir=tmp_path / "elsewhere", baseline="z")


def test_several_variants_against_the_constant_baseline_are_holm_adjusted(tmp_path):
    """Four schedules and `constant` (listed last, still the baseline): four differences, each
    against constant; with Holm a p-value is multiplied by up to 4 and the verdict says so."""
    gains = {"warmup_decay": (0.020, 0.021, 0.019), "warmup_cosine": (0.01, 0.02, 0.0),
             "warmup_constant": (0.0, 0.001, -0.001), "linear_decay": (0.005, 0.007, 0.006)}
    records = []
    for seed_index, seed in enumerate((1, 2, 3)):
        records.append(record(tmp_path, f"c{seed}", seed, 0.80, variant="constant"))
        for name, gain in gains.items():
            records.append(record(tmp_path, f"{name}{seed}", seed, 0.80 + gain[seed_index],
                                  variant=name))
    summary = build_summary(group_results(records, order=[*gains, "constant"]))
    tests = [d for d in summary.differences if d.split == "test"]
    assert [(d.a, d.b) for d in tests] == [(name, "constant") for name in gains]
    ps = [d.p_value for d in tests]
    for d in tests:
        rank = sorted(ps).index(d.p_value)
        assert d.p_holm >= min(1.0, (4 - rank) * d.p_value) - 1e-12
        assert "over 4 comparisons" in d.verdict
    for d in summary.differences:  # seeds for 80 % power at Holm's strictest level, 5 %/4
        assert d.seeds_needed == seeds_needed(d.mean, d.std, alpha=0.0125)
    warm = tests[0]
    assert warm.p_holm < 0.05 and "significant (Holm-adjusted p" in warm.verdict
    cosine = tests[1]
    assert "not significant" in cosine.verdict and cosine.seeds_needed > 3
    assert f"about {cosine.seeds_needed} seeds would detect" in cosine.verdict
    markdown = summary_markdown(summary)
    assert "Each group against constant (significance Holm-adjusted" in markdown
    assert "seeds for 80 % power" in markdown
    # an explicit baseline
    other = build_summary(group_results(records), baseline="warmup_decay")
    assert {d.b for d in other.differences} == {"warmup_decay"}
    with pytest.raises(WdTrainError, match="compare.baseline: 'nope'"):
        build_summary(group_results(records), baseline="nope")


def test_compare_baseline_must_name_a_variant():
    from pydantic import ValidationError

    from wd_train.config.schema import CompareConfig

    assert CompareConfig(baseline="warmup_decay").baseline == "warmup_decay"
    with pytest.raises(ValidationError, match="baseline 'nope' is not one of the variants"):
        CompareConfig(baseline="nope")


def test_runs_without_a_test_score_leave_dev_differences_and_say_why(tmp_path):
    records = [record(tmp_path, f"{v}{seed}", seed, 0.8, dev_f1=0.8 + 0.01 * (v == "wd"),
                      variant=v) for seed in (1, 2, 3) for v in ("wd", "constant")]
    records[0].test = None
    summary = build_summary(group_results(records))
    assert {d.split for d in summary.differences} == {"dev"}
    assert "No test differences: 1 of the 6 runs have no test score" in summary_markdown(summary)


def test_by_a_config_key_reads_the_lines_resolved_config_when_the_run_is_gone(tmp_path):
    """A results line that carries its resolved config is grouped by any key of it, with its
    run directory deleted (committed evidence outlives the runs)."""
    gone = []
    for warmup, seed, f1 in ((0.0, 1, 0.70), (0.0, 2, 0.72), (0.2, 1, 0.80), (0.2, 2, 0.81)):
        line = record(tmp_path, f"w{warmup}-s{seed}", seed, f1)
        line.resolved_config = {"optimizer": {"warmup_proportion": warmup}}
        line.run_dir = str(tmp_path / "deleted" / line.run_dir)
        gone.append(line)
    groups = group_results(gone, by="optimizer.warmup_proportion")
    assert {name: [r.test.f1 for r in runs] for name, runs in groups.items()} == {
        "warmup_proportion=0.0": [0.70, 0.72], "warmup_proportion=0.2": [0.80, 0.81]}
