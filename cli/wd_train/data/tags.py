"""Tag schemes: validation and IOB1 → IOB2 conversion.

Scoring uses the tag strings themselves: seqeval's default (conlleval-compatible) chunker reads
B/I/E/S prefixes, so IOB2 and BIOES files are scored as written.
"""

from __future__ import annotations

SCHEME_PREFIXES = {
    "iob2": ("B", "I"),
    "iob1": ("B", "I"),
    "bioes": ("B", "I", "E", "S"),
}


def learned_scheme(scheme: str) -> str:
    """The scheme of the tags a model learns from data in `scheme` (iob1 is read as iob2)."""
    return "iob2" if scheme == "iob1" else scheme


def tag_problem(tag: str, scheme: str) -> str | None:
    """Why `tag` is not a valid tag of `scheme`, or None when it is."""
    if tag == "O":
        return None
    prefix, sep, entity_type = tag.partition("-")
    allowed = SCHEME_PREFIXES[scheme]
    if not sep or not entity_type or prefix not in allowed:
        forms = ", ".join(f"{p}-TYPE" for p in allowed)
        return f"tag {tag!r} is not valid in {scheme.upper()} (expected O, {forms})"
    return None


def iob1_to_iob2(tags: list[str]) -> list[str]:
    """IOB1 starts a chunk with I- unless it follows a chunk of the same type; IOB2 always uses B-."""
    converted = []
    previous = "O"
    for tag in tags:
        if tag.startswith("I-"):
            entity_type = tag[2:]
            if previous == "O" or previous[2:] != entity_type:
                tag = "B-" + entity_type
        converted.append(tag)
        previous = tag
    return converted



def repair_iob2(tags: list[str]) -> tuple[list[str], list[int]]:
    """IOB2 with every I-X that cannot continue an entity (after O, the sentence start or
    another type) read as B-X, as conlleval does; and the positions repaired."""
    repaired, positions = [], []
    previous = "O"
    for index, tag in enumerate(tags):
        if tag.startswith("I-") and previous[2:] != tag[2:]:
            tag = "B-" + tag[2:]
            positions.append(index)
        repaired.append(tag)
        previous = tag
    return repaired, positions
