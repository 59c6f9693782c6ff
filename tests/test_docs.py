from pathlib import Path

from wd_train.docs import config_reference_markdown

README = Path(__file__).resolve().parents[1] / "README.md"


def test_readme_config_reference_matches_the_schema():
    text = README.read_text(encoding="utf-8")
    start = text.index("<!-- config-reference:start -->\n") + len("<!-- config-reference:start -->\n")
    end = text.index("<!-- config-reference:end -->")
    assert text[start:end] == config_reference_markdown(), (
        "README config reference is stale: regenerate with `python -m wd_train.docs`")


def test_readme_starts_with_the_two_commands():
    text = README.read_text(encoding="utf-8")
    first_block = text[text.index("```sh"): text.index("```", text.index("```sh") + 5)]
    assert "make train" in first_block and "make test" in first_block
