"""The Inception-style random resized crop (Szegedy et al. 2015), as a Keras layer."""

from __future__ import annotations

import math
from collections.abc import Sequence

import keras
from keras import ops

from cnnzoo.checks import is_int


def _range(argument, value, low, high=None):
    if (
        not isinstance(value, Sequence)
        or len(value) != 2
        or not all(isinstance(v, (int, float)) and not isinstance(v, bool) for v in value)
        or not low < value[0] <= value[1]
        or (high is not None and value[1] > high)
    ):
        bound = f"within ({low}, {high}]" if high is not None else f"above {low}"
        raise ValueError(
            f"{argument} must be (min, max) with min <= max, {bound}; "
            f"received {argument}={value!r}."
        )
    return (float(value[0]), float(value[1]))


@keras.saving.register_keras_serializable(package="cnnzoo")
class RandomResizedCrop(keras.layers.Layer):
    """Crops a random box of random area and aspect ratio, and resizes it to ``size``.

    In training each image gets its own box: an area fraction drawn from ``scale`` and an
    aspect ratio (width / height) drawn log-uniformly from ``ratio``, placed uniformly
    (the crop of GoogLeNet's section 6 and of Inception v3, torchvision's
    ``RandomResizedCrop``). A box that does not fit is shrunk to fit. Called directly it
    crops at random, like Keras' random layers. At inference (``training=False``) the
    layer takes the central ``center_crop`` fraction of each side and resizes it, which is
    the identity for the default ``center_crop=1.0`` when ``size`` is the input size.
    Bilinear interpolation; any channel count.

    Args:
        size: Output ``(height, width)``, or ``None`` for the input's size.
        scale: Range of the crop's area as a fraction of the image (0.08 to 1).
        ratio: Range of the crop's aspect ratio (3/4 to 4/3).
        center_crop: Fraction of each side kept at inference (0.875 is the common
            evaluation crop).
        seed: Seed of the random draws.

    Example:
        >>> import numpy as np
        >>> layer = RandomResizedCrop(size=(24, 24), seed=0)
        >>> tuple(layer(np.ones((2, 32, 32, 3), "float32")).shape)
        (2, 24, 24, 3)
        >>> images = np.random.default_rng(0).uniform(size=(1, 8, 8, 1)).astype("float32")
        >>> bool(np.allclose(RandomResizedCrop()(images, training=False), images, atol=1e-5))
        True
    """

    def __init__(
        self,
        size: Sequence[int] | None = None,
        scale: Sequence[float] = (0.08, 1.0),
        ratio: Sequence[float] = (3 / 4, 4 / 3),
        center_crop: float = 1.0,
        seed: int | None = None,
        **kwargs,
    ):
        super().__init__(**kwargs)
        if size is not None and (
            not isinstance(size, Sequence)
            or len(size) != 2
            or not all(is_int(s) and s > 0 for s in size)
        ):
            raise ValueError(
                f"size must be None or (height, width) of positive ints; received size={size!r}."
            )
        self.size = None if size is None else tuple(size)
        self.scale = _range("scale", scale, 0.0, 1.0)
        self.ratio = _range("ratio", ratio, 0.0)
        if (
            isinstance(center_crop, bool)
            or not isinstance(center_crop, (int, float))
            or not (0 < center_crop <= 1)
        ):
            raise ValueError(
                f"center_crop must be in (0, 1]; received center_crop={center_crop!r}."
            )
        self.center_crop = float(center_crop)
        self.seed = seed
        self.seed_generator = keras.random.SeedGenerator(seed)

    def build(self, input_shape):
        if len(input_shape) not in (3, 4):
            raise ValueError(
                "RandomResizedCrop needs images, (height, width, channels) or a batch of them; "
                f"received input shape {tuple(input_shape)}."
            )
        super().build(input_shape)

    def _boxes(self, batch, training):
        """Per image ``(height, width)`` of the box as fractions of the image, and its
        top-left corner as fractions too."""
        if not training:
            side = ops.full((batch,), self.center_crop)
            corner = ops.full((batch,), (1 - self.center_crop) / 2)
            return side, side, corner, corner
        draws = keras.random.uniform((batch, 4), seed=self.seed_generator)
        area = self.scale[0] + (self.scale[1] - self.scale[0]) * draws[:, 0]
        log_low, log_high = math.log(self.ratio[0]), math.log(self.ratio[1])
        aspect = ops.exp(log_low + (log_high - log_low) * draws[:, 1])
        # width * height = area and width / height = aspect, in fractions of the sides
        # (for a square image; on others the aspect is of the fractions, as timm's).
        height = ops.minimum(ops.sqrt(area / aspect), 1.0)
        width = ops.minimum(ops.sqrt(area * aspect), 1.0)
        top = (1 - height) * draws[:, 2]
        left = (1 - width) * draws[:, 3]
        return height, width, top, left

    def call(self, inputs, training=True):  # Keras' random layers' convention
        unbatched = len(inputs.shape) == 3
        images = ops.expand_dims(inputs, 0) if unbatched else inputs
        shape = ops.shape(images)
        batch = shape[0]
        rows, cols = ops.cast(shape[1], "float32"), ops.cast(shape[2], "float32")
        height, width, top, left = self._boxes(batch, training)
        # The affine map from output pixel (x, y) to input pixel: a zoom into the box, with
        # pixel centres at half-integers so that a central box stays centred.
        zeros = ops.zeros_like(height)
        x_offset = left * cols + 0.5 * width - 0.5
        y_offset = top * rows + 0.5 * height - 0.5
        transform = ops.stack(
            [width, zeros, x_offset, zeros, height, y_offset, zeros, zeros], axis=1
        )
        images = ops.image.affine_transform(
            ops.cast(images, "float32"),
            transform,
            interpolation="bilinear",
            fill_mode="nearest",
        )
        if self.size is not None and tuple(images.shape[1:3]) != self.size:
            images = ops.image.resize(images, self.size, interpolation="bilinear")
        images = ops.cast(images, inputs.dtype)
        return images[0] if unbatched else images

    def compute_output_shape(self, input_shape):
        if self.size is None:
            return input_shape
        return (*input_shape[:-3], *self.size, input_shape[-1])

    def get_config(self):
        return {
            **super().get_config(),
            "size": None if self.size is None else list(self.size),
            "scale": list(self.scale),
            "ratio": list(self.ratio),
            "center_crop": self.center_crop,
            "seed": self.seed,
        }
