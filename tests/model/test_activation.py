"""The feed-forward GELUs with a hand-written gradient: the tanh form gives keras_bert's values
bit for bit, and both give the derivative that automatic differentiation of the op-by-op
formula gives, to float32 rounding; the backward pass keeps only the input."""

import numpy as np
import pytest


def _values():
    rng = np.random.default_rng(0)
    # the feed-forward pre-activations' range, and the tails where tanh saturates
    return np.concatenate([rng.normal(0, 3, 4000), np.linspace(-12, 12, 97)]).astype(np.float32)


def _value_and_gradient(function, x):
    import tensorflow as tf

    x = tf.constant(x)
    with tf.GradientTape() as tape:
        tape.watch(x)
        y = function(x)
    # a non-uniform upstream gradient, so that dy enters the product
    dy = tf.constant(np.linspace(0.5, 1.5, x.shape[0]), dtype=x.dtype)
    return y.numpy(), tape.gradient(y, x, output_gradients=dy).numpy()


def test_the_tanh_gelu_is_keras_bert_s_with_the_same_gradient():
    from keras_transformer.gelu import gelu as keras_bert_gelu

    from wd_train.model.activation import feed_forward_activation

    x = _values()
    lean_y, lean_dx = _value_and_gradient(feed_forward_activation("gelu_tanh"), x)
    ref_y, ref_dx = _value_and_gradient(keras_bert_gelu, x)
    np.testing.assert_array_equal(lean_y, ref_y)
    np.testing.assert_allclose(lean_dx, ref_dx, rtol=2e-6, atol=2e-7)


def test_the_exact_gelu_has_tensorflow_s_values_and_gradient():
    import tensorflow as tf

    from wd_train.model.activation import feed_forward_activation

    x = _values()
    lean_y, lean_dx = _value_and_gradient(feed_forward_activation("gelu_erf"), x)
    ref_y, ref_dx = _value_and_gradient(lambda v: tf.nn.gelu(v, approximate=False), x)
    np.testing.assert_array_equal(lean_y, ref_y)
    np.testing.assert_allclose(lean_dx, ref_dx, rtol=2e-6, atol=2e-7)


@pytest.mark.parametrize("activation", ["gelu_tanh", "gelu_erf"])
def test_the_backward_pass_keeps_only_the_input(activation):
    """The gradient function captures x alone: no intermediate of the forward formula is held
    until the backward pass (the memory this saves)."""
    import tensorflow as tf

    from wd_train.model.activation import feed_forward_activation

    gelu = feed_forward_activation(activation)
    graph = tf.function(lambda v: tf.gradients(gelu(v), v)[0]).get_concrete_function(
        tf.TensorSpec([None], tf.float32)).graph
    # automatic differentiation keeps the forward tanh (erfc) for its gradient; here there is
    # one in the forward pass and one recomputed in the backward pass
    types = [op.type for op in graph.get_operations()]
    assert sum(t in ("Tanh", "Erfc") for t in types) == 2
    assert "TanhGrad" not in types


def test_mixed_precision_keeps_the_compute_dtype():
    import tensorflow as tf

    from wd_train.model.activation import feed_forward_activation

    for dtype in (tf.float16, tf.bfloat16):
        x = tf.constant(_values()[:64], dtype=dtype)
        with tf.GradientTape() as tape:
            tape.watch(x)
            y = feed_forward_activation("gelu_tanh")(x)
        assert y.dtype == dtype and tape.gradient(y, x).dtype == dtype
