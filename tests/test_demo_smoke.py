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
def test_demo_config_trains_real_minilm(tmp_path, serve_saved_model):
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

    # the same run exported: served in a fresh process (TensorFlow + tensorflow-text only), it
    # tags every sentence of the demo test set and of CoNLL-2003 test as `predict --text` does
    from wd_train.data.reader import read_conll
    from wd_train.use.export import export_run
    from wd_train.use.predict import predict_texts

    exported = export_run(tmp_path / "demo", tmp_path / "exported")
    files = [ROOT / "data" / "demo" / "test.conll"]
    conll = ROOT.parent / "shared" / "data" / "conll2003" / "eng.testb"
    files += [conll] if conll.exists() else []
    for path in files:
        texts = ["  ".join(s.tokens) for s in read_conll(path)]
        expected = predict_texts(tmp_path / "demo", texts)
        served = serve_saved_model(exported, texts)["rows"]
        assert [row["tags"] for row in served] == [p.tags for p in expected], path
        assert [row["entities"] for row in served] == [[e.as_dict() for e in p.entities]
                                                      for p in expected], path
        assert [row["starts"] for row in served] == [[w.start for w in p.words]
                                                    for p in expected], path
