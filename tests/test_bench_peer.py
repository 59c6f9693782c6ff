"""bench/peer.py, the side-by-side bench: its shared batches are the run's own, and its
wd-train side times the tool's train step on them (the PyTorch side needs the bench venv)."""

import importlib.util
import json
from pathlib import Path
from types import SimpleNamespace

import numpy as np
import pytest

ROOT = Path(__file__).resolve().parents[1]


@pytest.fixture(scope="module")
def peer():
    spec = importlib.util.spec_from_file_location("peer", ROOT / "bench" / "peer.py")
    module = importlib.util.module_from_spec(spec)
    spec.loader.exec_module(module)
    return module


def test_the_shared_batches_are_the_runs_first_batches(peer, tmp_path, tiny_dataset,
                                                       tiny_config_dict, write_config):
    from wd_train.config import load_config
    from wd_train.data.batching import run_batches
    from wd_train.data.dataset import load_data

    path = write_config(tmp_path / "c.yaml", tiny_config_dict(tiny_dataset, tmp_path / "o"))
    peer.write_batches(SimpleNamespace(config=path, set_texts=[], steps=4, warmup=2,
                                       out=tmp_path / "b.npz"))
    batches, header = peer.read_batches(tmp_path / "b.npz")
    config, _ = load_config(path)
    windows = load_data(config, None).train.windows
    expected = run_batches([len(w.token_ids) for w in windows], 8, 7, 2)[:6]
    assert len(batches) == 6 and header["warmup"] == 2
    for (tokens, labels), indices in zip(batches, expected):
        assert [t.tolist() for t in tokens] == [windows[i].token_ids for i in indices]
        assert [y.tolist() for y in labels] == [windows[i].label_ids for i in indices]
    assert header["total_steps"] > header["warmup_steps"] > 0


def test_the_wd_train_side_times_the_tools_step_and_the_ratios_print(
        peer, tmp_path, tiny_dataset, tiny_config_dict, write_config, capsys):
    path = write_config(tmp_path / "c.yaml", tiny_config_dict(tiny_dataset, tmp_path / "o"))
    peer.write_batches(SimpleNamespace(config=path, set_texts=[], steps=3, warmup=1,
                                       out=tmp_path / "b.npz"))
    result = peer.time_wd_train(SimpleNamespace(config=path, set_texts=[], xla=False,
                                                fused_update=True, batches=tmp_path / "b.npz"))
    assert result["steps_timed"] == 3 and result["setting"] == "float32 + fused update"
    assert 0 < result["real_tokens"] <= result["padded_tokens"]
    (tmp_path / "ours.json").write_text(json.dumps(result))
    theirs = {**result, "name": "pytorch", "real_tokens_per_s": result["real_tokens_per_s"] / 2,
              "padded_tokens_per_s": result["padded_tokens_per_s"] / 4}
    (tmp_path / "theirs.json").write_text(json.dumps(theirs))
    peer.compare(SimpleNamespace(wd_train=tmp_path / "ours.json",
                                 torch=tmp_path / "theirs.json", json=tmp_path / "both.json"))
    assert "ratio real: 2.00  ratio padded: 4.00" in capsys.readouterr().out
    assert json.loads((tmp_path / "both.json").read_text())["ratio_padded"] == pytest.approx(4)
    assert np.isfinite(result["matmul_peak_gflops"])
