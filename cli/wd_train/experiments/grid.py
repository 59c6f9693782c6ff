"""Grid points of a comparison (`compare.grid`): the cartesian product of the grid's values,
each with a stable, readable name that is also its folder, `learning_rate=0.0003` (two keys, in
sorted order: `learning_rate=0.0003/warmup_proportion=0.1`). A cell of a grid comparison is
`<variant>/<point>/seed-<N>`; its summary group is `<variant>/<point>`.
"""

from __future__ import annotations

import itertools
import re
from typing import Any

from ..errors import WdTrainError

GridPoint = dict[str, Any]  # dotted key → value


def is_number(value: Any) -> bool:
    """An int or float grid value (a bool is neither here)."""
    return isinstance(value, (int, float)) and not isinstance(value, bool)


def format_value(value: Any) -> str:
    """A value as it appears in names: `0.0003`, `2e-5`, `true`, `warmup_decay`; a float keeps
    every digit it needs to be read back as itself."""
    if isinstance(value, bool):
        return str(value).lower()
    if isinstance(value, float):
        text = f"{value:g}"
        if float(text) != value:
            text = repr(value)
        return re.sub(r"e([+-])0*(\d)", lambda m: f"e{m.group(1).replace('+', '')}{m.group(2)}",
                      text)
    return str(value)


def short_names(keys: list[str]) -> dict[str, str]:
    """Each dotted key by its last part (`learning_rate`), unless two keys share it."""
    short = {key: key.split(".")[-1] for key in keys}
    if len(set(short.values())) < len(short):
        return {key: key for key in keys}
    return short


def points(grid: dict[str, list[Any]]) -> list[GridPoint]:
    """Every combination of the grid's values, the first key varying slowest; [{}] for none."""
    keys = list(grid)
    return [dict(zip(keys, values)) for values in itertools.product(*grid.values())]


def point_name(point: GridPoint) -> str:
    """`learning_rate=0.0003`; several keys joined by "/" in sorted order (a point read back
    from a results line names itself as the cell's folder did)."""
    keys = sorted(point)
    short = short_names(keys)
    return "/".join(f"{short[key]}={format_value(point[key])}" for key in keys)


def check_point_names(grid: dict[str, list[Any]]) -> None:
    """Every value must make a usable folder name, and distinct values distinct names."""
    for key, values in grid.items():
        names = [format_value(v) for v in values]
        for value, name in zip(values, names):
            if not re.fullmatch(r"[A-Za-z0-9_.+-]+", name):
                raise WdTrainError(f"compare.grid.{key}: {value!r} is not usable in a folder "
                                   "name (letters, digits, _ . + -)")
        if len(set(names)) != len(names):
            raise WdTrainError(f"compare.grid.{key}: two values have the same name ({names})")


def group_name(variant: str | None, point: GridPoint) -> str:
    """A grid cell's summary group: `warmup_decay/learning_rate=0.0003`."""
    name = point_name(point)
    return f"{variant}/{name}" if variant and name else (variant or name)
