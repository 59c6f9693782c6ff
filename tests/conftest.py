"""Shared fixtures: a tiny vocab, tiny CoNLL data sets and configs, a tiny Hugging Face BERT
folder, a finished tiny run, and the command line (in process and as a real process).

Helpers that tests call with arguments are fixtures returning the function, so no test imports
from another test file; session-scoped fixtures hand out folders that no test may change.
"""

from __future__ import annotations

import json
import os
import random
import subprocess
import sys
from pathlib import Path
from types import SimpleNamespace

import numpy as np
import pytest
import yaml

import wd_train  # noqa: F401  (sets TF_USE_LEGACY_KERAS before anything imports TensorFlow)

ROOT = Path(__file__).resolve().parents[1]
SHARED_DATA = ROOT.parent / "shared" / "data"

PEOPLE = ["john smith", "mary jones", "peter blackburn", "anna schmidt", "li wei", "carlos diaz"]
PLACES = ["london", "new york", "berlin", "paris", "tokyo", "sao paulo"]
ORGS = ["acme corp", "bank of england", "red cross", "united nations"]
FILLER = ["the", "said", "on", "monday", "in", "visited", "met", "with", "from", "and", "a",
          "report", "today", "officials", ",", ".", "of", "to", "was"]

SPECIAL = ["[PAD]", "[UNK]", "[CLS]", "[SEP]", "[MASK]"]


def _tiny_vocab_tokens() -> list[str]:
    words = sorted({w for phrase in PEOPLE + PLACES + ORGS for w in phrase.split()} | set(FILLER))
    pieces = ["##s", "##ing", "##ed", "x", "##x", "un", "##able"]
    return SPECIAL + words + pieces


def _write_vocab(path: Path) -> Path:
    path.write_text("\n".join(_tiny_vocab_tokens()) + "\n", encoding="utf-8")
    return path


def _make_sentences(count: int, seed: int, long_every: int = 0) -> list[list[tuple[str, str]]]:
    """Template sentences with PER/LOC/ORG entities; every `long_every`-th one is very long."""
    rng = random.Random(seed)
    sentences = []
    for index in range(count):
        words: list[tuple[str, str]] = []
        parts = 3 if not (long_every and index % long_every == 0) else 25
        for _ in range(parts):
            kind, names = rng.choice([("PER", PEOPLE), ("LOC", PLACES), ("ORG", ORGS)])
            for position, token in enumerate(rng.choice(names).split()):
                words.append((token.title(), ("B-" if position == 0 else "I-") + kind))
            words.extend((rng.choice(FILLER), "O") for _ in range(rng.randint(1, 3)))
        words.append((".", "O"))
        sentences.append(words)
    return sentences


def _write_conll(path: Path, sentences) -> Path:
    lines = []
    for sentence in sentences:
        lines.extend(f"{token} {tag}" for token, tag in sentence)
        lines.append("")
    path.write_text("\n".join(lines) + "\n", encoding="utf-8")
    return path


def _write_tiny_dataset(folder: Path) -> dict[str, Path]:
    return {
        "train": _write_conll(folder / "train.conll", _make_sentences(60, 1, long_every=15)),
        "dev": _write_conll(folder / "dev.conll", _make_sentences(20, 2, long_every=10)),
        "test": _write_conll(folder / "test.conll", _make_sentences(20, 3, long_every=10)),
        "vocab": _write_vocab(folder / "vocab.txt"),
    }


def _tiny_config_dict(dataset: dict[str, Path], out: Path, **sections) -> dict:
    config = {
        "data": {"train": str(dataset["train"]), "dev": str(dataset["dev"]),
                 "test": str(dataset["test"]), "max_seq_len": 24},
        "model": {"random_init": {"layers": 1, "hidden": 32, "heads": 2, "max_position": 64},
                  "vocab": str(dataset["vocab"])},
        "optimizer": {"learning_rate": 0.005, "warmup_proportion": 0.2},
        "training": {"epochs": 2, "batch_size": 8, "seed": 7},
        "output": {"dir": str(out)},
    }
    for section, values in sections.items():
        config.setdefault(section, {}).update(values)
    return config


def _write_config(path: Path, config: dict) -> Path:
    path.write_text(yaml.safe_dump(config, sort_keys=False), encoding="utf-8")
    return path


# --- a tiny Hugging Face BERT folder (config.json, model.safetensors, vocab.txt) -------------

LAYERS, HIDDEN, HEADS, INTER, MAX_POS = 2, 32, 4, 64, 40
_WORD_TEXT = (
    "the a of and to in is was on at by for with from that this it he she they "
    "quick brown fox jumps over lazy dog cat sat mat hello world angela merkel visited "
    "paris berlin tuesday monday named entity recognition finds people places text "
    "Paris Berlin Angela Merkel The Hello"
)
WORDS = _WORD_TEXT.split()
SPECIAL = ["[PAD]", "[UNK]", "[CLS]", "[SEP]", "[MASK]"]
PUNCT = [".", ",", "!", "?", "'"]
SUBWORDS = ["##s", "##ing", "##ed", "##er", "##ly"]


def _hf_vocab() -> list[str]:
    tokens = SPECIAL + PUNCT + SUBWORDS + WORDS
    tokens += [f"[unused{i}]" for i in range(100 - len(tokens))]
    assert len(tokens) == len(set(tokens)) == 100
    return tokens


def _hf_tensors(vocab_size: int, rng: np.random.Generator) -> dict[str, np.ndarray]:
    def r(*shape: int) -> np.ndarray:
        return rng.normal(0.0, 0.2, size=shape).astype(np.float32)

    t = {
        "embeddings.word_embeddings.weight": r(vocab_size, HIDDEN),
        "embeddings.position_embeddings.weight": r(MAX_POS, HIDDEN),
        "embeddings.token_type_embeddings.weight": r(2, HIDDEN),
        "embeddings.LayerNorm.weight": 1.0 + r(HIDDEN),
        "embeddings.LayerNorm.bias": r(HIDDEN),
        "embeddings.position_ids": np.arange(MAX_POS, dtype=np.int64)[None, :],
        "pooler.dense.weight": r(HIDDEN, HIDDEN),
        "pooler.dense.bias": r(HIDDEN),
    }
    for i in range(LAYERS):
        f = f"encoder.layer.{i}"
        for part in ("query", "key", "value"):
            t[f"{f}.attention.self.{part}.weight"] = r(HIDDEN, HIDDEN)
            t[f"{f}.attention.self.{part}.bias"] = r(HIDDEN)
        t[f"{f}.attention.output.dense.weight"] = r(HIDDEN, HIDDEN)
        t[f"{f}.attention.output.dense.bias"] = r(HIDDEN)
        t[f"{f}.attention.output.LayerNorm.weight"] = 1.0 + r(HIDDEN)
        t[f"{f}.attention.output.LayerNorm.bias"] = r(HIDDEN)
        t[f"{f}.intermediate.dense.weight"] = r(INTER, HIDDEN)
        t[f"{f}.intermediate.dense.bias"] = r(INTER)
        t[f"{f}.output.dense.weight"] = r(HIDDEN, INTER)
        t[f"{f}.output.dense.bias"] = r(HIDDEN)
        t[f"{f}.output.LayerNorm.weight"] = 1.0 + r(HIDDEN)
        t[f"{f}.output.LayerNorm.bias"] = r(HIDDEN)
    return t


def _write_tiny_bert(
    root: Path,
    *,
    prefix: str = "",
    gamma_beta: bool = False,
    do_lower_case: bool | None = True,
    drop: tuple[str, ...] = (),
    replace: dict[str, np.ndarray] | None = None,
    config_overrides: dict | None = None,
    vocab: list[str] | None = None,
    seed: int = 0,
) -> Path:
    """Write a tiny HF-format BERT (config, safetensors, vocab, tokenizer config) into root."""
    from safetensors.numpy import save_file

    root.mkdir(parents=True, exist_ok=True)
    vocab = _hf_vocab() if vocab is None else vocab
    config = {
        "architectures": ["BertModel"],
        "model_type": "bert",
        "attention_probs_dropout_prob": 0.1,
        "hidden_act": "gelu",
        "hidden_dropout_prob": 0.1,
        "hidden_size": HIDDEN,
        "initializer_range": 0.02,
        "intermediate_size": INTER,
        "layer_norm_eps": 1e-12,
        "max_position_embeddings": MAX_POS,
        "num_attention_heads": HEADS,
        "num_hidden_layers": LAYERS,
        "pad_token_id": 0,
        "position_embedding_type": "absolute",
        "type_vocab_size": 2,
        "vocab_size": len(vocab),
    }
    config.update(config_overrides or {})
    (root / "config.json").write_text(json.dumps(config, indent=2), encoding="utf-8")
    (root / "vocab.txt").write_text("".join(f"{t}\n" for t in vocab), encoding="utf-8")
    if do_lower_case is not None:
        (root / "tokenizer_config.json").write_text(
            json.dumps({"do_lower_case": do_lower_case, "tokenizer_class": "BertTokenizer"}),
            encoding="utf-8",
        )
    tensors = _hf_tensors(len(vocab), np.random.default_rng(seed))
    tensors.update(replace or {})
    out = {}
    for name, value in tensors.items():
        if name in drop:
            continue
        if gamma_beta and ".LayerNorm." in name:
            name = name.replace(".weight", ".gamma").replace(".bias", ".beta")
        out[prefix + name] = value
    save_file(out, str(root / "model.safetensors"))
    return root




# --- a SavedModel of `wd-train export`, served in a fresh process ---------------------------

SERVE = r'''
import json, sys
import tensorflow as tf
import tensorflow_text  # noqa: F401  (registers the tokenizer ops)
serve = tf.saved_model.load(sys.argv[1]).signatures["serving_default"]
texts = json.load(sys.stdin)
rows, outputs = [], []
for first in range(0, len(texts), 64):  # requests of 64 texts, as a client would send them
    batch = texts[first:first + 64]
    out = {k: v.numpy().tolist() for k, v in serve(texts=tf.constant(batch)).items()}
    outputs = sorted(out)
    for i in range(len(batch)):
        n, m = out["num_tokens"][i], out["num_entities"][i]
        text = lambda key, k: [x.decode() for x in out[key][i][:k]]
        rows.append({"tokens": text("tokens", n), "tags": text("tags", n),
                     "starts": out["token_start"][i][:n], "ends": out["token_end"][i][:n],
                     "entities": [{"type": t, "start": s, "end": e, "text": x}
                                  for t, s, e, x in zip(
                                      text("entity_type", m), out["entity_start"][i][:m],
                                      out["entity_end"][i][:m], text("entity_text", m))]})
print(json.dumps({"rows": rows, "outputs": outputs,
                  "modules": [m for m in ("keras_bert", "wd_train") if m in sys.modules]}))
'''


def _serve_fresh(export_dir: Path, texts: list[str]) -> dict:
    # a serving process: none of wd-train's settings (TF_USE_LEGACY_KERAS) either
    env = {k: v for k, v in os.environ.items() if k != "TF_USE_LEGACY_KERAS"}
    result = subprocess.run([sys.executable, "-c", SERVE, str(export_dir)], input=json.dumps(texts),
                            capture_output=True, text=True, check=False, timeout=600, env=env)
    assert result.returncode == 0, result.stderr[-3000:]
    return json.loads(result.stdout.splitlines()[-1])


# --- fixtures --------------------------------------------------------------------------------


@pytest.fixture
def tiny_dataset(tmp_path: Path) -> dict[str, Path]:
    """train/dev/test CoNLL files and a vocab in this test's folder."""
    return _write_tiny_dataset(tmp_path)


@pytest.fixture(scope="session")
def write_tiny_dataset():
    return _write_tiny_dataset


@pytest.fixture(scope="session")
def tiny_vocab_tokens():
    return _tiny_vocab_tokens


@pytest.fixture(scope="session")
def write_vocab():
    return _write_vocab


@pytest.fixture(scope="session")
def make_sentences():
    return _make_sentences


@pytest.fixture(scope="session")
def write_conll():
    return _write_conll


@pytest.fixture(scope="session")
def tiny_config_dict():
    return _tiny_config_dict


@pytest.fixture(scope="session")
def write_config():
    return _write_config


@pytest.fixture(scope="session")
def hf_bert():
    """Writes tiny HF BERT folders: `hf_bert.write(root, …)`; its shape as attributes."""
    return SimpleNamespace(write=_write_tiny_bert, vocab=_hf_vocab, layers=LAYERS,
                           hidden=HIDDEN, heads=HEADS, inter=INTER, max_pos=MAX_POS)


@pytest.fixture(scope="session")
def shared_data() -> Path:
    """The workplace's shared data sets (CoNLL-2003, zh-time); tests skip where absent."""
    return SHARED_DATA


@pytest.fixture(scope="session")
def finished_run(tmp_path_factory):
    """A finished 3-epoch run of the tiny model: (metrics.json as a dict, run dir, its data,
    its folder). Shared by many tests: none may change it."""
    from wd_train.config import load_config
    from wd_train.training.run import train_run

    tmp = tmp_path_factory.mktemp("finished")
    dataset = _write_tiny_dataset(tmp)
    path = _write_config(tmp / "run.yaml",
                         _tiny_config_dict(dataset, tmp / "run", training={"epochs": 3}))
    metrics = train_run(load_config(path)[0]).model_dump(mode="json")
    return metrics, tmp / "run", dataset, tmp


def _run_cli(*args, cwd=None, timeout=600) -> subprocess.CompletedProcess:
    return subprocess.run([sys.executable, "-m", "wd_train.cli", *map(str, args)],
                          capture_output=True, text=True, check=False, cwd=cwd, timeout=timeout)


@pytest.fixture(scope="session")
def wd_process():
    """`wd-train ARGS…` as a real process: (returncode, stdout, stderr) as users and CI see."""
    return _run_cli


@pytest.fixture(scope="session")
def wd_invoke():
    """`wd-train ARGS…` in this process (typer's runner; stderr kept apart)."""
    from typer.testing import CliRunner

    from wd_train.cli import app

    def invoke(*args):
        return CliRunner().invoke(app, [*map(str, args)])

    return invoke


@pytest.fixture(scope="session")
def train_tiny():
    """Train the tiny model on `dataset` into `folder/name`: (metrics.json as a dict, run dir)."""
    from wd_train.config import load_config
    from wd_train.training.run import train_run

    def train(folder: Path, dataset: dict[str, Path], name: str = "run", overrides=(),
              **sections) -> tuple[dict, Path]:
        path = _write_config(folder / f"{name}.yaml",
                             _tiny_config_dict(dataset, folder / name, **sections))
        config, _ = load_config(path, list(overrides))
        return train_run(config).model_dump(mode="json"), folder / name

    return train


@pytest.fixture(scope="session")
def serve_saved_model():
    """Serve texts with an exported SavedModel in a fresh process that imports only TensorFlow
    and tensorflow-text: {"rows": [{tokens, tags, starts, ends, entities}], "outputs",
    "modules" (of keras_bert and wd_train, those the process imported)}."""
    return _serve_fresh


@pytest.fixture
def small_disk(tmp_path):
    """`small_disk(size, where=tmp_path)`: a new folder `where/small` on a tmpfs of `size` (a
    disk that fills up); skips where mounting is not allowed, unmounts after the test."""
    mounted = []

    def make(size: str, where: Path | None = None) -> Path:
        mount = (where or tmp_path) / "small"
        mount.mkdir()
        if subprocess.run(["mount", "-t", "tmpfs", "-o", f"size={size}", "tmpfs", str(mount)],
                          capture_output=True, check=False).returncode != 0:
            pytest.skip("cannot mount a tmpfs here")
        mounted.append(mount)
        return mount

    yield make
    for mount in mounted:
        subprocess.run(["umount", str(mount)], check=False)
