import math

import numpy as np
import pytest

from wd_train.config import OptimizerConfig
from wd_train.model.optimizer import build_optimizer, make_apply_gradients
from wd_train.model.schedule import make_schedule, schedule_lr


def formula(lr, warmup, decay, min_lr, t, decay_from="start", shape="linear"):
    """The documented schedules, written out independently (t is 1-based): keras_bert's decay
    from step 0, Hugging Face's linear decay from the end of warmup, or its cosine."""
    if t <= warmup:
        return lr * t / warmup
    if shape == "cosine":
        return min_lr + (lr - min_lr) * 0.5 * (1 + math.cos(math.pi * min(1, (t - warmup) / (
            decay - warmup))))
    if decay_from == "warmup_end":
        return min_lr + (lr - min_lr) * max(0.0, (decay - t) / (decay - warmup))
    return min_lr + (lr - min_lr) * (1 - min(t, decay) / decay)


def test_make_schedule_warmup_decay_and_constant():
    warm = make_schedule(OptimizerConfig(learning_rate=1e-4, warmup_proportion=0.1), 200)
    assert (warm.warmup_steps, warm.decay_steps, warm.min_lr) == (20, 200, 0.0)
    steps = make_schedule(OptimizerConfig(warmup_steps=7), 200)
    assert steps.warmup_steps == 7
    const = make_schedule(OptimizerConfig(learning_rate=3e-5, schedule="constant"), 200)
    assert (const.warmup_steps, const.min_lr, const.learning_rate) == (0, 3e-5, 3e-5)
    assert {schedule_lr(const, s) for s in range(200)} == {3e-5}


def measured_step_sizes(config, total_steps, fused=False):
    """Run the real (shimmed) keras_bert AdamWarmup on w with gradient 1 and return |Δw| per
    step: with a constant gradient, Adam's bias-corrected step is exactly the learning rate.
    `fused`: through the XLA-compiled update (training.fused_update)."""
    import tensorflow as tf

    schedule = make_schedule(config, total_steps)
    weight = tf.Variable([0.0], name="w")
    optimizer = build_optimizer(config, schedule, [weight])
    apply = make_apply_gradients(optimizer, [weight], fused)
    sizes = []
    for _ in range(total_steps):
        before = float(weight.numpy()[0])
        apply([tf.constant([1.0])])
        sizes.append(before - float(weight.numpy()[0]))
    return schedule, np.array(sizes)


@pytest.mark.parametrize("fused", [False, True], ids=["unfused", "fused"])
@pytest.mark.parametrize("schedule_name,decay_from", [
    ("warmup_decay", "start"), ("warmup_decay", "warmup_end"),
    ("constant", "start"), ("constant", "warmup_end"),
    ("warmup_cosine", "start"), ("warmup_constant", "start"), ("linear_decay", "start"),
])
def test_applied_learning_rate_matches_the_schedule(schedule_name, decay_from, fused):
    decaying = schedule_name in ("warmup_decay", "warmup_cosine", "linear_decay")
    config = OptimizerConfig(learning_rate=0.1, schedule=schedule_name, warmup_proportion=0.25,
                             min_lr=0.01 if decaying else 0.0,
                             decay_from=decay_from, weight_decay=0.0, epsilon=1e-12,
                             clipnorm=None)
    total = 40
    schedule, measured = measured_step_sizes(config, total, fused)
    recorded = np.array([schedule_lr(schedule, s) for s in range(total)])
    np.testing.assert_allclose(measured, recorded, rtol=1e-4, atol=1e-7)
    expected = np.array([formula(schedule.learning_rate, schedule.warmup_steps, total,
                                 schedule.min_lr, t, schedule.decay_from, schedule.decay)
                         for t in range(1, total + 1)])
    np.testing.assert_allclose(recorded, expected, rtol=1e-12, atol=1e-15)
    if schedule_name == "warmup_decay" and decay_from == "warmup_end":
        assert recorded[9] == pytest.approx(0.1)  # end of warmup: the peak
        assert recorded[10] == pytest.approx(0.01 + 0.09 * 29 / 30)  # no step down after it
        assert recorded[24] == pytest.approx(0.01 + 0.09 * 15 / 30)  # mid-decay
        assert recorded[-1] == pytest.approx(0.01)  # last step: min_lr
    elif schedule_name == "warmup_decay":
        assert schedule.warmup_steps == 10
        assert recorded[0] == pytest.approx(0.01)  # start: lr / warmup
        assert recorded[9] == pytest.approx(0.1)  # end of warmup: the peak
        # keras_bert decays from step 0: right after warmup the rate drops to 0.01+0.09*(1-11/40)
        assert recorded[10] == pytest.approx(0.01 + 0.09 * (1 - 11 / 40))
        assert recorded[24] == pytest.approx(0.01 + 0.09 * (1 - 25 / 40))  # mid-decay
        assert recorded[-1] == pytest.approx(0.01)  # last step: min_lr
    elif schedule_name == "warmup_cosine":
        assert recorded[9] == pytest.approx(0.1)  # end of warmup: the peak
        assert recorded[24] == pytest.approx(0.01 + 0.09 * 0.5)  # half-way down: the midpoint
        assert recorded[-1] == pytest.approx(0.01)
        assert np.all(np.diff(recorded[9:]) <= 1e-12)  # only down after the peak
    elif schedule_name == "warmup_constant":
        assert recorded[0] == pytest.approx(0.01) and np.allclose(recorded[9:], 0.1)
    elif schedule_name == "linear_decay":
        assert schedule.warmup_steps == 0
        assert recorded[0] == pytest.approx(0.01 + 0.09 * (1 - 1 / 40))  # decays from step 0
        assert recorded[-1] == pytest.approx(0.01)
    else:
        assert np.allclose(recorded, 0.1)
        assert schedule.decay_from == "start"  # no warmup, nothing to decay from


@pytest.mark.parametrize("fused", [False, True], ids=["unfused", "fused"])
def test_weight_decay_skips_bias_and_layernorm(fused):
    import tensorflow as tf

    config = OptimizerConfig(learning_rate=0.1, schedule="constant", weight_decay=0.5,
                             clipnorm=None)
    kernel = tf.Variable(np.ones((2, 2), np.float32), name="dense/kernel")
    bias = tf.Variable(np.ones(2, np.float32), name="dense/bias")
    optimizer = build_optimizer(config, make_schedule(config, 10), [kernel, bias])
    zero = tf.zeros
    make_apply_gradients(optimizer, [kernel, bias], fused)([zero((2, 2)), zero(2)])
    assert np.allclose(bias.numpy(), 1.0)  # no gradient, no decay
    assert np.all(kernel.numpy() < 1.0)  # decayed
    everything = OptimizerConfig(**{**config.model_dump(), "decay_all_weights": True})
    bias2 = tf.Variable(np.ones(2, np.float32), name="other/bias")
    optimizer = build_optimizer(everything, make_schedule(everything, 10), [bias2])
    make_apply_gradients(optimizer, [bias2], fused)([zero(2)])
    assert np.all(bias2.numpy() < 1.0)


@pytest.mark.parametrize("fused", [False, True], ids=["unfused", "fused"])
def test_optimizer_state_saves_and_restores(tmp_path, fused):
    """A resumed run's optimizer: its step count and moments come back, also when the slots
    are first made inside the fused update's compiled function."""
    import tensorflow as tf

    config = OptimizerConfig(learning_rate=0.1, warmup_steps=2, clipnorm=1.0)
    schedule = make_schedule(config, 10)
    weight = tf.Variable(np.ones((2, 2), np.float32), name="k")
    optimizer = build_optimizer(config, schedule, [weight])
    apply = make_apply_gradients(optimizer, [weight], fused)
    for _ in range(3):
        apply([tf.ones((2, 2)) * 5.0])
    tf.train.Checkpoint(w=weight, optimizer=optimizer).write(str(tmp_path / "ckpt"))
    weight2 = tf.Variable(np.zeros((2, 2), np.float32), name="k")
    optimizer2 = build_optimizer(config, schedule, [weight2])
    tf.train.Checkpoint(w=weight2, optimizer=optimizer2).read(str(tmp_path / "ckpt"))
    make_apply_gradients(optimizer2, [weight2], fused)([tf.ones((2, 2))])  # creates slots,
    apply([tf.ones((2, 2))])  # restores them
    assert int(optimizer2.iterations.numpy()) == 4
    np.testing.assert_allclose(weight2.numpy(), weight.numpy(), rtol=1e-6)


def test_decay_from_survives_get_config():
    import tensorflow as tf

    config = OptimizerConfig(learning_rate=0.1, warmup_steps=2, decay_from="warmup_end")
    weight = tf.Variable([0.0], name="w")
    optimizer = build_optimizer(config, make_schedule(config, 10), [weight])
    clone = type(optimizer).from_config(optimizer.get_config())
    assert clone.decay_from == "warmup_end"
    assert clone._after_warmup_scale == pytest.approx(10 / 8)


@pytest.mark.parametrize("fused", [False, True], ids=["unfused", "fused"])
@pytest.mark.parametrize("schedule_name", ["warmup_decay", "constant", "warmup_cosine"])
def test_lr_multiplier_scales_a_variables_whole_schedule(schedule_name, fused):
    """A multiplied variable (a CRF's transitions) steps exactly factor × the schedule at every
    step, warmup and decay alike (min_lr scaled too: the constant schedule stays constant);
    the others step the schedule."""
    import tensorflow as tf

    config = OptimizerConfig(learning_rate=0.01, schedule=schedule_name, warmup_proportion=0.25,
                             min_lr=0.001 if schedule_name != "constant" else 0.0,
                             weight_decay=0.0, epsilon=1e-12, clipnorm=None)
    schedule = make_schedule(config, 20)
    plain = tf.Variable([0.0], name="plain")
    head = tf.Variable([0.0], name="NER-CRF/transitions")
    optimizer = build_optimizer(config, schedule, [plain, head],
                                lr_multipliers={head.name: 10.0})
    apply = make_apply_gradients(optimizer, [plain, head], fused)
    for step in range(20):
        before = plain.numpy()[0], head.numpy()[0]
        apply([tf.constant([1.0]), tf.constant([1.0])])
        expected = schedule_lr(schedule, step)
        assert before[0] - plain.numpy()[0] == pytest.approx(expected, rel=1e-4)
        assert before[1] - head.numpy()[0] == pytest.approx(10 * expected, rel=1e-4)


def _embedding_model():
    """A word-embedding table (sparse gradient, repeated ids), a kernel and a LayerNorm-like
    bias, as in the tagger: what the update sees."""
    import tensorflow as tf

    rng = np.random.default_rng(0)
    table = tf.Variable(rng.normal(size=(12, 4)).astype(np.float32), name="Embedding-Token/"
                        "embeddings")
    kernel = tf.Variable(rng.normal(size=(4, 3)).astype(np.float32), name="NER-dense/kernel")
    bias = tf.Variable(rng.normal(size=3).astype(np.float32), name="NER-dense/bias")
    return [table, kernel, bias]


def _step_function(variables, apply):
    import tensorflow as tf

    table, kernel, bias = variables

    @tf.function
    def step(ids, scale):
        with tf.GradientTape() as tape:
            hidden = tf.gather(table, ids)
            loss = scale * tf.reduce_sum(tf.square(hidden @ kernel + bias))
        gradients = tape.gradient(loss, variables)
        apply(gradients)
        return gradients[0]

    return step


@pytest.mark.parametrize("clipnorm", [None, 1.0])
def test_fused_update_equals_the_unfused_one_with_sparse_gradients(clipnorm):
    """The embedding table's IndexedSlices gradient (ids repeated, some rows untouched), weight
    decay only on matrices, the head's lr factor, the global clip taken from the sparse values:
    the XLA-compiled update gives the unfused weights to float32 reassociation."""
    import tensorflow as tf

    config = OptimizerConfig(learning_rate=0.05, warmup_steps=2, weight_decay=0.1,
                             clipnorm=clipnorm)
    ids = tf.constant([[1, 1, 5, 7], [5, 2, 2, 2]])
    weights = {}
    for fused in (False, True):
        variables = _embedding_model()
        optimizer = build_optimizer(config, make_schedule(config, 8), variables,
                                    lr_multipliers={variables[1].name: 3.0})
        step = _step_function(variables, make_apply_gradients(optimizer, variables, fused))
        for _ in range(6):
            gradient = step(ids, tf.constant(1.0))
        assert isinstance(gradient, tf.IndexedSlices)  # the sparse path was exercised
        weights[fused] = [v.numpy() for v in variables]
        assert int(optimizer.iterations.numpy()) == 6
    for unfused, fused in zip(weights[False], weights[True]):
        np.testing.assert_allclose(fused, unfused, rtol=1e-5, atol=1e-6)
    untouched = [0, 3, 4, 6, 8, 9, 10, 11]  # rows without a gradient: decay alone
    assert not np.allclose(weights[True][0][untouched], _embedding_model()[0].numpy()[untouched])


def test_fused_update_under_loss_scaling_skips_an_overflowed_step():
    """float16's dynamic loss scaling: a step whose gradients overflow changes no weight and
    halves the loss scale, inside the compiled update as outside it."""
    import tensorflow as tf

    config = OptimizerConfig(learning_rate=0.05, warmup_steps=2, weight_decay=0.1)
    ids = tf.constant([[1, 1, 5, 7]])
    results = {}
    for fused in (False, True):
        variables = _embedding_model()
        optimizer = build_optimizer(config, make_schedule(config, 8), variables,
                                    loss_scaling=True)
        step = _step_function(variables, make_apply_gradients(optimizer, variables, fused))
        step(ids, tf.constant(1.0))
        before = [v.numpy() for v in variables]
        scale = float(optimizer.loss_scale)
        step(ids, tf.constant(np.inf, tf.float32))
        for was, variable in zip(before, variables):
            np.testing.assert_array_equal(variable.numpy(), was)
        assert float(optimizer.loss_scale) == scale / 2
        step(ids, tf.constant(1.0))
        results[fused] = [v.numpy() for v in variables]
    for unfused, fused in zip(results[False], results[True]):
        np.testing.assert_allclose(fused, unfused, rtol=1e-5, atol=1e-6)
