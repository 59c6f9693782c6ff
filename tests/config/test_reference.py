import re
from pathlib import Path

from wd_train.config.reference import config_reference_markdown

ROOT = Path(__file__).resolve().parents[2]
README = ROOT / "README.md"
CONFIGURATION = ROOT / "docs" / "configuration.md"


def test_the_config_reference_matches_the_schema():
    text = CONFIGURATION.read_text(encoding="utf-8")
    start = text.index("<!-- config-reference:start -->\n") + len("<!-- config-reference:start -->\n")
    end = text.index("<!-- config-reference:end -->")
    assert text[start:end] == config_reference_markdown(), (
        "docs/configuration.md is stale: regenerate with "
        "`python -m wd_train.config.reference docs/configuration.md`")


def test_the_readme_first_commands_are_make_targets():
    """The README opens with the commands a newcomer types: each must exist in the Makefile."""
    text = README.read_text(encoding="utf-8")
    first_block = text[text.index("```sh"): text.index("```", text.index("```sh") + 5)]
    targets = re.findall(r"^make (\w[\w-]*)", first_block, flags=re.MULTILINE)
    makefile = (README.parent / "Makefile").read_text(encoding="utf-8")
    assert targets, first_block
    for target in targets:
        assert re.search(rf"^{target}:", makefile, flags=re.MULTILINE), target
