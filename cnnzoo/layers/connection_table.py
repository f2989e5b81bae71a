"""A convolution in which each output map reads only some input maps (LeNet-5's layer C3)."""

from __future__ import annotations

from collections.abc import Sequence

import keras
import numpy as np
from keras import ops

from cnnzoo.layers.arithmetic import as_tuple, output_size


@keras.saving.register_keras_serializable(package="cnnzoo")
class ConnectionTableConv(keras.layers.Layer):
    """Convolution with a sparse input-to-output connection table.

    LeCun et al. (1998) connect each of C3's 16 maps to a subset of S2's 6 maps (the paper's
    Table I) "to keep the number of connections within reasonable bounds" and to break
    symmetry. Only the connected kernels are weights, so C3 has the paper's 1,516 parameters
    rather than the 2,416 of a full convolution. Works for 1-D, 2-D and 3-D inputs.

    Args:
        filters: Number of output maps; must equal ``len(connection_table)``.
        kernel_size: Tuple with one size per spatial axis.
        connection_table: For output map ``j``, the indices of the input maps it reads.
        strides: Tuple with one stride per spatial axis.
        padding: ``"valid"`` or ``"same"``.
        dilation_rate: Tuple with one rate per spatial axis.
        use_bias: Whether each output map has a bias.
        kernel_initializer: Initializer of the connected kernels.
        kernel_regularizer: Regularizer of the connected kernels.

    Example:
        >>> import numpy as np
        >>> layer = ConnectionTableConv(2, (3, 3), connection_table=[[0], [0, 1]])
        >>> tuple(layer(np.ones((1, 5, 5, 2), "float32")).shape)
        (1, 3, 3, 2)
        >>> layer.count_params()  # (1 + 2) kernels of 3x3, plus 2 biases
        29
    """

    def __init__(
        self,
        filters: int,
        kernel_size: Sequence[int],
        *,
        connection_table: Sequence[Sequence[int]],
        strides: Sequence[int] | int = 1,
        padding: str = "valid",
        dilation_rate: Sequence[int] | int = 1,
        use_bias: bool = True,
        kernel_initializer="glorot_uniform",
        kernel_regularizer=None,
        **kwargs,
    ):
        super().__init__(**kwargs)
        table = [list(inputs) for inputs in connection_table]
        if len(table) != filters or any(len(inputs) == 0 for inputs in table):
            raise ValueError(
                f"connection_table must list a non-empty set of input maps for each of the "
                f"{filters} filters; received {len(table)} entries: {connection_table!r}."
            )
        self.filters = filters
        self.kernel_size = tuple(kernel_size)
        self.connection_table = table
        self.strides = strides
        self.padding = padding
        self.dilation_rate = dilation_rate
        self.use_bias = use_bias
        self.kernel_initializer = keras.initializers.get(kernel_initializer)
        self.kernel_regularizer = keras.regularizers.get(kernel_regularizer)

    def build(self, input_shape):
        in_channels = input_shape[-1]
        pairs = [(i, j) for j, inputs in enumerate(self.connection_table) for i in inputs]
        if any(not 0 <= i < in_channels for i, _ in pairs) or len(set(pairs)) != len(pairs):
            raise ValueError(
                f"connection_table indices must be distinct and in [0, {in_channels}) for "
                f"{in_channels} input maps; received {self.connection_table!r}."
            )
        self.kernel = self.add_weight(
            name="kernel",
            shape=(*self.kernel_size, len(pairs)),
            initializer=self.kernel_initializer,
            regularizer=self.kernel_regularizer,
        )
        if self.use_bias:
            self.bias = self.add_weight(name="bias", shape=(self.filters,), initializer="zeros")
        # For every (input, output) slot of a dense kernel: which connected kernel fills it,
        # or the extra all-zero slot (index len(pairs)) where the table has no connection.
        index = np.full((in_channels, self.filters), len(pairs), dtype="int32")
        for position, (i, j) in enumerate(pairs):
            index[i, j] = position
        self._gather_index = index.reshape(-1)
        self._in_channels = in_channels

    def call(self, inputs):
        zeros = ops.zeros((*self.kernel_size, 1), dtype=self.kernel.dtype)
        padded = ops.concatenate([self.kernel, zeros], axis=-1)
        dense = ops.take(padded, self._gather_index, axis=-1)
        dense = ops.reshape(dense, (*self.kernel_size, self._in_channels, self.filters))
        outputs = ops.conv(
            inputs,
            ops.cast(dense, inputs.dtype),
            strides=self.strides,
            padding=self.padding,
            dilation_rate=self.dilation_rate,
        )
        if self.use_bias:
            outputs = outputs + ops.cast(self.bias, outputs.dtype)
        return outputs

    def compute_output_shape(self, input_shape):
        rank = len(self.kernel_size)
        strides = as_tuple(self.strides, rank, "strides")
        dilation = as_tuple(self.dilation_rate, rank, "dilation_rate")
        spatial = [
            None if n is None else output_size(n, k, s, self.padding, d)
            for n, k, s, d in zip(
                input_shape[1:-1], self.kernel_size, strides, dilation, strict=True
            )
        ]
        return (input_shape[0], *spatial, self.filters)

    def get_config(self):
        return {
            **super().get_config(),
            "filters": self.filters,
            "kernel_size": self.kernel_size,
            "connection_table": self.connection_table,
            "strides": self.strides,
            "padding": self.padding,
            "dilation_rate": self.dilation_rate,
            "use_bias": self.use_bias,
            "kernel_initializer": keras.initializers.serialize(self.kernel_initializer),
            "kernel_regularizer": keras.regularizers.serialize(self.kernel_regularizer),
        }
