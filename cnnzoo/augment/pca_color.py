"""AlexNet's PCA colour augmentation (Krizhevsky et al. 2012, section 4.1)."""

from __future__ import annotations

from collections.abc import Iterable, Sequence

import keras
import numpy as np
from keras import ops

# The eigenvalues and eigenvectors (columns) of the RGB covariance of ImageNet pixels scaled
# to [0, 1], as published with fb.resnet.torch's "Lighting" transform and used by timm and
# torchvision-based training scripts.
IMAGENET_EIGENVALUES = (0.2175, 0.0188, 0.0045)
IMAGENET_EIGENVECTORS = (
    (-0.5675, 0.7192, 0.4009),
    (-0.5808, -0.0045, -0.8140),
    (-0.5836, -0.6948, 0.4203),
)


@keras.saving.register_keras_serializable(package="cnnzoo")
class PCAColorAugmentation(keras.layers.Layer):
    """Shifts each image's colour along the principal components of the RGB covariance.

    Krizhevsky et al. (2012), section 4.1: to every pixel of an image add
    ``sum_i alpha_i * lambda_i * p_i``, with ``p_i`` and ``lambda_i`` the eigenvectors and
    eigenvalues of the 3x3 covariance of RGB pixel values over the training set and
    ``alpha_i ~ N(0, alpha_std)`` drawn once per image. Lighting and colour cast change;
    the objects do not. The identity at inference (``training=False``, as in ``predict``);
    called directly it augments, like Keras' own random layers. Values are not clipped
    (as in the paper).

    The eigenpairs are those of pixels scaled to [0, 1]; the shift is multiplied by the
    width of ``value_range`` so that it applies to images in any range. The defaults are
    ImageNet's; :meth:`adapt` computes the user's own.

    Args:
        alpha_std: Standard deviation of the ``alpha_i`` (the paper's 0.1).
        value_range: ``(low, high)`` of the input values, ``(0, 255)`` by default.
        eigenvalues: Three eigenvalues; ImageNet's by default.
        eigenvectors: 3x3 matrix whose columns are the eigenvectors; ImageNet's by default.
        seed: Seed of the random draws.

    Example:
        >>> import numpy as np
        >>> layer = PCAColorAugmentation(seed=0)
        >>> images = np.full((2, 4, 4, 3), 128.0, "float32")
        >>> bool(np.array_equal(layer(images, training=False), images))  # inference
        True
        >>> shifted = keras.ops.convert_to_numpy(layer(images))  # called directly: augments
        >>> bool(np.allclose(shifted[0], shifted[0, 0, 0]))  # one RGB shift per image
        True
    """

    def __init__(
        self,
        alpha_std: float = 0.1,
        value_range: Sequence[float] = (0, 255),
        eigenvalues: Sequence[float] | None = None,
        eigenvectors: Sequence[Sequence[float]] | None = None,
        seed: int | None = None,
        **kwargs,
    ):
        super().__init__(**kwargs)
        if isinstance(alpha_std, bool) or not isinstance(alpha_std, (int, float)) or alpha_std < 0:
            raise ValueError(f"alpha_std must be a number >= 0; received alpha_std={alpha_std!r}.")
        if (
            not isinstance(value_range, Sequence)
            or len(value_range) != 2
            or not value_range[0] < value_range[1]
        ):
            raise ValueError(
                f"value_range must be (low, high) with low < high; received "
                f"value_range={value_range!r}."
            )
        values = np.asarray(IMAGENET_EIGENVALUES if eigenvalues is None else eigenvalues, float)
        vectors = np.asarray(IMAGENET_EIGENVECTORS if eigenvectors is None else eigenvectors, float)
        if values.shape != (3,) or vectors.shape != (3, 3):
            raise ValueError(
                "eigenvalues must be 3 numbers and eigenvectors a 3x3 matrix (one column per "
                f"eigenvector); received eigenvalues={eigenvalues!r}, "
                f"eigenvectors={eigenvectors!r}."
            )
        self.alpha_std = float(alpha_std)
        self.value_range = tuple(float(v) for v in value_range)
        self.eigenvalues = values
        self.eigenvectors = vectors
        self.seed = seed
        self.seed_generator = keras.random.SeedGenerator(seed)

    def build(self, input_shape):
        if input_shape[-1] != 3:
            raise ValueError(
                "PCAColorAugmentation shifts RGB colours and needs 3 channels; received input "
                f"shape {tuple(input_shape)}. Convert grayscale images to RGB first, or leave "
                "this augmentation out."
            )
        super().build(input_shape)

    def adapt(self, data: np.ndarray | Iterable) -> PCAColorAugmentation:
        """Sets the eigenpairs from the RGB covariance of ``data``, as the paper does with
        the training set.

        Args:
            data: Images with 3 channels in ``value_range``: an array, or an iterable of
                arrays or ``(images, labels)`` batches (a ``tf.data.Dataset``, for example).

        Returns:
            The layer itself.

        Example:
            >>> import numpy as np
            >>> rng = np.random.default_rng(0)
            >>> grey = rng.uniform(0, 255, size=(64, 8, 8, 1)).repeat(3, axis=-1)
            >>> layer = PCAColorAugmentation().adapt(grey)  # all variance along (1, 1, 1)
            >>> np.round(np.abs(layer.eigenvectors[:, 0]), 3).tolist()
            [0.577, 0.577, 0.577]
        """
        batches = [data] if isinstance(data, np.ndarray) else data
        low, high = self.value_range
        count, total, outer = 0, np.zeros(3), np.zeros((3, 3))
        for batch in batches:
            images = batch[0] if isinstance(batch, (tuple, list)) else batch
            pixels = np.asarray(images, float).reshape(-1, np.shape(images)[-1])
            if pixels.shape[-1] != 3:
                raise ValueError(
                    "adapt needs RGB images (3 channels); received images of shape "
                    f"{np.shape(images)}."
                )
            pixels = (pixels - low) / (high - low)
            count += len(pixels)
            total += pixels.sum(axis=0)
            outer += pixels.T @ pixels
        if count < 2:
            raise ValueError("adapt needs at least two pixels of data; received none or one.")
        mean = total / count
        covariance = (outer - count * np.outer(mean, mean)) / (count - 1)
        values, vectors = np.linalg.eigh(covariance)
        order = np.argsort(values)[::-1]
        self.eigenvalues = np.clip(values[order], 0.0, None)
        self.eigenvectors = vectors[:, order]
        return self

    def call(self, inputs, training=True):  # Keras' random layers' convention
        if not training or self.alpha_std == 0:
            return inputs
        batch_shape = ops.shape(inputs)[:-3] if len(inputs.shape) > 3 else ()
        alpha = keras.random.normal(
            (*batch_shape, 3), stddev=self.alpha_std, seed=self.seed_generator
        )
        eigenvalues = ops.convert_to_tensor(self.eigenvalues, dtype=inputs.dtype)
        eigenvectors = ops.convert_to_tensor(self.eigenvectors, dtype=inputs.dtype)
        width = self.value_range[1] - self.value_range[0]
        # (batch, 3): sum_i alpha_i * lambda_i * p_i, in the inputs' units.
        shift = ops.matmul(ops.cast(alpha, inputs.dtype) * eigenvalues, ops.transpose(eigenvectors))
        shift = ops.expand_dims(ops.expand_dims(shift * width, -2), -2)
        return inputs + shift

    def compute_output_shape(self, input_shape):
        return input_shape

    def get_config(self):
        return {
            **super().get_config(),
            "alpha_std": self.alpha_std,
            "value_range": list(self.value_range),
            "eigenvalues": self.eigenvalues.tolist(),
            "eigenvectors": self.eigenvectors.tolist(),
            "seed": self.seed,
        }
