"""The tagging objective and the decoder of each head: the training loss (masked softmax
cross-entropy, or the CRF's negative log-likelihood over words) and the tags predicted from
the logits (arg-max, or Viterbi: the CRF's, or constrained to the tag scheme's valid
sequences). Shared by the training loop, evaluation, `predict` and `export`."""

from __future__ import annotations

from .crf import (
    allowed_transitions,
    crf_negative_log_likelihood,
    pack_words,
    viterbi_decode,
)

CRF_LAYER = "NER-CRF"


def crf_layer(model):
    """The model's CRF layer, or None for a softmax head."""
    try:
        return model.get_layer(CRF_LAYER)
    except ValueError:
        return None


def softmax_loss_sum(labels, logits):
    """Cross-entropy summed over the words' first pieces (labels < 0 are masked out), and the
    number of those words."""
    import tensorflow as tf

    mask = labels >= 0
    safe_labels = tf.where(mask, labels, tf.zeros_like(labels))
    losses = tf.keras.losses.sparse_categorical_crossentropy(
        safe_labels, logits, from_logits=True
    )
    weights = tf.cast(mask, losses.dtype)
    return tf.reduce_sum(losses * weights), tf.reduce_sum(weights)


def loss_sum_function(model):
    """(labels, logits) → (summed loss, words) for the model's head. The CRF's loss is each
    window's −log p(gold tags) over its words, summed: on the scale of the softmax head's
    summed per-word cross-entropy, so both are divided by the same word counts."""
    crf = crf_layer(model)
    if crf is None:
        return softmax_loss_sum

    def crf_loss_sum(labels, logits):
        import tensorflow as tf

        mask = labels >= 0
        emissions, lengths = pack_words(logits, mask)
        tags, _ = pack_words(labels, mask)
        nll = crf_negative_log_likelihood(emissions, tags, lengths, crf.transitions,
                                          crf.start, crf.end)
        return tf.reduce_sum(nll), tf.reduce_sum(tf.cast(mask, logits.dtype))

    return crf_loss_sum


def scheme_constraints(labels: list[str], scheme: str):
    """What constrained decoding adds to the transition, start and end scores."""
    return allowed_transitions(labels, scheme)


def piece_outputs_function(model, constraints=None):
    """logits [B, T, C] → what decoding needs from each piece of a window: its tag id [B, T]
    when arg-max decodes (a softmax head without constraints: every word on its own), else its
    per-tag scores [B, T, C] in float32 for `sentence_decoder`: the CRF's emissions, or the
    softmax's log-probabilities."""
    import tensorflow as tf

    crf = crf_layer(model)
    if crf is None and constraints is None:
        return lambda logits: tf.argmax(logits, axis=-1, output_type=tf.int32)
    if crf is None:
        return lambda logits: tf.nn.log_softmax(tf.cast(logits, tf.float32), axis=-1)
    return lambda logits: tf.cast(logits, tf.float32)


def sentence_decoder(model, constraints=None):
    """(scores [S, W, C], lengths [S]) → tag ids [S, W]: Viterbi over whole sentences, with the
    CRF's learned scores and/or the scheme's `constraints`; None when arg-max decodes.

    It runs over sentences, not windows. A long sentence's windows are cut by piece count, even
    inside an entity; decoded window by window, the scheme's start constraint would force a B-X
    onto the first word after the cut (one entity read as two) and nothing would stop an I-X
    from following an O across it. Over the stitched sentence the constraints hold everywhere
    and the CRF's transitions score the cut like any other pair of words."""
    import tensorflow as tf

    crf = crf_layer(model)
    if crf is None and constraints is None:
        return None

    def decode(scores, lengths):
        if crf is None:
            num_tags = tf.shape(scores)[-1]
            transitions = tf.zeros([num_tags, num_tags])
            start = end = tf.zeros([num_tags])
        else:
            transitions, start, end = crf.transitions, crf.start, crf.end
        if constraints is not None:
            transitions = transitions + constraints[0]
            start = start + constraints[1]
            end = end + constraints[2]
        return viterbi_decode(scores, lengths, transitions, start, end)

    return decode
