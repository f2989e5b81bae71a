"""Heat maps: brought to the input's size and to [0, 1]."""

from __future__ import annotations

import numpy as np


def resize_linear(maps, size: tuple[int, ...]) -> np.ndarray:
    """Linear interpolation of a batch of maps ``(N, *spatial)`` to ``(N, *size)``, one
    axis after another (bilinear in 2-D, trilinear in 3-D), with half-pixel centres as
    ``keras.ops.image.resize`` places them; any number of spatial axes.

    Example:
        >>> resize_linear(np.array([[0.0, 1.0]]), (4,))
        array([[0.  , 0.25, 0.75, 1.  ]], dtype=float32)
        >>> resize_linear(np.ones((1, 2, 2)), (3, 5)).shape
        (1, 3, 5)
    """
    maps = np.asarray(maps, dtype="float32")
    if maps.ndim != len(size) + 1:
        raise ValueError(
            f"size must give one size per spatial axis of maps {maps.shape}; received "
            f"size={size!r}."
        )
    for axis, target in enumerate(size, start=1):
        source = maps.shape[axis]
        if source == target:
            continue
        positions = np.clip((np.arange(target) + 0.5) * source / target - 0.5, 0, source - 1)
        lower = np.floor(positions).astype(int)
        upper = np.minimum(lower + 1, source - 1)
        shape = [1] * maps.ndim
        shape[axis] = target
        weight = (positions - lower).reshape(shape).astype("float32")
        maps = np.take(maps, lower, axis) * (1 - weight) + np.take(maps, upper, axis) * weight
    return maps


def to_unit(maps: np.ndarray) -> np.ndarray:
    """Each map divided by its largest value, negatives cut to 0: in [0, 1], 1 where the
    evidence is strongest (a map without any, all zeros).

    Example:
        >>> to_unit(np.array([[-1.0, 1.0, 4.0], [0.0, 0.0, 0.0]]))
        array([[0.  , 0.25, 1.  ],
               [0.  , 0.  , 0.  ]], dtype=float32)
    """
    maps = np.maximum(np.asarray(maps, dtype="float32"), 0)
    peak = maps.reshape(len(maps), -1).max(axis=1).reshape((-1,) + (1,) * (maps.ndim - 1))
    return np.divide(maps, peak, out=np.zeros_like(maps), where=peak > 0)
