"""The attention-dropout shim on a tiny keras_bert model (no hidden dropout, so any difference
between training and inference comes from the attention probabilities)."""

import numpy as np


def tiny_bert():
    import tensorflow as tf
    from keras_bert import get_model

    inputs, output = get_model(token_num=40, pos_num=16, seq_len=None, embed_dim=16,
                               transformer_num=2, head_num=2, feed_forward_dim=32,
                               dropout_rate=0.0, training=False, trainable=True)
    return tf.keras.Model(inputs, output)


def outputs(model, training):
    import tensorflow as tf

    tokens = np.array([[2, 5, 7, 9, 3, 0], [2, 11, 3, 0, 0, 0]], np.int32)
    segments = np.zeros_like(tokens)

    @tf.function
    def forward(a, b):
        return model([a, b], training=training)

    return forward(tokens, segments).numpy()


def test_attention_dropout_acts_only_while_training_and_only_where_set():
    import tensorflow as tf

    from wd_train.model.attention import set_attention_dropout

    tf.keras.utils.set_random_seed(3)
    plain, dropped = tiny_bert(), tiny_bert()
    dropped.set_weights(plain.get_weights())
    reference = outputs(plain, training=False)
    assert set_attention_dropout(dropped, 0.5) == 2  # one attention layer per transformer block
    # rate 0 (the other model, same process): keras_bert's computation, unchanged
    np.testing.assert_allclose(outputs(plain, training=True), reference, atol=1e-6)
    np.testing.assert_allclose(outputs(dropped, training=False), reference, atol=1e-6)
    assert np.abs(outputs(dropped, training=True) - reference).max() > 1e-3
    # a model without keras_bert attention: nothing set, which build_tagger refuses
    dense = tf.keras.Sequential([tf.keras.Input((3,)), tf.keras.layers.Dense(2)])
    assert set_attention_dropout(dense, 0.1) == 0
