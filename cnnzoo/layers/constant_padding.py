"""Padding with a constant other than zero: what PyTorch's ceil-mode max pooling reads
past the end of its input."""

from __future__ import annotations

import keras
from keras import ops

from cnnzoo.layers.arithmetic import explicit_padding

NEGATIVE_INFINITY = float("-inf")


@keras.saving.register_keras_serializable(package="cnnzoo")
class ConstantPadding(keras.layers.Layer):
    """Pads the spatial axes of a channels-last input with ``value``: ``ZeroPadding`` with
    another constant, for 1-D, 2-D and 3-D inputs.

    Keras pads only with zeros, which a max pooling may pick over negative inputs; padded
    with ``-inf`` (the default) the pooling sees only the real inputs, as PyTorch's does in
    ceil mode (see :func:`cnnzoo.layers.pool` with ``padding="ceil"``).

    Args:
        padding: One ``(before, after)`` pair (or one int) per spatial axis.
        value: The constant.

    Example:
        >>> import numpy as np
        >>> x = -np.ones((1, 2, 2, 1), "float32")
        >>> y = ConstantPadding(((0, 1), (0, 1)))(x)
        >>> keras.ops.convert_to_numpy(y)[0, :, :, 0].tolist()
        [[-1.0, -1.0, -inf], [-1.0, -1.0, -inf], [-inf, -inf, -inf]]
    """

    def __init__(self, padding, value: float = NEGATIVE_INFINITY, **kwargs):
        super().__init__(**kwargs)
        if not isinstance(padding, list | tuple) or not padding:
            raise ValueError(
                "padding must give one int or (before, after) pair per spatial axis; "
                f"received padding={padding!r}."
            )
        self.padding = explicit_padding(padding, len(padding))
        if not isinstance(value, int | float) or isinstance(value, bool):
            raise ValueError(f"value must be a number; received value={value!r}.")
        self.value = float(value)

    def call(self, inputs):
        pads = [(0, 0), *self.padding, (0, 0)]
        return ops.pad(inputs, pads, constant_values=self.value)

    def compute_output_shape(self, input_shape):
        spatial = [
            None if size is None else size + before + after
            for size, (before, after) in zip(input_shape[1:-1], self.padding, strict=True)
        ]
        return (input_shape[0], *spatial, input_shape[-1])

    def get_config(self):
        # JSON has no infinity; Python's json module writes and reads it as -Infinity.
        return {**super().get_config(), "padding": self.padding, "value": self.value}
