"""Zero channels appended to a feature map: the parameter-free ResNet shortcut (option A)."""

from __future__ import annotations

import keras
from keras import ops

from cnnzoo.checks import is_int


@keras.saving.register_keras_serializable(package="cnnzoo")
class ChannelPadding(keras.layers.Layer):
    """Appends ``channels`` zero-valued channels (the last axis) to any channels-last input.

    He et al. (2015), section 3.3, option A: "the shortcut still performs identity mapping,
    with extra zero entries padded for increasing dimensions", which adds no parameter. The
    CIFAR-10 networks of section 4.2 use it.

    Args:
        channels: Number of zero channels to append.

    Example:
        >>> import numpy as np
        >>> y = ChannelPadding(2)(np.ones((1, 2, 2, 3), "float32"))
        >>> keras.ops.convert_to_numpy(y)[0, 0, 0].tolist()
        [1.0, 1.0, 1.0, 0.0, 0.0]
    """

    def __init__(self, channels: int, **kwargs):
        super().__init__(**kwargs)
        if not is_int(channels) or channels < 0:
            raise ValueError(f"channels must be an int >= 0; received channels={channels!r}.")
        self.channels = channels

    def call(self, inputs):
        pads = [(0, 0)] * (len(inputs.shape) - 1) + [(0, self.channels)]
        return ops.pad(inputs, pads)

    def compute_output_shape(self, input_shape):
        return (*input_shape[:-1], input_shape[-1] + self.channels)

    def get_config(self):
        return {**super().get_config(), "channels": self.channels}
