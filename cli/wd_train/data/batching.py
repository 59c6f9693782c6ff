"""Length-bucketed batches, padded to their own longest member.

Written by hand rather than with `tf.data.Dataset.bucket_by_sequence_length` because that needs
fixed bucket boundaries and its order depends on TF's runtime; here a NumPy generator seeded from
the config decides everything, so a batch order can be reproduced (and reasoned about) exactly.
Scheme ("sortish"): shuffle, cut into pools of `pool_batches` batches, sort each pool by length,
cut into batches, shuffle the batches. Padding stays small; batches stay random.

XLA compiles once per batch shape, so under XLA a batch is padded further, to one of a few
widths: multiples of `data.pad_to_multiple_of`, or (`data.length_buckets`) widths chosen from the
run's own batches by `choose_length_buckets` to waste the least padding.
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass

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


@dataclass(frozen=True)
class Padding:
    """The width a batch is padded to: the smallest of `lengths` that holds its longest window,
    else that window's length rounded up to a multiple of `multiple_of`."""

    multiple_of: int = 1
    lengths: tuple[int, ...] = ()  # ascending

    def width(self, longest: int) -> int:
        for length in self.lengths:
            if length >= longest:
                return length
        return -(-longest // self.multiple_of) * self.multiple_of


def pad_batch(windows: list[Window], indices: np.ndarray, padding: Padding | int = 1
              ) -> tuple[np.ndarray, ...]:
    """(token_ids, segment_ids, label_ids) padded to the batch's longest window, widened as
    `padding` says (an int: to a multiple of it; XLA compiles once per shape: few widths, few
    compilations). Token id 0 is [PAD], which keras_bert's embedding masks out of attention."""
    if not isinstance(padding, Padding):
        padding = Padding(padding)
    longest = max(len(windows[i].token_ids) for i in indices)
    width = padding.width(longest)
    tokens = np.zeros((len(indices), width), dtype=np.int32)
    labels = np.full((len(indices), width), IGNORE, dtype=np.int32)
    for row, index in enumerate(indices):
        window = windows[index]
        tokens[row, : len(window.token_ids)] = window.token_ids
        labels[row, : len(window.label_ids)] = window.label_ids
    return tokens, np.zeros_like(tokens), labels


def choose_length_buckets(widths: Sequence[int], rows: Sequence[int] | None = None,
                          max_buckets: int = 8) -> tuple[int, ...]:
    """At most `max_buckets` padded widths for batches whose longest windows are `widths`
    (with `rows` rows each; default 1) that minimise the padded tokens: an exact dynamic
    programme over the distinct widths (a bucket's best upper end is always one of them, and
    the largest is always one, so every batch fits)."""
    widths = np.asarray(widths, dtype=np.int64)
    rows = np.ones_like(widths) if rows is None else np.asarray(rows, dtype=np.int64)
    distinct, where = np.unique(widths, return_inverse=True)
    weight = np.bincount(where, weights=rows).astype(np.float64)
    count, buckets = len(distinct), min(max_buckets, len(distinct))
    before = np.concatenate([[0.0], np.cumsum(weight)])  # rows at widths below index i
    # cost[j][b]: least padded tokens covering distinct[:b + 1] with j + 1 buckets, the last
    # ending at distinct[b]; start[j][b]: where that last bucket begins
    cost = np.full((buckets, count), np.inf)
    start = np.zeros((buckets, count), dtype=np.int64)
    cost[0] = distinct * before[1:]
    for j in range(1, buckets):
        for b in range(j, count):
            # last bucket distinct[a..b], the ones before cover distinct[:a] (a >= j)
            a = np.arange(j, b + 1)
            total = cost[j - 1][a - 1] + distinct[b] * (before[b + 1] - before[a])
            best = int(np.argmin(total))
            cost[j][b], start[j][b] = total[best], a[best]
    j = int(np.argmin(cost[:, -1]))
    chosen, b = [], count - 1
    while j >= 0:
        chosen.append(int(distinct[b]))
        b, j = int(start[j][b]) - 1, j - 1
    return tuple(sorted(chosen))


def padding_efficiency(lengths: Sequence[int], batches: Sequence[np.ndarray],
                       padding: Padding | int = 1) -> float:
    """Real tokens / padded tokens of `batches` (index arrays into `lengths`) under `padding`."""
    if not isinstance(padding, Padding):
        padding = Padding(padding)
    lengths = np.asarray(lengths)
    real = padded = 0
    for indices in batches:
        batch = lengths[indices]
        real += int(batch.sum())
        padded += len(batch) * padding.width(int(batch.max()))
    return real / max(padded, 1)


def run_batches(lengths: Sequence[int], batch_size: int, seed: int, epochs: int,
                pool_batches: int = POOL_BATCHES) -> list[np.ndarray]:
    """Every batch a run trains on, epoch after epoch: what `fit` draws from its seeded sampler."""
    rng = np.random.default_rng(seed)
    lengths = np.asarray(lengths)
    return [indices for _ in range(epochs)
            for indices in batch_indices(lengths, batch_size, rng, pool_batches)]
