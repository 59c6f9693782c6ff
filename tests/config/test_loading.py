from pathlib import Path

import pytest
import yaml

from wd_train.config import load_config
from wd_train.config.loading import read_config
from wd_train.errors import WdTrainError

BASE = {
    "data": {"train": "train.conll", "dev": "dev.conll"},
    "model": {"random_init": {"layers": 1, "hidden": 32, "heads": 2}, "vocab": "vocab.txt"},
}


def write(tmp_path: Path, data: dict, name: str = "c.yaml") -> Path:
    path = tmp_path / name
    path.write_text(yaml.safe_dump(data), encoding="utf-8")
    return path


def error_of(path: Path, overrides=()) -> str:
    with pytest.raises(WdTrainError) as info:
        load_config(path, list(overrides))
    return str(info.value)


def test_defaults_and_relative_paths(tmp_path):
    sub = tmp_path / "configs"
    sub.mkdir()
    config, _ = load_config(write(sub, BASE))
    assert config.data.train == (sub / "train.conll").resolve()
    assert config.model.vocab == (sub / "vocab.txt").resolve()
    assert config.optimizer.schedule == "warmup_decay"
    assert config.optimizer.warmup_proportion == 0.1
    assert config.training.epochs == 3


def test_unknown_key_names_closest(tmp_path):
    data = {**BASE, "optimizer": {"learning_rat": 1e-4}}
    message = error_of(write(tmp_path, data))
    assert "optimizer.learning_rat: unknown key" in message
    assert "did you mean 'optimizer.learning_rate'" in message
    assert message.startswith(str(tmp_path / "c.yaml"))


def test_unknown_section(tmp_path):
    message = error_of(write(tmp_path, {**BASE, "trainig": {"epochs": 1}}))
    assert "trainig: unknown key; did you mean 'training'" in message


def test_out_of_range_and_wrong_type(tmp_path):
    message = error_of(write(tmp_path, {**BASE, "optimizer": {"learning_rate": -1e-5}}))
    assert "optimizer.learning_rate" in message and "greater than 0" in message
    assert "-1e-05" in message
    message = error_of(write(tmp_path, {**BASE, "training": {"epochs": "many"}}))
    assert "training.epochs" in message and "'many'" in message


def test_schedule_choice_and_backbone_rules(tmp_path):
    message = error_of(write(tmp_path, {**BASE, "optimizer": {"schedule": "cosine"}}))
    assert "optimizer.schedule" in message and "warmup_decay" in message
    both = {**BASE, "model": {**BASE["model"], "checkpoint": "x"}}
    assert "exactly one of model.checkpoint or model.random_init" in error_of(write(tmp_path, both))
    heads = {**BASE, "model": {"random_init": {"hidden": 30, "heads": 4}, "vocab": "v"}}
    assert "must divide hidden" in error_of(write(tmp_path, heads))
    padding = {**BASE, "data": {**BASE["data"], "length_buckets": 8, "pad_to_multiple_of": 16}}
    assert "set data.length_buckets or data.pad_to_multiple_of, not both" in error_of(
        write(tmp_path, padding))


def test_overrides_parse_yaml_and_resolve_against_cwd(tmp_path, monkeypatch):
    monkeypatch.chdir(tmp_path)
    path = write(tmp_path / "configs" if (tmp_path / "configs").mkdir() is None else tmp_path,
                 BASE)
    config, _ = load_config(path, [
        "optimizer.learning_rate=3e-5", "optimizer.schedule=constant",
        "training.patience=2", "data.test=mine/test.conll", "optimizer.clipnorm=null",
    ])
    assert config.optimizer.learning_rate == 3e-5
    assert config.optimizer.schedule == "constant"
    assert config.training.patience == 2
    assert config.optimizer.clipnorm is None
    assert config.data.test == (tmp_path / "mine" / "test.conll").resolve()


def test_override_errors(tmp_path):
    path = write(tmp_path, BASE)
    assert "expected section.key=value" in error_of(path, ["optimizer.learning_rate"])
    assert "optimizer.warmup: unknown key" in error_of(path, ["optimizer.warmup=0.1"])


def test_bad_yaml_and_missing_file(tmp_path):
    path = tmp_path / "bad.yaml"
    path.write_text("data:\n  train: [unclosed\n", encoding="utf-8")
    assert error_of(path).startswith(f"{path}:")
    assert "config file not found" in error_of(tmp_path / "nope.yaml")


def test_an_anchor_bomb_in_a_typed_key_is_refused_quickly_and_briefly(tmp_path):
    """Nine lines of YAML that expand to 10⁹ items: the error quotes the first few, at once."""
    import time

    lines = ['a: &a ["x", "x", "x", "x", "x", "x", "x", "x", "x", "x"]']
    for level in "bcdefghi":
        previous = chr(ord(level) - 1)
        lines.append(f"{level}: &{level} [{', '.join(['*' + previous] * 10)}]")
    lines += ["data: {train: t, dev: d}", "training: {epochs: *i}"]
    path = tmp_path / "bomb.yaml"
    path.write_text("\n".join(lines) + "\n")
    started = time.perf_counter()
    with pytest.raises(WdTrainError) as caught:
        load_config(path)
    assert time.perf_counter() - started < 10
    message = str(caught.value)
    assert "training.epochs" in message
    assert all(len(line) < 400 for line in message.splitlines())


@pytest.mark.parametrize(("key", "value", "message"), [
    ("training.jit_compile", 1, "expected true or false or auto (got 1)"),
    ("training.jit_compile", "sometimes", "expected true or false or auto (got 'sometimes')"),
    ("training.jit_compile", None, "expected true or false or auto (got None)"),
    ("model.lowercase", "yes", "expected true or false (got 'yes')"),
    ("training.fused_update", 1, "expected true or false or auto (got 1)"),
])
def test_booleans_are_strict(tmp_path, key, value, message):
    """`jit_compile: 1` once meant XLA on; `sometimes` gave two lines of pydantic internals."""
    section, name = key.split(".")
    raw = {"data": {"train": "t", "dev": "d"}, "model": {"random_init": {}, "vocab": "v"}}
    raw.setdefault(section, {})[name] = value
    path = tmp_path / "c.yaml"
    path.write_text(yaml.safe_dump(raw))
    with pytest.raises(WdTrainError) as caught:
        load_config(path)
    assert str(caught.value) == f"{path}: {key}: {message}"


def test_exponent_without_a_dot_is_a_float_in_files_and_overrides(tmp_path):
    from wd_train.config.loading import parse_override

    path = tmp_path / "c.yaml"
    path.write_text(yaml.safe_dump(BASE) + "optimizer: {learning_rate: 3e-5, min_lr: 1E-7}\n",
                    encoding="utf-8")
    raw = read_config(path)
    assert raw["optimizer"] == {"learning_rate": 3e-5, "min_lr": 1e-7}
    assert parse_override("optimizer.learning_rate=2e-5") == (["optimizer", "learning_rate"],
                                                               2e-5)
    assert parse_override("output.dir=1e5x")[1] == "1e5x"  # not a number: stays text
