"""A linear-chain CRF over words, and Viterbi decoding (also constrained to valid tag sequences).

Written here because no maintained CRF exists for TensorFlow 2.21 + tf-keras:
tensorflow-addons (`tfa.text.crf_*`) reached end of life and pins older TensorFlow, and
keras-contrib's CRF layer is unmaintained and Keras-1/2 era. It is small: the forward algorithm
for the log-partition, the gold path's score, and Viterbi, each a `tf.scan` over word
positions.

The tagger scores word pieces; the CRF runs over words: each word's first piece (where the
label is not IGNORE), moved left so that a window's words are consecutive (`pack_words`) for
training. Decoding runs over whole sentences, stitched from their windows (model/decoding.py).
[CLS], [SEP], other pieces and padding take no part.
"""

from __future__ import annotations

# A transition the tag scheme forbids gets this score (not −inf, which makes 0 · inf = NaN in
# the recursions' gradients); far below any learned or log-probability score.
FORBIDDEN = -1e4


def crf_layer_class():
    """The Keras layer that owns the CRF's parameters: transitions[i, j] (tag i followed by tag
    j), and start and end scores. It passes the emissions through unchanged, so it sits at the
    end of the functional model (its weights are trained, saved and reloaded with the model's);
    the loss and the decoder read its weights."""
    import tensorflow as tf

    class CRF(tf.keras.layers.Layer):
        def __init__(self, num_tags: int, **kwargs):
            super().__init__(**kwargs)
            self.num_tags = num_tags

        def build(self, input_shape):
            init = tf.keras.initializers.Zeros()
            self.transitions = self.add_weight(
                name="transitions", shape=(self.num_tags, self.num_tags), initializer=init,
                dtype="float32")
            self.start = self.add_weight(name="start", shape=(self.num_tags,),
                                         initializer=init, dtype="float32")
            self.end = self.add_weight(name="end", shape=(self.num_tags,), initializer=init,
                                       dtype="float32")
            super().build(input_shape)

        def call(self, emissions):
            return emissions

        def get_config(self):
            return {**super().get_config(), "num_tags": self.num_tags}

    return CRF


def _words_first(word_mask):
    """Per row, the positions reordered: word positions first, then the others, each in order."""
    import tensorflow as tf

    width = tf.shape(word_mask)[1]
    positions = tf.range(width)[None, :]
    return tf.argsort(tf.where(word_mask, positions, positions + width), axis=1, stable=True)


def pack_words(values, word_mask):
    """values [B, T] or [B, T, C] with the word positions (word_mask [B, T]) moved left, in
    order: [B, T, ...] (zeros past each row's words), and each row's word count [B].

    A stable sort of the positions rather than a ragged tensor: the shapes stay static, so XLA
    compiles it, and the recursions always have T ≥ 2 positions ([CLS] and [SEP]) to scan,
    whatever the words (in a graph TensorFlow cannot stack an empty scan)."""
    import tensorflow as tf

    width = tf.shape(word_mask)[1]
    order = _words_first(word_mask)
    lengths = tf.reduce_sum(tf.cast(word_mask, tf.int32), axis=1)
    inside = tf.sequence_mask(lengths, width)
    packed = tf.gather(values, order, batch_dims=1)
    if values.shape.rank == 3:
        inside = inside[:, :, None]
    return tf.where(inside, packed, tf.zeros_like(packed)), lengths


def sequence_score(emissions, tags, lengths, transitions, start, end):
    """Score of the tag sequences `tags` [B, W] (only the first `lengths` count)."""
    import tensorflow as tf

    mask = tf.sequence_mask(lengths, tf.shape(tags)[1], dtype=emissions.dtype)
    emitted = tf.reduce_sum(tf.gather(emissions, tags, batch_dims=2) * mask, axis=1)
    pairs = tf.gather_nd(transitions, tf.stack([tags[:, :-1], tags[:, 1:]], axis=-1))
    moved = tf.reduce_sum(pairs * mask[:, 1:], axis=1)
    last = tf.gather(tags, tf.maximum(lengths - 1, 0), batch_dims=1)
    has_words = tf.cast(lengths > 0, emissions.dtype)
    return (emitted + moved + (tf.gather(start, tags[:, 0]) + tf.gather(end, last)) * has_words)


def log_partition(emissions, lengths, transitions, start, end):
    """log Σ over every tag sequence of exp(score): the forward algorithm. Rows without words
    give 0."""
    import tensorflow as tf

    steps = tf.shape(emissions)[1]
    alpha0 = start[None, :] + emissions[:, 0]
    time_major = tf.transpose(emissions, [1, 0, 2])[1:]
    positions = tf.range(1, steps)

    def forward(alpha, step):
        emission, position = step
        scores = alpha[:, :, None] + transitions[None] + emission[:, None, :]
        moved = tf.reduce_logsumexp(scores, axis=1)
        inside = (position < lengths)[:, None]
        return tf.where(inside, moved, alpha)

    alphas = tf.scan(forward, (time_major, positions), initializer=alpha0)
    alpha = tf.cond(tf.shape(alphas)[0] > 0, lambda: alphas[-1], lambda: alpha0)
    total = tf.reduce_logsumexp(alpha + end[None], axis=1)
    return tf.where(lengths > 0, total, tf.zeros_like(total))


def crf_negative_log_likelihood(emissions, tags, lengths, transitions, start, end):
    """−log p(tags | emissions) per row [B]: log Z − score(tags)."""
    return (log_partition(emissions, lengths, transitions, start, end)
            - sequence_score(emissions, tags, lengths, transitions, start, end))


def viterbi_decode(emissions, lengths, transitions, start, end):
    """The best-scoring tag sequence per row [B, W] (zeros past each row's length)."""
    import tensorflow as tf

    width = tf.shape(emissions)[1]
    # ≥ 2 positions, whatever the rows: in a graph TensorFlow cannot stack the empty scan that
    # one-word rows would leave
    emissions = tf.pad(emissions, [[0, 0], [0, tf.maximum(0, 2 - width)], [0, 0]])
    steps = tf.shape(emissions)[1]
    num_tags = tf.shape(emissions)[2]
    best0 = start[None, :] + emissions[:, 0]
    time_major = tf.transpose(emissions, [1, 0, 2])[1:]
    positions = tf.range(1, steps)
    identity = tf.broadcast_to(tf.range(num_tags)[None], tf.shape(best0))

    def forward(carry, step):
        best, _ = carry
        emission, position = step
        scores = best[:, :, None] + transitions[None]  # [B, from, to]
        pointer = tf.argmax(scores, axis=1, output_type=tf.int32)
        moved = tf.reduce_max(scores, axis=1) + emission
        inside = (position < lengths)[:, None]
        # past the end: stay, pointing every tag at itself
        return tf.where(inside, moved, best), tf.where(inside, pointer, identity)

    bests, pointers = tf.scan(forward, (time_major, positions),
                              initializer=(best0, identity))
    final = tf.cond(tf.shape(bests)[0] > 0, lambda: bests[-1], lambda: best0)
    last_tag = tf.argmax(final + end[None], axis=1, output_type=tf.int32)

    def backward(tag, pointer):
        return tf.gather(pointer, tag, batch_dims=1)

    # walk the pointers back from the last position; position 0's tag comes out last
    earlier = tf.scan(backward, pointers, initializer=last_tag, reverse=True)  # [W-1, B]
    path = tf.concat([tf.transpose(earlier), last_tag[:, None]], axis=1)
    return tf.where(tf.sequence_mask(lengths, steps), path, tf.zeros_like(path))[:, :width]


def allowed_transitions(labels: list[str], scheme: str):
    """(transitions [C, C], start [C], end [C]) as 0 where the tag scheme allows it and
    FORBIDDEN where not: IOB2 forbids I-X except after B-X or I-X (and at the start); BIOES
    also requires B-X/I-X to be followed by I-X or E-X, and E-X/S-X/O by a B, S or O."""
    import numpy as np

    def split(label: str) -> tuple[str, str | None]:
        return (label[0], label[2:]) if label != "O" and "-" in label else ("O", None)

    parts = [split(label) for label in labels]
    size = len(labels)
    transitions = np.zeros((size, size), np.float32)
    start = np.zeros(size, np.float32)
    end = np.zeros(size, np.float32)
    for j, (prefix_j, type_j) in enumerate(parts):
        if scheme == "bioes":
            if prefix_j in ("I", "E"):
                start[j] = FORBIDDEN
            for i, (prefix_i, type_i) in enumerate(parts):
                continues = prefix_j in ("I", "E")
                if prefix_i in ("B", "I"):  # inside an entity: it must go on (same type)
                    allowed = continues and type_j == type_i
                else:  # outside: only B, S or O
                    allowed = not continues
                if not allowed:
                    transitions[i, j] = FORBIDDEN
            if prefix_j in ("B", "I"):
                end[j] = FORBIDDEN
        else:  # iob2 (iob1 data is converted to iob2 on reading)
            if prefix_j == "I":
                start[j] = FORBIDDEN
                for i, (prefix_i, type_i) in enumerate(parts):
                    if not (prefix_i in ("B", "I") and type_i == type_j):
                        transitions[i, j] = FORBIDDEN
    return transitions, start, end
