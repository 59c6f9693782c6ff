"""Length-bucketed batches, padded to their own longest member.

Written by hand rather than with `tf.data.Dataset.bucket_by_sequence_length` because that needs
fixed bucket boundaries and its order depends on TF's runtime; here a NumPy generator seeded from
the config decides everything, so a batch order can be reproduced (and reasoned about) exactly.
Scheme ("sortish"): shuffle, cut into pools of `pool_batches` batches, sort each pool by length,
cut into batches, shuffle the batches. Padding stays small; batches stay random.
"""

from __future__ import annotations

import numpy as np

from .wordpieces import IGNORE, Window

POOL_BATCHES = 50  # batches per sorting pool: small padding, yet batches still random


def batch_indices(
    lengths: list[int] | np.ndarray,
    batch_size: int,
    rng: np.random.Generator | None,
    pool_batches: int = POOL_BATCHES,
) -> list[np.ndarray]:
    """Index arrays, one per batch. rng=None: no shuffling, sorted by length (evaluation)."""
    lengths = np.asarray(lengths)
    if rng is None:
        order = np.argsort(lengths, kind="stable")
        return [order[i : i + batch_size] for i in range(0, len(order), batch_size)]
    order = rng.permutation(len(lengths))
    pool = batch_size * pool_batches
    batches = []
    for start in range(0, len(order), pool):
        chunk = order[start : start + pool]
        chunk = chunk[np.argsort(lengths[chunk], kind="stable")]
        batches.extend(chunk[i : i + batch_size] for i in range(0, len(chunk), batch_size))
    return [batches[i] for i in rng.permutation(len(batches))]


def batches_per_epoch(num_windows: int, batch_size: int, pool_batches: int = POOL_BATCHES) -> int:
    """How many batches `batch_indices` makes (each pool may end in a partial batch)."""
    pool = batch_size * pool_batches
    full_pools, rest = divmod(num_windows, pool)
    return full_pools * pool_batches + -(-rest // batch_size)


def pad_batch(windows: list[Window], indices: np.ndarray, multiple_of: int = 1
              ) -> tuple[np.ndarray, ...]:
    """(token_ids, segment_ids, label_ids) padded to the batch's longest window, rounded up to
    a multiple of `multiple_of` (XLA compiles once per shape: few widths, few compilations).
    Token id 0 is [PAD], which keras_bert's embedding masks out of attention."""
    longest = max(len(windows[i].token_ids) for i in indices)
    width = -(-longest // multiple_of) * multiple_of
    tokens = np.zeros((len(indices), width), dtype=np.int32)
    labels = np.full((len(indices), width), IGNORE, dtype=np.int32)
    for row, index in enumerate(indices):
        window = windows[index]
        tokens[row, : len(window.token_ids)] = window.token_ids
        labels[row, : len(window.label_ids)] = window.label_ids
    return tokens, np.zeros_like(tokens), labels
