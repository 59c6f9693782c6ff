"""Mixed precision through keras_bert: every layer follows the policy, the head and the loss
stay float32, and float16's loss scaling never lets a skipped step advance the schedule."""

import subprocess
import sys
from pathlib import Path

import numpy as np
import pytest

from wd_train.model.precision import set_precision
from wd_train.model.tagger import BackboneSpec, rebuild_tagger

ROOT = Path(__file__).resolve().parents[2]
SPEC = BackboneSpec(token_num=60, pos_num=32, embed_dim=32, transformer_num=2, head_num=2,
                    feed_forward_dim=64)


@pytest.fixture
def policy():
    yield set_precision
    set_precision("float32")  # later tests build float32 models


def _inputs():
    tokens = np.random.default_rng(0).integers(1, 60, size=(3, 12)).astype("int32")
    tokens[1, 7:] = 0  # padding: the attention mask term is exercised
    return [tokens, np.zeros_like(tokens)]


@pytest.mark.parametrize("name", ["mixed_bfloat16", "mixed_float16"])
def test_every_keras_bert_layer_follows_the_policy(policy, name):
    import tensorflow as tf

    policy("float32")
    tf.keras.utils.set_random_seed(1)
    reference = rebuild_tagger(SPEC, 5, 0.0)
    expected = reference(_inputs(), training=False).numpy()
    policy(name)
    model = rebuild_tagger(SPEC, 5, 0.0)
    model.set_weights(reference.get_weights())
    logits = model(_inputs(), training=False)
    low = name.removeprefix("mixed_")
    dtypes = {layer.name: layer.compute_dtype for layer in model.layers}
    assert dtypes["NER-Dense"] == "float32" and logits.dtype == tf.float32  # head and loss
    assert dtypes["Encoder-1-MultiHeadSelfAttention"] == low
    assert dtypes["Encoder-1-FeedForward"] == low
    assert dtypes["Encoder-1-MultiHeadSelfAttention-Norm"] == "float32"  # epsilon 1e-14
    assert {v.dtype.name for v in model.trainable_variables} == {"float32"}  # master weights
    np.testing.assert_allclose(logits.numpy(), expected, atol=0.1)  # same model, low precision
    assert np.all(np.isfinite(logits.numpy()))


def test_a_skipped_float16_step_does_not_advance_the_schedule(policy, tmp_path, tiny_dataset,
                                                              tiny_config_dict, write_config):
    """A loss scale far too large makes the first steps overflow: they are skipped, the
    schedule's step counter does not move, and the LR trace lists only the steps applied."""
    import dataclasses

    import tensorflow as tf

    from wd_train.config import load_config
    from wd_train.data.batching import batches_per_epoch
    from wd_train.model.optimizer import build_optimizer
    from wd_train.model.schedule import schedule_lr
    from wd_train.training.loop import fit
    from wd_train.training.setup import build_training

    path = write_config(tmp_path / "c.yaml", tiny_config_dict(
        tiny_dataset, tmp_path / "o", training={"epochs": 3, "batch_size": 8, "seed": 1}))
    config, _ = load_config(path)
    setup = build_training(config, precision="mixed_float16")
    data, schedule, model = setup.data, setup.schedule, setup.model
    assert isinstance(setup.optimizer, tf.keras.mixed_precision.LossScaleOptimizer)
    optimizer = tf.keras.mixed_precision.LossScaleOptimizer(  # the same, but its scale
        build_optimizer(config.optimizer, schedule, model.trainable_variables),
        initial_scale=2.0**24)  # loss × scale far above float16's 65504
    result = fit(dataclasses.replace(setup, optimizer=optimizer), config.training)
    applied = int(optimizer.iterations.numpy())
    batches = 3 * batches_per_epoch(len(data.train.windows), 8)
    assert 0 < applied < batches  # some steps were skipped, the later ones applied
    assert [step for step, _ in result.lr_trace] == list(range(applied))
    assert all(lr == schedule_lr(schedule, step) for step, lr in result.lr_trace)
    assert float(optimizer.loss_scale) < 2.0**24  # the scale came down


@pytest.mark.slow
@pytest.mark.skipif(not (ROOT / "models" / "all-MiniLM-L6-v2" / "vocab.txt").exists(),
                    reason="MiniLM vocab not converted (ci.yaml uses it)")
def test_ci_config_passes_its_gate_in_mixed_bfloat16(tmp_path):
    result = subprocess.run(
        [sys.executable, "-m", "wd_train.cli", str(ROOT / "configs" / "ci.yaml"), "-q",
         "-o", str(tmp_path / "ci"), "--set", "training.precision=mixed_bfloat16"],
        capture_output=True, text=True, check=False, timeout=1200)
    assert result.returncode == 0, result.stderr  # gate: test F1 >= 0.55 (0.6084, 2026-11-28)
    assert '"precision": "mixed_bfloat16"' in (tmp_path / "ci" / "metrics.json").read_text()


def test_a_mixed_precision_run_leaves_float32_behind(tmp_path, tiny_dataset, tiny_config_dict,
                                                     write_config):
    """The next run in the process (a comparison's next cell, `predict`) starts in float32."""
    import tensorflow as tf

    from wd_train.config import load_config
    from wd_train.training.run import train_run

    path = write_config(tmp_path / "c.yaml", tiny_config_dict(
        tiny_dataset, tmp_path / "o", training={"epochs": 1, "precision": "mixed_bfloat16"}))
    metrics = train_run(load_config(path)[0])
    assert metrics.precision == "mixed_bfloat16"
    assert tf.keras.mixed_precision.global_policy().name == "float32"
