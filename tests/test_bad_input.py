"""Bad input and faults, as a new user meets them: every case is a real file or config written
here, run through the command line. Each must give its documented exit code and exactly one
line on stderr that names the place (file:line, config key or path), no traceback, no
metrics.json, and no temporary file left behind.

Exit codes: 2 bad input or a file-system fault, 3 training diverged (1 is a failed gate only).
Every case runs under a deadline (a hang is a failure) and may change nothing in the test's
folder but its own output (`env.out`): no file deleted, changed or added elsewhere.
"""

from __future__ import annotations

import contextlib
import fcntl
import hashlib
import json
import os
import shutil
import signal
import stat
import subprocess
import sys
from collections.abc import Callable
from dataclasses import dataclass
from pathlib import Path

import pytest
import yaml


@dataclass
class Case:
    id: str
    make: Callable  # (env) -> argv after `wd-train`
    message: str  # text the one stderr line must contain ({tmp} is the test's folder)
    exit_code: int = 2


class Env:
    """What a case builds on: this test's folder, the tiny data set and config writers."""

    def __init__(self, tmp: Path, dataset: dict[str, Path], config_dict, write_config, hf_bert):
        self.tmp, self.dataset = tmp, dataset
        self._config_dict, self._write_config, self.hf_bert = config_dict, write_config, hf_bert
        self.out = tmp / "out"

    def config(self, **sections) -> dict:
        return self._config_dict(self.dataset, self.out, **sections)

    def train(self, config: dict | None = None, *extra: str, name: str = "c.yaml") -> list:
        path = self._write_config(self.tmp / name, config or self.config())
        return ["train", path, "--quiet", *extra]

    def text(self, name: str, content: str | bytes) -> Path:
        path = self.tmp / name
        path.parent.mkdir(parents=True, exist_ok=True)
        if isinstance(content, bytes):
            path.write_bytes(content)
        else:
            path.write_text(content, encoding="utf-8")
        return path

    def with_data(self, **files: Path) -> list:
        config = self.config()
        config["data"].update({k: str(v) for k, v in files.items()})
        return self.train(config)

    def with_model(self, model: dict) -> list:
        config = self.config()
        config["model"] = model
        return self.train(config)

    def google_folder(self) -> Path:
        """A tiny Google-format BERT folder (imported from a tiny HF BERT) to damage."""
        from wd_train.model.hf_import import import_hf

        folder = self.tmp / "google"
        import_hf(self.hf_bert.write(self.tmp / "hf"), folder)
        return folder


def _raw_config(env: Env, text: str) -> list:
    return ["train", env.text("raw.yaml", text), "--quiet"]


def _dup_section(env: Env) -> list:
    config = env.config()
    text = yaml.safe_dump(config, sort_keys=False) + "training:\n  epochs: 1\n"
    return _raw_config(env, text)


def _truncated_weights(env: Env) -> list:
    folder = env.google_folder()
    data = next(folder.glob("bert_model.ckpt.data-*"))
    data.write_bytes(data.read_bytes()[: data.stat().st_size // 3])
    return env.with_model({"checkpoint": str(folder)})


def _damaged_google(name: str, content: str) -> Callable:
    def make(env: Env) -> list:
        folder = env.google_folder()
        (folder / name).write_text(content, encoding="utf-8")
        return env.with_model({"checkpoint": str(folder)})
    return make


def _google_without_key(env: Env) -> list:
    folder = env.google_folder()
    config = json.loads((folder / "bert_config.json").read_text())
    del config["hidden_size"]
    (folder / "bert_config.json").write_text(json.dumps(config))
    return env.with_model({"checkpoint": str(folder)})


def _short_positions(env: Env) -> list:
    config = env.config()
    config["model"] = {"checkpoint": str(env.google_folder())}  # 40 position embeddings
    config["data"]["max_seq_len"] = 64
    return env.train(config)


def _finished(env: Env, finished_run) -> Path:
    return Path(shutil.copytree(finished_run[1], env.tmp / "finished"))


CONLL_OK = "EU B-ORG\nrejects O\nGerman B-MISC\ncall O\n\nPeter B-PER\nBlackburn I-PER\n"

CASES = [
    # --- config ---------------------------------------------------------------------------
    Case("unknown-key", lambda e: e.train(e.config(optimizer={"learning_rat": 1e-4})),
         "c.yaml: optimizer.learning_rat: unknown key; did you mean 'optimizer.learning_rate'"),
    Case("lr-inf", lambda e: e.train(None, "--set", "optimizer.learning_rate=.inf"),
         "optimizer.learning_rate: Input should be a finite number"),
    Case("lr-nan", lambda e: e.train(e.config(optimizer={"learning_rate": float("nan")})),
         "optimizer.learning_rate: Input should be a finite number"),
    Case("epochs-yes", lambda e: _raw_config(e, yaml.safe_dump(e.config()).replace(
        "epochs: 2", "epochs: yes")), "training.epochs: expected a number, not the boolean true"),
    Case("limit-true", lambda e: e.train(None, "--set", "data.limit=true"),
         "data.limit: expected a number, not the boolean true"),
    Case("section-twice", _dup_section, "invalid YAML: key 'training' is written twice (lines"),
    Case("min-lr-above-lr", lambda e: e.train(e.config(optimizer={"min_lr": 0.1})),
         "optimizer: min_lr (0.1) is above learning_rate (0.005)"),
    Case("warmup-past-the-end", lambda e: e.train(e.config(optimizer={"warmup_steps": 10_000})),
         "optimizer.warmup_steps: 10000 is more than the run's"),
    Case("window-past-positions", lambda e: e.train(None, "--set", "data.max_seq_len=128"),
         "data.max_seq_len (128) is more than model.random_init.max_position (64)"),
    Case("window-past-checkpoint-positions", _short_positions,
         "data.max_seq_len (64) is more than the model's position embeddings"),
    Case("set-bad-yaml", lambda e: e.train(None, "--set", "training.epochs=[1"),
         "--set 'training.epochs=[1': value is not valid YAML (expected ',' or ']'"),
    Case("set-no-equals", lambda e: e.train(None, "--set", "training.epochs"),
         "--set 'training.epochs': expected section.key=value"),
    Case("gate-unknown-type", lambda e: e.train(None, "--set", "gate.metric=test.per_type.FOO.f1",
                                                "--min-f1", "0.5"),
         "gate.metric: test.per_type.FOO.f1: no entity type 'FOO' in data.train (types: LOC, "),
    Case("min-f1-above-1", lambda e: e.train(None, "--min-f1", "1.5"),
         "--min-f1 1.5: expected an F1 between 0 and 1"),
    Case("config-missing", lambda e: ["train", e.tmp / "nope.yaml"], "nope.yaml: config file not found"),
    Case("config-not-a-mapping", lambda e: _raw_config(e, "- data\n- model\n"),
         "raw.yaml: expected a mapping of sections at the top level"),
    Case("seeds-yes-no", lambda e: e.train(e.config(compare={"variants": {"a": {}},
                                                            "seeds": [True, False]})),
         "compare.seeds: expected numbers, not booleans"),
    Case("a-list-as-a-key", lambda e: _raw_config(e, "data: {[a, b]: 1}\n"),
         "raw.yaml:1: invalid YAML: a key must be a name, not list"),
    Case("import-hf-under-a-file", lambda e: ["import-hf", e.hf_bert.write(e.tmp / "hf"),
                                              e.text("f", "") / "out", "--no-check"],
         "cannot write (File exists)"),
    Case("resume-and-overwrite", lambda e: e.train(None, "--resume", "--overwrite"),
         "--resume and --overwrite: choose one"),
    # --- data files -----------------------------------------------------------------------
    Case("train-missing", lambda e: e.with_data(train=e.tmp / "missing.conll"),
         "missing.conll: data file not found"),
    Case("one-column-line", lambda e: e.with_data(train=e.text("t.conll", "EU B-ORG\nrejects\n")),
         "t.conll:2: expected at least 2 columns (token and tag), got 1"),
    Case("column-count-changes", lambda e: e.with_data(
        train=e.text("t.conll", "EU B-ORG\nNew York B-LOC\n")),
        "t.conll:2: 3 columns, but line 1 has 2"),
    Case("bad-tag", lambda e: e.with_data(train=e.text("t.conll", "EU X-ORG\n")),
         "t.conll:1: tag 'X-ORG' is not valid in IOB2"),
    Case("invalid-iob2-refused", lambda e: e.train(
        None, "--set", f"data.train={e.text('t.conll', 'EU O' + chr(10) + 'Union I-ORG' + chr(10))}",
        "--set", "data.on_invalid_tags=error"),
        "t.conll:2: I-ORG does not continue an entity (after O)"),
    Case("dev-tag-unseen", lambda e: e.with_data(dev=e.text("d.conll", "Paris B-GPE\n")),
         "d.conll:1: tag 'B-GPE' does not occur in the training data"),
    Case("not-utf8", lambda e: e.with_data(train=e.text("t.conll", b"EU B-ORG\ncaf\xe9 O\n")),
         "t.conll:2: not valid utf-8 (byte 0xe9)"),
    Case("unknown-encoding", lambda e: e.train(None, "--set", "data.encoding=klingon"),
         "data.encoding: unknown encoding 'klingon'"),
    Case("empty-train", lambda e: e.with_data(train=e.text("t.conll", "\n\n")),
         "t.conll: no sentences found"),
    Case("chars-format-word", lambda e: e.train(None, "--set", "data.format=chars"),
         "data.format is chars but the token"),
    Case("label-column-out-of-range", lambda e: e.train(None, "--set", "data.label_column=5"),
         "data.label_column is 5 but the line has 2 columns"),
    Case("vocab-missing", lambda e: e.train(e.config(model={"vocab": str(e.tmp / "v.txt")})),
         "v.txt: vocab file not found"),
    Case("vocab-without-pad", lambda e: e.train(e.config(model={"vocab": str(e.text(
        "v.txt", "[UNK]\n[CLS]\n[SEP]\n[PAD]\n"))})), "v.txt:1: expected [PAD] as token 0"),
    # --- the pretrained folder ------------------------------------------------------------
    Case("checkpoint-not-a-folder", lambda e: e.with_model({"checkpoint": str(e.tmp / "nope")}),
         "model.checkpoint: "),
    Case("checkpoint-incomplete", lambda e: e.with_model({"checkpoint": str(
        e.text("ckpt/vocab.txt", "[PAD]\n").parent)}),
        "lacks bert_config.json, bert_model.ckpt.index"),
    Case("bert-config-corrupt", _damaged_google("bert_config.json", "{ not json"),
         "bert_config.json: cannot read"),
    Case("bert-config-incomplete", _google_without_key,
         "bert_config.json: hidden_size must be a positive integer (missing)"),
    Case("import-meta-corrupt", _damaged_google("wd_train.json", "[1, 2"),
         "wd_train.json: cannot read"),
    Case("checkpoint-data-truncated", _truncated_weights, "bert_model.ckpt"),
    # --- the run directory and results file -----------------------------------------------
    Case("output-parent-is-a-file", lambda e: e.train(None, "-o", e.text("f", "") / "run"),
         "output.dir: {tmp}/f/run: cannot create (Not a directory)"),
    Case("output-is-a-file", lambda e: e.train(None, "-o", e.text("f", "")),
         "output.dir: {tmp}/f exists and is not a directory"),
    Case("results-is-a-folder", lambda e: e.train(None, "--results", e.tmp),
         "--results {tmp}: cannot append (Is a directory)"),
    # --- training itself ------------------------------------------------------------------
    Case("diverges", lambda e: e.train(None, "--set", "optimizer.learning_rate=1000"),
         "training diverged at epoch 1, step", exit_code=3),
    Case("diverges-below-max-loss", lambda e: e.train(
        None, "--set", "optimizer.learning_rate=0.005", "--set", "training.max_loss=0.01"),
        "(training.max_loss 0.01); no metrics.json was written", exit_code=3),
    # --- report ---------------------------------------------------------------------------
    Case("report-missing", lambda e: ["report", e.tmp / "none.jsonl"],
         "none.jsonl: no such results file or run directory"),
    Case("report-bad-line", lambda e: ["report", e.text("r.jsonl", '{"seed": 1}\n')],
         "r.jsonl:1: not a wd-train results line"),
    Case("report-rename-malformed", lambda e: ["report", e.tmp / "none.jsonl", "--rename", "wd"],
         "--rename wd: expected OLD=NEW, e.g. warmup_decay=softmax"),
    Case("check-data-refuses", lambda e: ["check-data", e.train(None, name="k.yaml")[1],
                                          "--set", f"data.dev={e.text('d.conll', 'X B-GPE')}"],
         "d.conll: tags not in the training data: B-GPE"),
    # --- report on damaged results lines: refused at file:line, never summarised -----------
    Case("report-f1-nan", lambda e: ["report", _results(e, "NaN")],
         "r.jsonl:2: not a JSON line (NaN is not a number JSON allows)"),
    Case("report-f1-infinity", lambda e: ["report", _results(e, "Infinity")],
         "r.jsonl:2: not a JSON line (Infinity is not a number JSON allows)"),
    Case("report-f1-overflows", lambda e: ["report", _results(e, "1e999")],
         "r.jsonl:2: not a JSON line (1e999 is out of a float's range)"),
    Case("report-f1-negative", lambda e: ["report", _results(e, "-5")],
         "r.jsonl:2: not a wd-train results line (dev.f1: input should be greater than or"),
    Case("report-f1-above-one", lambda e: ["report", _results(e, "1.5")],
         "r.jsonl:2: not a wd-train results line (dev.f1: input should be less than or"),
    Case("report-per-type-f1-nan", lambda e: ["report", _results(e, "0.5", per_type="NaN")],
         "r.jsonl:2: not a JSON line (NaN is not a number JSON allows)"),
    Case("report-per-type-f1-out-of-range", lambda e: [
        "report", _results(e, "0.5", per_type="7")],
        "r.jsonl:2: not a wd-train results line (dev.per_type.PER.f1: input should be less"),
    Case("report-time-infinite", lambda e: ["report", _results(e, "0.5", seconds="-Infinity")],
         "r.jsonl:2: not a JSON line (-Infinity is not a number JSON allows)"),
    # --- import-hf: a vocab training would refuse ------------------------------------------
    Case("import-hf-vocab-without-cls", lambda e: _import_hf_vocab(e, drop="[CLS]"),
         "hf/vocab.txt: vocab lacks the special tokens [CLS]"),
    Case("import-hf-vocab-without-sep-unk", lambda e: _import_hf_vocab(e, drop="[SEP]", also="[UNK]"),
         "hf/vocab.txt: vocab lacks the special tokens [SEP], [UNK]"),
    # --- usage errors: one line, exit 2, not a boxed usage text --------------------------------
    Case("unknown-option", lambda e: ["report", e.tmp / "none.jsonl", "--bogus"],
         "report: No such option: --bogus (see 'wd-train report --help')"),
    Case("unknown-top-level-option", lambda e: ["--bogus"], "No such option: --bogus"),
    Case("missing-argument", lambda e: ["export", e.tmp], "export: Missing argument 'OUT_DIR'"),
    Case("not-a-number", lambda e: ["predict", e.tmp, "--text", "x", "--batch-size", "many"],
         "predict: Invalid value for '--batch-size'"),
    Case("config-is-a-folder", lambda e: ["train", e.tmp], "{tmp}: cannot read config"),
]


def _results(env: Env, f1: str, per_type: str = "0.5", seconds: str = "1.0") -> Path:
    """A results file whose second line carries `f1` (and a per-type F1, a time) as written."""
    good = {"variant": "a", "seed": 1, "run_dir": str(env.tmp / "r1"),
            "dev": {"precision": 0.5, "recall": 0.5, "f1": 0.5, "per_type": {}}}
    bad = (f'{{"variant": "a", "seed": 2, "run_dir": "{env.tmp}/r2", "train_seconds": {seconds}, '
           f'"dev": {{"precision": 0.5, "recall": 0.5, "f1": {f1}, "per_type": {{"PER": '
           f'{{"precision": 0.5, "recall": 0.5, "f1": {per_type}, "support": 3}}}}}}}}')
    return env.text("r.jsonl", json.dumps(good) + "\n" + bad + "\n")


def _import_hf_vocab(env: Env, drop: str, also: str | None = None) -> list:
    vocab = [t for t in env.hf_bert.vocab() if t not in (drop, also)]
    vocab += [f"[extra{i}]" for i in range(100 - len(vocab))]  # as many tokens as before
    src = env.hf_bert.write(env.tmp / "hf", vocab=vocab)
    return ["import-hf", src, env.out, "--no-check"]


@pytest.fixture
def env(tmp_path, tiny_dataset, tiny_config_dict, write_config, hf_bert) -> Env:
    return Env(tmp_path, tiny_dataset, tiny_config_dict, write_config, hf_bert)


def _temporary_files(folder: Path) -> list[str]:
    return [str(p) for p in folder.rglob("*")
            if p.name.endswith((".tmp", "_temp")) or ".tmp-" in p.name]


def check_one_line(result, case: Case, env: Env, metrics_before: dict | None = None) -> None:
    """One stderr line with the case's message and exit code, no traceback, no temporary file
    left, and no metrics.json written or changed (`metrics_before`: those there before)."""
    stderr = result.stderr
    assert "Traceback" not in stderr + result.stdout, stderr
    lines = stderr.strip().splitlines()
    assert len(lines) == 1, stderr
    assert case.message.format(tmp=env.tmp) in lines[0], lines[0]
    assert result.exit_code == case.exit_code, (result.exit_code, lines[0])
    assert _metrics_files(env.tmp) == (metrics_before or {})
    assert _temporary_files(env.tmp) == []


def _metrics_files(folder: Path) -> dict[str, bytes]:
    return {str(p): p.read_bytes() for p in folder.rglob("metrics.json")}


DEADLINE = 240  # seconds for one case (the slowest trains a tiny model): beyond it, a hang


class Hang(BaseException):
    """Raised by the deadline's alarm; a BaseException, so no `except Exception` swallows it."""


@contextlib.contextmanager
def deadline(seconds: float):
    def alarm(signum, frame):
        raise Hang(f"still running after {seconds} s: a hang")

    previous = signal.signal(signal.SIGALRM, alarm)
    signal.setitimer(signal.ITIMER_REAL, seconds)
    try:
        yield
    finally:
        signal.setitimer(signal.ITIMER_REAL, 0)
        signal.signal(signal.SIGALRM, previous)


def _state(folder: Path) -> dict[str, tuple]:
    """Every entry below `folder`: its kind, and a regular file's content hash."""
    state = {}
    for path in folder.rglob("*"):
        mode = path.lstat().st_mode
        digest = (hashlib.sha256(path.read_bytes()).hexdigest()
                  if stat.S_ISREG(mode) else os.readlink(path) if stat.S_ISLNK(mode) else "")
        state[str(path)] = (stat.S_IFMT(mode), digest)
    return state


def run_bounded(wd_invoke, env: Env, argv: list, seconds: float = DEADLINE):
    """Run one case under a deadline, from the test's folder, and check that nothing outside
    `env.out` was deleted, changed or added."""
    before = _state(env.tmp)
    with deadline(seconds):
        result = wd_invoke(*argv)
    after = _state(env.tmp)

    def outside(state: dict) -> dict:
        return {p: v for p, v in state.items()
                if p != str(env.out) and not p.startswith(f"{env.out}/")}

    assert outside(after) == outside(before), (
        sorted(set(outside(before).items()) ^ set(outside(after).items()))[:5])
    return result


@pytest.fixture
def in_tmp(env, monkeypatch):
    monkeypatch.chdir(env.tmp)  # a relative path a case writes lands in its folder
    return env


@pytest.mark.parametrize("case", CASES, ids=lambda c: c.id)
def test_bad_input_is_one_line_and_its_exit_code(case, in_tmp, wd_invoke):
    env = in_tmp
    check_one_line(run_bounded(wd_invoke, env, case.make(env)), case, env)


PREDICT_CASES = [
    Case("predict-unseen-tag", lambda e, run: ["predict", run, e.text("p.conll", "Paris B-GPE\n")],
         "p.conll:1: tag 'B-GPE' does not occur in the training data"),
    Case("predict-not-a-run", lambda e, run: ["predict", e.tmp, e.text("p.conll", CONLL_OK)],
         "no model.json (not a finished wd-train run)"),
    Case("predict-model-json-damaged", lambda e, run: [
        "predict", _with(run / "model.json", "{"), e.text("p.conll", CONLL_OK)],
        "model.json: cannot read"),
    Case("predict-output-is-input", lambda e, run: [
        "predict", run, e.text("p.conll", CONLL_OK), "-o", e.tmp / "p.conll"],
        "is the input file"),
    Case("finished-needs-overwrite", lambda e, run: [
        "train", run / "config.yaml", "--quiet", "-o", run],
        "already holds a finished run; pass --overwrite"),
    Case("predict-weights-outside-the-run", lambda e, run: [
        "predict", _model_json(run, weights="../../elsewhere/w.h5"), "--text", "x"],
        "model.json: weights '../../elsewhere/w.h5' is not a file of the run directory"),
    Case("export-weights-absolute", lambda e, run: [
        "export", _model_json(run, weights="/etc/passwd"), e.out],
        "model.json: weights '/etc/passwd' is not a file of the run directory"),
    Case("predict-unfinished-refused", lambda e, run: [
        "predict", _unfinished(run), "--text", "x"],
        "no metrics.json (unfinished or interrupted): not a finished run (--allow-unfinished"),
    Case("export-unfinished-refused", lambda e, run: ["export", _unfinished(run), e.out],
         "no metrics.json (unfinished or interrupted): not a finished run (--allow-unfinished"),
    Case("predict-unfinished-without-weights", lambda e, run: [
        "predict", _unfinished(run, snapshots=False), "--text", "x", "--allow-unfinished"],
        "an unfinished run without weights yet (no weights.h5, no epoch snapshot in checkpoint/)"),
    Case("export-unfinished-without-weights", lambda e, run: [
        "export", _unfinished(run, snapshots=False), e.out, "--allow-unfinished"],
        "an unfinished run without weights yet"),
    Case("predict-unfinished-state-names-a-path", lambda e, run: [
        "predict", _unfinished(run, last="../../../etc/passwd"), "--text", "x",
        "--allow-unfinished"],
        "state.json: last '../../../etc/passwd' is not an epoch snapshot of the run directory"),
    Case("predict-diverged-even-allowed", lambda e, run: [
        "predict", _diverged(run), "--text", "x", "--allow-unfinished"],
        "no metrics.json (it diverged): a diverged run is not a tagger to use"),
    Case("export-diverged-even-allowed", lambda e, run: [
        "export", _diverged(run), e.out, "--allow-unfinished"],
        "no metrics.json (it diverged)"),
]


def _model_json(run: Path, **changes) -> Path:
    path = run / "model.json"
    path.write_text(json.dumps({**json.loads(path.read_text()), **changes}))
    return run


def _unfinished(run: Path, snapshots: bool = True, last: str | None = None) -> Path:
    """The finished run as if killed during training: no metrics.json, no weights.h5 (written
    when training ends); its epoch snapshots kept or not; state.json's `last` changed."""
    (run / "metrics.json").unlink()
    (run / "weights.h5").unlink()
    if not snapshots:
        shutil.rmtree(run / "checkpoint")
    if last is not None:
        state = json.loads((run / "checkpoint" / "state.json").read_text())
        (run / "checkpoint" / "state.json").write_text(json.dumps({**state, "last": last}))
    return run


def _diverged(run: Path) -> Path:
    (run / "metrics.json").unlink()
    (run / "diverged.json").write_text("{}")
    return run


def _with(path: Path, content: str) -> Path:
    path.write_text(content)
    return path.parent


@pytest.mark.parametrize("case", PREDICT_CASES, ids=lambda c: c.id)
def test_bad_input_around_a_finished_run(case, in_tmp, finished_run, wd_invoke):
    env = in_tmp
    run = _finished(env, finished_run)
    argv = case.make(env, run)
    before = _metrics_files(env.tmp)  # the finished run's own, unchanged by every case
    check_one_line(run_bounded(wd_invoke, env, argv), case, env, before)


def test_a_second_run_into_a_locked_run_directory_is_refused(env, wd_invoke):
    env.out.mkdir()
    with open(env.out / ".wd-train.lock", "w") as lock:
        fcntl.flock(lock, fcntl.LOCK_EX)
        lock.write("4242")
        lock.flush()
        result = wd_invoke(*env.train())
    check_one_line(result, Case("locked", None, f"output.dir: {env.out} is in use by another "
                                "wd-train run (pid 4242)"), env)
    assert not (env.out / "config.yaml").exists()  # the other run's files are left alone


def test_the_lock_of_a_killed_run_is_not_stale(env, wd_process):
    """flock dies with its process: a run killed mid-way leaves no lock that blocks the next."""
    argv = [str(a) for a in env.train()]
    code = ("import os, sys, fcntl; fd = os.open(sys.argv[1], os.O_RDWR | os.O_CREAT); "
            "fcntl.flock(fd, fcntl.LOCK_EX); os.kill(os.getpid(), 9)")
    env.out.mkdir()
    subprocess.run([sys.executable, "-c", code, str(env.out / ".wd-train.lock")], check=False)
    result = wd_process(*argv[:2], "--quiet", "--set", "training.epochs=1")
    assert result.returncode == 0, result.stderr
    assert (env.out / "metrics.json").exists()


def _drop_root_overrides() -> list[str]:
    """Run as root without the capabilities that ignore file permissions."""
    if os.geteuid() != 0:
        return []
    if shutil.which("setpriv") is None:
        pytest.skip("root without setpriv: file permissions cannot be tested")
    return ["setpriv", "--bounding-set", "-dac_override,-dac_read_search"]


def test_an_unwritable_output_directory(env):
    config = env.train()[1]
    parent = env.tmp / "readonly"
    parent.mkdir()
    parent.chmod(0o555)
    try:
        result = subprocess.run(
            [*_drop_root_overrides(), sys.executable, "-m", "wd_train.cli", str(config), "-q",
             "-o", str(parent / "run")], capture_output=True, text=True, check=False, timeout=300)
    finally:
        parent.chmod(0o755)
    assert result.returncode == 2, result.stderr
    assert result.stderr.strip().splitlines() == [
        f"wd-train: error: output.dir: {parent}/run: cannot create (Permission denied)"]


def test_a_full_disk_while_checkpointing_leaves_a_resumable_state(env, wd_invoke):
    """A tmpfs too small for the epoch snapshot: one line, the half-written snapshot removed."""
    mount = env.tmp / "small"
    mount.mkdir()
    mounted = subprocess.run(["mount", "-t", "tmpfs", "-o", "size=1m", "tmpfs", str(mount)],
                             capture_output=True, check=False)
    if mounted.returncode != 0:
        pytest.skip("cannot mount a tmpfs here")
    try:
        free = shutil.disk_usage(mount).free
        (mount / "filler").write_bytes(b"\0" * (free - 48 * 1024))
        result = wd_invoke(*env.train(None, "-o", mount / "run"))
        assert result.exit_code == 2, result.stderr
        lines = result.stderr.strip().splitlines()
        assert len(lines) == 1 and "Traceback" not in result.stderr, result.stderr
        assert f"{mount}/run" in lines[0] and "No space left on device" in lines[0], lines[0]
        assert not (mount / "run" / "metrics.json").exists()
        assert _temporary_files(mount) == []
    finally:
        subprocess.run(["umount", str(mount)], check=False)


def test_tensorflow_start_up_noise_is_quiet_and_can_come_back(env, wd_process):
    argv = env.train(None, "--set", "data.train=" + str(env.tmp / "missing.conll"))
    quiet = wd_process(*argv)
    assert quiet.returncode == 2
    assert quiet.stderr.strip().splitlines() == [
        f"wd-train: error: {env.tmp}/missing.conll: data file not found"]
    one_epoch = env.train(None, "--set", "training.epochs=1")
    finished = wd_process(*one_epoch)
    # nothing on stderr but wd-train's own warning that one tiny epoch learned no entity
    noise = [line for line in finished.stderr.splitlines()
             if not line.startswith("degenerate run: ")]
    assert finished.returncode == 0 and noise == [], finished.stderr
    loud = subprocess.run([sys.executable, "-m", "wd_train.cli", *map(str, one_epoch),
                           "-o", str(env.tmp / "loud")], capture_output=True, text=True,
                          check=False, timeout=300, env={**os.environ, "WD_TRAIN_TF_LOG": "1"})
    assert loud.returncode == 0 and loud.stderr != ""  # TensorFlow's own lines are back


def test_export_overwrite_into_the_current_folder_keeps_what_is_there(in_tmp, finished_run,
                                                                     wd_invoke):
    """`wd-train export RUN . --overwrite` from a folder holding a file of the user's: refused
    in one line, the file and the folder untouched."""
    env = in_tmp
    run = _finished(env, finished_run)
    work = env.out  # the current folder of this case, the only place it could write
    work.mkdir()
    (work / "notes.txt").write_text("mine")
    os.chdir(work)
    result = run_bounded(wd_invoke, env, ["export", run, ".", "--overwrite"])
    check_one_line(result, Case("export-dot", None, ".: holds the current folder or the run"),
                   env, _metrics_files(run))
    assert sorted(p.name for p in work.iterdir()) == ["notes.txt"]
    assert (work / "notes.txt").read_text() == "mine"


def test_predict_output_to_a_device_node_leaves_it_a_device(in_tmp, finished_run, wd_invoke):
    """`predict -o NODE` where NODE is a character device (a /dev/null made with mknod): written
    through, never replaced by a regular file."""
    env = in_tmp
    run = _finished(env, finished_run)
    env.out.mkdir()
    node = env.out / "null"
    try:
        os.mknod(node, 0o666 | stat.S_IFCHR, os.makedev(1, 3))
    except (PermissionError, OSError) as exc:
        pytest.skip(f"mknod not permitted here ({exc})")
    with deadline(DEADLINE):
        result = wd_invoke("predict", run, "--text", "John Smith visited Paris", "-o", node,
                           "-q")
    assert result.exit_code == 0, result.stderr
    assert stat.S_ISCHR(node.lstat().st_mode)
    assert os.major(node.lstat().st_rdev) == 1 and os.minor(node.lstat().st_rdev) == 3
    assert sorted(p.name for p in env.out.iterdir()) == ["null"]  # no temporary file left


LINE_BREAKS = "\u2028\u2029\x85"  # where str.splitlines() splits and JSON does not escape


def test_predict_jsonl_escapes_every_line_break_splitlines_knows(env, finished_run, wd_invoke):
    texts = [f"John{c}Smith visited Paris" for c in LINE_BREAKS] + ["plain"]
    args = [a for text in texts for a in ("--text", text)]
    out = env.tmp / "p.jsonl"
    result = wd_invoke("predict", finished_run[1], *args, "-o", out, "-q")
    assert result.exit_code == 0, result.stderr
    content = out.read_text(encoding="utf-8")
    assert not any(c in content for c in LINE_BREAKS)
    lines = content.splitlines()
    assert [json.loads(line)["text"] for line in lines] == texts


def test_a_full_disk_while_writing_weights_names_weights_h5(small_disk):
    """h5py's write error on a full disk is a paragraph naming the temporary file: the error
    names weights.h5 and says "No space left on device"; no temporary file is left."""
    import h5py
    import numpy as np

    from wd_train.files import replace_atomic

    mount = small_disk("256k")

    def write(path):
        with h5py.File(path, "w") as handle:
            handle["kernel"] = np.zeros(200_000)

    with pytest.raises(OSError) as caught:
        replace_atomic(mount / "weights.h5", write)
    assert caught.value.filename == str(mount / "weights.h5")
    assert caught.value.strerror == "No space left on device"
    assert list(mount.iterdir()) == []


def test_a_full_disk_during_import_hf_is_one_line_naming_dst(env, wd_invoke, small_disk):
    mount = small_disk("48k", env.tmp)
    with deadline(DEADLINE):
        result = wd_invoke("import-hf", env.hf_bert.write(env.tmp / "hf"), mount / "google",
                           "--no-check")
    check_one_line(result, Case("import-hf-full", None, f"{mount}/google/bert_model.ckpt: "
                                "cannot write (No space left on device)"), env)
    assert list(mount.iterdir()) == []  # no temporary folder left
