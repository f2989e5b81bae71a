"""Keras layer classes by spatial rank, so one spec table builds 1-D, 2-D and 3-D networks."""

from __future__ import annotations

import keras

_LAYERS = {
    "conv": (keras.layers.Conv1D, keras.layers.Conv2D, keras.layers.Conv3D),
    "max_pool": (keras.layers.MaxPooling1D, keras.layers.MaxPooling2D, keras.layers.MaxPooling3D),
    "avg_pool": (
        keras.layers.AveragePooling1D,
        keras.layers.AveragePooling2D,
        keras.layers.AveragePooling3D,
    ),
    "zero_pad": (
        keras.layers.ZeroPadding1D,
        keras.layers.ZeroPadding2D,
        keras.layers.ZeroPadding3D,
    ),
    "global_avg_pool": (
        keras.layers.GlobalAveragePooling1D,
        keras.layers.GlobalAveragePooling2D,
        keras.layers.GlobalAveragePooling3D,
    ),
    "global_max_pool": (
        keras.layers.GlobalMaxPooling1D,
        keras.layers.GlobalMaxPooling2D,
        keras.layers.GlobalMaxPooling3D,
    ),
}


def spatial_rank(x) -> int:
    """Number of spatial axes of a channels-last tensor (batch and channels excluded)."""
    return len(x.shape) - 2


def layer_class(kind: str, rank: int) -> type[keras.layers.Layer]:
    """The Keras layer class of ``kind`` for ``rank`` spatial axes (1, 2 or 3).

    Example:
        >>> layer_class("max_pool", 3).__name__
        'MaxPooling3D'
    """
    return _LAYERS[kind][rank - 1]
