"""Local response normalization (AlexNet section 3.3), as a serializable layer."""

from __future__ import annotations

import keras
from keras import ops

from cnnzoo.checks import is_int


@keras.saving.register_keras_serializable(package="cnnzoo")
class LocalResponseNormalization(keras.layers.Layer):
    """Normalizes each activation by the energy of its neighbours across channels.

    ``b[c] = a[c] / (k + alpha * sum(a[c']**2 for c' in [c - n//2, c + n//2])) ** beta``,
    the formula of Krizhevsky et al. (2012), section 3.3, with their defaults ``n=5``,
    ``k=2``, ``alpha=1e-4``, ``beta=0.75``. The sum is over channels (the last axis), so the
    layer works on 1-D, 2-D and 3-D feature maps. This equals ``tf.nn.local_response_normalization``
    with ``depth_radius=n//2``; note that PyTorch's ``LocalResponseNorm`` divides ``alpha``
    by ``n`` and so needs ``alpha * n`` for the same result. GoogLeNet uses it too.

    Args:
        size: Number of channels in the window (odd), the paper's ``n``.
        alpha: Scale of the sum of squares.
        beta: Exponent.
        bias: The additive constant, the paper's ``k``.

    Example:
        >>> import numpy as np
        >>> layer = LocalResponseNormalization(size=3, alpha=1.0, beta=1.0, bias=1.0)
        >>> out = layer(np.array([[1.0, 2.0, 0.0]], "float32"))
        >>> [round(float(v), 4) for v in keras.ops.convert_to_numpy(out)[0]]
        [0.1667, 0.3333, 0.0]
    """

    def __init__(
        self, size: int = 5, alpha: float = 1e-4, beta: float = 0.75, bias: float = 2.0, **kwargs
    ):
        super().__init__(**kwargs)
        if not is_int(size) or size <= 0 or size % 2 == 0:
            raise ValueError(f"size must be a positive odd int; received size={size!r}.")
        self.size = size
        self.alpha = alpha
        self.beta = beta
        self.bias = bias

    def call(self, inputs):
        channels = inputs.shape[-1]
        radius = self.size // 2
        squares = ops.square(inputs)
        pad = [(0, 0)] * (len(inputs.shape) - 1) + [(radius, radius)]
        padded = ops.pad(squares, pad)
        window_sum = padded[..., 0:channels]
        for offset in range(1, self.size):
            window_sum = window_sum + padded[..., offset : offset + channels]
        return inputs / ops.power(self.bias + self.alpha * window_sum, self.beta)

    def compute_output_shape(self, input_shape):
        return input_shape

    def get_config(self):
        return {
            **super().get_config(),
            "size": self.size,
            "alpha": self.alpha,
            "beta": self.beta,
            "bias": self.bias,
        }
