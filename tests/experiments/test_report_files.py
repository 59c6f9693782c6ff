"""What `wd-train report` writes: strict JSON (summary.json and --json parse with NaN and
Infinity refused), results lines that stay one line whatever their strings hold, and a set of
files written whole (a full disk leaves the earlier report, never charts without summary.json)."""

import json
import shutil

import pytest

from wd_train.experiments.results import ResultLine, append_result
from wd_train.files import loads_strict, to_json


def _refuse(name):
    raise AssertionError(f"{name} in what should be strict JSON")


def strict(text: str):
    return json.loads(text, parse_constant=_refuse)


def _line(tmp, variant, seed, f1, run_dir=None, **extra) -> ResultLine:
    scores = {"precision": f1, "recall": f1, "f1": f1,
              "per_type": {"PER": {"precision": f1, "recall": f1, "f1": f1, "support": 3}}}
    return ResultLine.model_validate({
        "variant": variant, "seed": seed, "dev": scores, "test": scores,
        "run_dir": str(run_dir or tmp / f"{variant}-{seed}"), "train_seconds": 1.0,
        "wall_seconds": 2.0, **extra})


def test_summary_json_and_json_output_are_strict_json(tmp_path, wd_invoke):
    """One seed in a group (no std, no CI), identical differences (no spread), a variant of
    one run only: every statistic that cannot be computed is null, never NaN."""
    results = tmp_path / "r.jsonl"
    for variant, seed, f1 in [("constant", 1, 0.5), ("constant", 2, 0.6), ("wd", 1, 0.6),
                              ("wd", 2, 0.7), ("single", 1, 0.4)]:
        append_result(results, _line(tmp_path, variant, seed, f1))
    result = wd_invoke("report", results, "--json", "-q")
    assert result.exit_code == 0, result.stderr
    printed = strict(result.stdout)
    written = strict((tmp_path / "summary.json").read_text(encoding="utf-8"))
    assert printed["groups"] == written["groups"]
    assert {g["name"] for g in written["groups"]} == {"constant", "wd", "single"}


def test_a_results_line_with_line_breaks_in_its_strings_stays_one_line(tmp_path, wd_invoke):
    results = tmp_path / "r.jsonl"
    name = "warmup\u2028decay\u2029x\x85y"
    append_result(results, _line(tmp_path, name, 1, 0.5))
    append_result(results, _line(tmp_path, name, 2, 0.6))
    content = results.read_text(encoding="utf-8")
    assert len(content.splitlines()) == 2 and not any(c in content for c in "\u2028\u2029\x85")
    result = wd_invoke("report", results, "--json", "-q")
    assert result.exit_code == 0, result.stderr
    assert len(result.stdout.splitlines()) == 1
    assert strict(result.stdout)["groups"][0]["name"] == name


def test_to_json_and_loads_strict():
    assert to_json({"a": "x\u2028y"}) == '{"a": "x\\u2028y"}'
    with pytest.raises(ValueError):
        to_json({"a": float("nan")})
    for text in ('{"f1": NaN}', '{"f1": Infinity}', '{"f1": -Infinity}', '{"f1": 1e400}'):
        with pytest.raises(ValueError):
            loads_strict(text)
    assert loads_strict('{"f1": 0.5, "s": "\\u2028"}') == {"f1": 0.5, "s": "\u2028"}


def test_a_full_disk_during_report_leaves_no_partial_set(tmp_path, finished_run, wd_invoke,
                                                         small_disk):
    """A tmpfs too small for the charts: one line naming a file of the report (not the
    staging folder) with the system's reason; the earlier summary.json and no new file, no
    temporary folder left."""
    mount = small_disk("64k")
    run = shutil.copytree(finished_run[1], tmp_path / "run")  # with its history.csv, lr.csv
    (mount / "summary.json").write_text('{"earlier": true}\n')
    result = wd_invoke("report", run, "-o", mount, "-q")
    assert result.exit_code == 2, result.stderr
    lines = result.stderr.strip().splitlines()
    assert len(lines) == 1 and "Traceback" not in result.stderr, result.stderr
    assert f"{mount}/" in lines[0] and "No space left on device" in lines[0], lines[0]
    assert ".tmp" not in lines[0], lines[0]
    assert sorted(p.name for p in mount.iterdir()) == ["summary.json"]
    assert (mount / "summary.json").read_text() == '{"earlier": true}\n'


def test_a_report_replaces_the_earlier_set_with_summary_json_last(tmp_path, finished_run,
                                                                  wd_invoke):
    run = shutil.copytree(finished_run[1], tmp_path / "run")
    out = tmp_path / "report"
    assert wd_invoke("report", run, "-o", out, "-q").exit_code == 0
    names = sorted(p.name for p in out.iterdir())
    assert {"summary.json", "summary.md", "summary.csv", "lr.png"} <= set(names)
    assert not [n for n in names if n.startswith(".")]  # the staging folder is gone
    strict((out / "summary.json").read_text(encoding="utf-8"))
