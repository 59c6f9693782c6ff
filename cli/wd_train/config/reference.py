"""The config reference (docs/configuration.md), generated from the schema so the two cannot
drift apart.

`python -m wd_train.config.reference` prints the Markdown table; with a file as argument
(`docs/configuration.md`) it writes it between that file's markers. A test checks that
docs/configuration.md contains it.
"""

from __future__ import annotations

import types
import typing

from pydantic import BaseModel

from .schema import Config


def _type_name(annotation) -> str:
    origin = typing.get_origin(annotation)
    if origin is typing.Literal:
        return " \\| ".join(f"`{a}`" for a in typing.get_args(annotation))
    if origin in (typing.Union, types.UnionType):
        return " or ".join(_type_name(a) for a in typing.get_args(annotation))
    if origin in (list, dict):
        return str(annotation).replace("typing.", "").replace("pathlib.", "")
    if annotation is type(None):
        return "null"
    return getattr(annotation, "__name__", str(annotation))


def _default(field) -> str:
    if field.is_required():
        return "required"
    value = field.get_default(call_default_factory=True)
    if isinstance(value, BaseModel):
        return "(section)"
    return f"`{value}`" if value is not None else "`null`"


def _rows(model: type[BaseModel], prefix: str):
    for name, field in model.model_fields.items():
        annotation = field.annotation
        nested = [a for a in (annotation, *typing.get_args(annotation))
                  if isinstance(a, type) and issubclass(a, BaseModel)]
        key = f"{prefix}{name}"
        if nested:
            if field.description:
                yield f"| `{key}` | section | {_default(field)} | {field.description} |"
            yield from _rows(nested[0], key + ".")
        else:
            description = (field.description or "").replace("|", "\\|")
            yield f"| `{key}` | {_type_name(annotation)} | {_default(field)} | {description} |"


def config_reference_markdown() -> str:
    lines = ["| key | type | default | meaning |", "|---|---|---|---|"]
    lines.extend(_rows(Config, ""))
    return "\n".join(lines) + "\n"


START, END = "<!-- config-reference:start -->\n", "<!-- config-reference:end -->"


def write_into(path: str) -> None:
    with open(path, encoding="utf-8") as handle:
        text = handle.read()
    head, rest = text.split(START, 1)
    _, tail = rest.split(END, 1)
    with open(path, "w", encoding="utf-8") as handle:
        handle.write(head + START + config_reference_markdown() + END + tail)


if __name__ == "__main__":
    import sys

    if len(sys.argv) > 1:
        write_into(sys.argv[1])
    else:
        print(config_reference_markdown(), end="")
