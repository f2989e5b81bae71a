"""One process's share of a dataset in data-parallel training."""

from __future__ import annotations

from collections.abc import Sequence

from cnnzoo.checks import is_int


def check_shard(shard) -> tuple[int, int] | None:
    """``shard`` as ``(index, count)``, or a ``ValueError`` naming it."""
    if shard is None:
        return None
    valid = (
        isinstance(shard, Sequence) and len(shard) == 2
        and all(is_int(n) for n in shard)
        and 0 <= shard[0] < shard[1]
    )  # fmt: skip
    if not valid:
        raise ValueError(
            "shard must be None or (index, count) with 0 <= index < count, e.g. (1, 4) for "
            f"the second of four processes; received shard={shard!r}."
        )
    return tuple(shard)


def shard_sequences(sequences, shard: tuple[int, int] | None):
    """Share ``index`` of ``count`` of parallel sequences (images and labels, paths and
    class indices): every ``count``-th element from ``index``, cut to ``len // count``, so
    that every process gets as many elements and runs as many steps.

    Example:
        >>> import numpy as np
        >>> shard_sequences((np.arange(7), list("abcdefg")), (1, 2))
        (array([1, 3, 5]), ['b', 'd', 'f'])
    """
    shard = check_shard(shard)
    if shard is None:
        return sequences
    index, count = shard
    length = len(sequences[0]) // count
    return tuple(sequence[index::count][:length] for sequence in sequences)
