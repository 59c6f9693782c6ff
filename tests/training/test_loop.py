"""The training loop: the masked loss and how it is averaged."""

import numpy as np
import pytest

from wd_train.training.loop import masked_loss


def test_masked_loss_ignores_masked_positions_and_averages_as_configured():
    import tensorflow as tf

    labels = tf.constant([[-1, 1, -1, 0], [-1, 2, -1, -1]])
    logits = tf.constant(np.random.default_rng(0).normal(size=(2, 4, 3)), tf.float32)
    per_position = tf.keras.losses.sparse_categorical_crossentropy(
        tf.maximum(labels, 0), logits, from_logits=True).numpy()
    kept = per_position[[0, 0, 1], [1, 3, 1]]
    assert float(masked_loss(labels, logits)) == pytest.approx(kept.mean(), rel=1e-6)
    # words: the sum over this batch's 3 words divided by the average words per batch (say 6)
    assert float(masked_loss(labels, logits, 6.0)) == pytest.approx(kept.sum() / 6, rel=1e-6)
    changed = logits.numpy()
    changed[0, 0] += 5.0  # a [CLS]/padding position: no effect
    assert float(masked_loss(labels, tf.constant(changed))) == pytest.approx(kept.mean(),
                                                                           rel=1e-6)


def test_loss_average_words_weighs_every_word_the_same(tmp_path, tiny_dataset, tiny_config_dict,
                                                      write_config, monkeypatch):
    """Same seed, same first batch: `words` divides that batch's summed loss by the average
    number of words per batch instead of by its own count, so the two first-step losses differ
    by exactly (words in the batch) / (average words per batch)."""
    from wd_train.config import load_config
    from wd_train.data.dataset import load_data
    from wd_train.training import loop
    from wd_train.training.run import train_run

    real_pad, words_per_step = loop.pad_batch, []

    def pad_batch(windows, indices, *rest):
        batch = real_pad(windows, indices, *rest)
        words_per_step.append(int((batch[2] >= 0).sum()))
        return batch

    monkeypatch.setattr(loop, "pad_batch", pad_batch)
    first_loss = {}
    for mode in ("batch", "words"):
        path = write_config(tmp_path / f"{mode}.yaml", tiny_config_dict(
            tiny_dataset, tmp_path / mode, training={"epochs": 1, "loss_average": mode}))
        config, _ = load_config(path)
        losses, words_per_step[:] = [], []
        train_run(config, progress=lambda phase, done, total, v, out=losses: out.append(v["loss"]))
        first_loss[mode], first_words = losses[0], words_per_step[0]
    windows = load_data(config, folder=None).train.windows  # random_init: no BERT folder
    average = config.training.batch_size * sum(w.num_words for w in windows) / len(windows)
    assert first_words != pytest.approx(average)  # else the test could not tell them apart
    assert first_loss["words"] == pytest.approx(first_loss["batch"] * first_words / average,
                                                rel=1e-4)


def test_xla_compiles_once_per_padded_shape_and_trains_the_same(tmp_path, tiny_dataset,
                                                               tiny_config_dict, write_config):
    from wd_train.config import load_config
    from wd_train.training.run import train_run

    runs, first_loss = {}, {}
    for name, jit in (("eager", False), ("xla", True)):
        path = write_config(tmp_path / f"{name}.yaml", tiny_config_dict(
            tiny_dataset, tmp_path / name, training={"epochs": 1, "jit_compile": jit},
            data={"pad_to_multiple_of": 8}, model={"head_dropout": 0.0}))  # XLA draws other
        losses = []  # dropout masks: without dropout the two compute the same function
        runs[name] = train_run(load_config(path)[0],
                               progress=lambda phase, done, total, v, out=losses: out.append(
                                   v["loss"]))
        first_loss[name] = losses[0]
    xla, eager = runs["xla"], runs["eager"]
    assert xla.jit_compile and not eager.jit_compile
    # 60 + 20 + 20 sentences in batches of 8 (up to 16 windows), lengths up to 24 pieces:
    # widths 8, 16, 24 and a few batch sizes, never one shape per length
    assert 1 <= xla.compiled_shapes <= 6 and xla.compile_seconds > 0
    assert eager.compiled_shapes == 0
    # same initial weights, same first batch: the same loss up to XLA's own CPU kernels (they
    # differ by about 0.2 % here); a wrong graph would be far off
    assert first_loss["xla"] == pytest.approx(first_loss["eager"], rel=1e-2)


def test_xla_length_buckets_from_the_data(tmp_path, tiny_dataset, tiny_config_dict,
                                          write_config):
    """data.length_buckets: every train batch padded to one of at most that many widths,
    chosen from the run's batches; metrics.json records them and the padding efficiency."""
    from wd_train.config import load_config
    from wd_train.training.run import train_run

    path = write_config(tmp_path / "c.yaml", tiny_config_dict(
        tiny_dataset, tmp_path / "o", training={"epochs": 2, "jit_compile": True},
        data={"length_buckets": 2}))
    metrics = train_run(load_config(path)[0])
    assert 1 <= len(metrics.length_buckets) <= 2
    # at most 2 widths × the full and the last, partial batch size
    assert 1 <= metrics.compiled_shapes <= 4
    assert 0.3 < metrics.padding_efficiency <= 1.0


def test_fused_update_trains_as_the_unfused_one(tmp_path, tiny_dataset, tiny_config_dict,
                                                 write_config):
    """training.fused_update: the same run, step for step, to float32 reassociation."""
    from wd_train.config import load_config
    from wd_train.training.run import train_run

    losses, runs = {}, {}
    for fused in (False, True):
        path = write_config(tmp_path / f"{fused}.yaml", tiny_config_dict(
            tiny_dataset, tmp_path / str(fused), training={"epochs": 2, "fused_update": fused},
            model={"head_dropout": 0.0}))
        losses[fused] = []
        runs[fused] = train_run(load_config(path)[0],
                                progress=lambda phase, done, total, v, out=losses[fused]:
                                out.append(v["loss"]))
    assert runs[True].steps == runs[False].steps
    np.testing.assert_allclose(losses[True], losses[False], rtol=1e-4)
    assert runs[True].padding_efficiency == runs[False].padding_efficiency


def test_the_tf_data_pipeline_yields_the_samplers_batches_in_order():
    from wd_train.data.batching import batch_indices, pad_batch
    from wd_train.data.wordpieces import Window
    from wd_train.training.loop import _prefetched

    rng = np.random.default_rng(3)
    windows = [Window(0, 0, list(rng.integers(1, 50, n)), [0] * n)
               for n in rng.integers(3, 40, 300)]
    batches = batch_indices([len(w.token_ids) for w in windows], 16, np.random.default_rng(5))
    served = list(_prefetched(windows, batches, 8))
    assert len(served) == len(batches)
    for (tokens, segments, labels), indices in zip(served, batches):
        expected = pad_batch(windows, indices, 8)
        for got, want in zip((tokens, segments, labels), expected):
            np.testing.assert_array_equal(got.numpy(), want)


def test_losses_are_read_back_in_groups_yet_every_step_is_reported(
        tmp_path, tiny_dataset, tiny_config_dict, write_config, monkeypatch):
    """The device runs READ_BACK_EVERY steps between host reads; the progress callback, the
    LR trace and the epoch's mean loss still see every step, in order."""
    from wd_train.config import load_config
    from wd_train.training import loop
    from wd_train.training.run import train_run

    monkeypatch.setattr(loop, "READ_BACK_EVERY", 4)
    path = write_config(tmp_path / "c.yaml", tiny_config_dict(
        tiny_dataset, tmp_path / "o", training={"epochs": 2}))
    seen = []
    metrics = train_run(load_config(path)[0],
                        progress=lambda phase, done, total, v: seen.append((v["epoch"], done)))
    per_epoch = metrics.steps // 2
    assert seen == [(e, d) for e in (1, 2) for d in range(1, per_epoch + 1)]
    lrs = (tmp_path / "o" / "lr.csv").read_text().splitlines()[1:]
    assert [int(line.split(",")[0]) for line in lrs] == list(range(metrics.steps))
