"""`make train`'s config on a short budget, so the main job cannot rot (real MiniLM weights)."""

import json
import subprocess
import sys
from pathlib import Path

import pytest

ROOT = Path(__file__).resolve().parents[1]
MINILM = ROOT / "models" / "all-MiniLM-L6-v2"


@pytest.mark.slow
@pytest.mark.skipif(not (MINILM / "bert_config.json").exists(),
                    reason="MiniLM not converted (run `make setup`)")
def test_demo_config_trains_real_minilm(tmp_path):
    result = subprocess.run(
        [sys.executable, "-m", "wd_train.cli", str(ROOT / "configs" / "demo.yaml"),
         "--output-dir", str(tmp_path / "demo"), "--json", "--quiet",
         "--set", "data.limit=300", "--set", "training.epochs=2",
         "--set", "optimizer.learning_rate=3e-4"],
        check=False, capture_output=True, text=True, timeout=900,
    )
    assert result.returncode == 0, result.stderr
    metrics = json.loads(result.stdout)
    assert metrics["lowercase"] is True
    assert metrics["data"]["train"]["sentences"] == 300
    # 300 sentences, 20 steps: far from trained, but pretrained MiniLM must already find entities
    assert metrics["test"]["f1"] > 0.1  # all-O would score 0; measured 0.29 on 2026-11-24
