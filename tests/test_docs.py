"""The README stays short, every relative link in README.md and docs/ resolves, and every study
table in docs/studies is what `wd-train report` computes from the committed per-run records."""

import re
import shlex
from pathlib import Path

import pytest

ROOT = Path(__file__).resolve().parents[1]
README = ROOT / "README.md"
PAGES = [README, *sorted((ROOT / "docs").rglob("*.md"))]
STUDIES = sorted((ROOT / "docs" / "studies").glob("*/README.md"))
FENCE = re.compile(r"^```.*?^```", flags=re.MULTILINE | re.DOTALL)
LINK = re.compile(r"!?\[[^\]]*\]\(([^)\s]+)\)")


def test_the_readme_is_read_in_five_minutes():
    assert README.stat().st_size <= 15_000, f"README.md is {README.stat().st_size} bytes"


@pytest.mark.parametrize("page", PAGES, ids=lambda p: str(p.relative_to(ROOT)))
def test_every_relative_link_points_to_an_existing_file(page):
    text = FENCE.sub("", page.read_text(encoding="utf-8"))
    broken = []
    for target in LINK.findall(text):
        if re.match(r"[a-z][a-z0-9+.-]*:", target) or target.startswith("#"):
            continue  # a URL or an anchor on the same page
        path = (page.parent / target.split("#", 1)[0]).resolve()
        if not path.exists():
            broken.append(target)
    assert not broken, f"{page.relative_to(ROOT)}: links to missing files: {broken}"


def test_the_readme_quotes_only_numbers_of_the_studies_it_links():
    """Every number with a decimal point in the README's prose is in the committed summary of a
    study the README links to (the test below regenerates those from their per-run records)."""
    text = README.read_text(encoding="utf-8")
    studies = {ROOT / m for m in re.findall(r"\((docs/studies/[^/)]+)/", text)}
    evidence = "\n".join((s / "summary.md").read_text(encoding="utf-8") for s in studies)
    prose = re.sub(r"`[^`]*`", "", FENCE.sub("", text))
    prose = re.sub(r"(Python|TensorFlow) [\d.–]+", "", prose)  # versions, not results
    numbers = re.findall(r"(?<![\w.])\d+\.\d+(?![\w.])", prose)
    assert studies and [n for n in numbers if n not in evidence] == []


def _report_commands(text: str) -> list[list[str]]:
    """The `wd-train report …` commands of a page's shell blocks, as argument lists."""
    commands = []
    for block in re.findall(r"^```sh\n(.*?)^```", text, flags=re.MULTILINE | re.DOTALL):
        for line in block.replace("\\\n", " ").splitlines():
            line = line.split("#", 1)[0].strip()
            if line.startswith("wd-train report "):
                commands.append(shlex.split(line)[2:])
    return commands


def _regenerated_summary(args: list[str], out: Path) -> str:
    from wd_train.experiments.report import report

    inputs, options = [], {"renames": [], "only": []}
    names = {"--baseline": "baseline", "--by": "by", "--rename": "renames", "--only": "only",
             "-o": None, "--output-dir": None}
    words = iter(args)
    for word in words:
        if word in names:
            value = next(words)
            key = names[word]
            if key in ("renames", "only"):
                options[key].append(value)
            elif key is not None:
                options[key] = value
        elif not word.startswith("-"):
            inputs.append(ROOT / word)
    report(inputs, output_dir=out, **options)
    return (out / "summary.md").read_text(encoding="utf-8")


def _committed_inputs(args: list[str]) -> bool:
    """The command reads only results files committed under docs/ (not a fresh run's)."""
    files = [a for a in args if a.endswith(".jsonl")]
    return bool(files) and all(a.startswith("docs/") and (ROOT / a).is_file() for a in files)


def _table_rows(text: str) -> list[str]:
    """Table rows that carry a number with a decimal point (headers and separators do not)."""
    return [line for line in FENCE.sub("", text).splitlines()
            if line.startswith("|") and re.search(r"\d\.\d", line)]


@pytest.mark.parametrize("page", STUDIES, ids=lambda p: p.parent.name)
def test_a_study_table_is_its_evidence_as_report_computes_it(page, tmp_path, monkeypatch):
    """Every numeric table row of a study page is a row of a summary that `wd-train report`
    regenerates, with the page's own command, from the results files committed beside it; a
    number with a decimal point in the page's prose occurs in one of those summaries. A page
    without such a command publishes no table."""
    monkeypatch.setattr("wd_train.experiments.plots.write_plots", lambda *a, **k: [])
    text = page.read_text(encoding="utf-8")
    summaries = []
    for i, args in enumerate(_report_commands(text)):
        if not _committed_inputs(args):
            continue
        summary = _regenerated_summary(args, tmp_path / str(i))
        summaries.append(summary)
        out = ROOT / args[args.index("-o") + 1] if "-o" in args else None
        if out is not None and (out / "summary.md").is_file():  # the committed one is current
            committed = (out / "summary.md").read_text(encoding="utf-8")
            tables = committed.split("## Charts")[0].rstrip()
            assert tables == summary.split("## Charts")[0].rstrip(), (
                f"{out / 'summary.md'} is stale: rerun `wd-train report {shlex.join(args)}`")
    evidence = "\n".join(summaries)
    rows = set(evidence.splitlines())
    missing = [row for row in _table_rows(text) if row not in rows]
    assert not missing, f"{page.relative_to(ROOT)}: rows not in the regenerated summary: {missing}"
    prose = re.sub(r"`[^`]*`", "", "\n".join(  # inline code is a command, not a result
        line for line in FENCE.sub("", text).splitlines() if not line.startswith("|")))
    unbacked = [n for n in re.findall(r"(?<![\w.])\d+\.\d+(?![\w.])", prose)
                if n not in evidence and f"{n}0" not in evidence]
    assert not unbacked, f"{page.relative_to(ROOT)}: numbers without evidence: {unbacked}"


def test_the_speed_page_padding_figures_are_the_committed_ones():
    """docs/speed.md's padding percentages are bench/padding.py's committed output, each one."""
    import json

    figures = json.loads((ROOT / "docs/speed/padding-conll2003.json").read_text())
    expected = {round(100 * figures[key], 1) for key in ("own_longest", "multiples_of_16")}
    rows = {row["count"]: row for row in figures["widths"]}
    text = (ROOT / "docs/speed.md").read_text(encoding="utf-8")
    start = text.index("- **Padding.**")
    table = re.findall(r"^\s*\| (\d+) \| ([\d.]+) % \| ([\d.]+) % \|$", text[start:], re.MULTILINE)
    assert table, "docs/speed.md: the padding table is gone"
    for count, batches, bound in table:
        row = rows[int(count)]
        assert (float(batches), float(bound)) == (round(100 * row["batches"], 1),
                                                  round(100 * row["bound"], 1)), count
    prose = re.sub(r"^\s*\|.*$", "", text[start:], flags=re.MULTILINE)
    quoted = {float(n) for n in re.findall(r"(\d+\.\d) %", prose)}
    assert quoted <= expected, f"docs/speed.md quotes {quoted - expected} without evidence"


def test_the_speed_page_tables_are_committed_bench_outputs():
    """Every row of docs/speed.md's measured speed tables is a row bench/speed.sh printed into a
    committed docs/speed/*.md (beside its JSON); every `ratio real/padded` quoted is in a
    committed bench/peer.sh JSON."""
    import json

    text = (ROOT / "docs/speed.md").read_text(encoding="utf-8")
    printed = set()
    for output in (ROOT / "docs/speed").glob("speed-*.md"):
        assert output.with_suffix(".json").is_file(), f"{output}: its JSON is not committed"
        printed |= set(output.read_text(encoding="utf-8").splitlines())
    rows = [line for line in text.splitlines()
            if line.startswith("| ") and " tok/s" not in line and "GFLOP/s" not in line
            and re.search(r"\| float32 \d+", line)]
    assert rows, "docs/speed.md: no measured speed table"
    assert [row for row in rows if row not in printed] == []
    ratios = set()
    for output in (ROOT / "docs/speed").glob("peer-*.json"):
        figures = json.loads(output.read_text())
        ratios.add((f"{figures['ratio_real']:.2f}", f"{figures['ratio_padded']:.2f}"))
    quoted = re.findall(r"ratio real: (\d\.\d\d)  ratio padded: (\d\.\d\d)", text)
    assert quoted and set(quoted) <= ratios
