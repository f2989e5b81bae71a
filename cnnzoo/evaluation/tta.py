"""Test-time augmentation: the model's probabilities averaged over several views of each
image (Krizhevsky et al. 2012 averaged ten: five crops and their mirror images).

- ``flip``: the image and its horizontal mirror;
- ``crops``: the centre crop and the four corner crops, each ``crop`` of the height and
  width (0.875, the ratio of 224 to 256 of the ImageNet evaluations), resized back to the
  model's input size (bilinear).
"""

from __future__ import annotations

import numpy as np

from cnnzoo.checks import check_choice

TTA_MODES = ("flip", "crops")
CROP_FRACTION = 0.875


def tta_views(images, mode: str, *, crop: float = CROP_FRACTION) -> list[np.ndarray]:
    """The views of a batch that ``mode`` averages over, each the batch's shape.

    The views are made from the model's inputs: a mirror image and a bilinear resize both
    commute with per-channel normalization, so preprocessed inputs give the same views as
    raw pixels preprocessed afterwards.

    Args:
        images: A batch ``(n, height, width, channels)``.
        mode: One of :data:`TTA_MODES`.
        crop: The share of the height and width that a crop keeps, in (0, 1].

    Returns:
        A list of arrays: the batch first, then its other views.

    Raises:
        ValueError: For another ``mode``, a ``crop`` outside (0, 1] or images of another
            rank.

    Example:
        >>> batch = np.arange(16, dtype="float32").reshape(1, 4, 4, 1)
        >>> [view[0, 0, :, 0].tolist() for view in tta_views(batch, "flip")]
        [[0.0, 1.0, 2.0, 3.0], [3.0, 2.0, 1.0, 0.0]]
        >>> len(tta_views(batch, "crops", crop=0.5))
        5
    """
    check_choice("mode", mode, TTA_MODES)
    batch = np.asarray(images, dtype="float32")
    if batch.ndim != 4:
        raise ValueError(
            "images must be a batch (n, height, width, channels) for test-time augmentation; "
            f"received shape {batch.shape}."
        )
    if mode == "flip":
        return [batch, batch[:, :, ::-1, :]]
    if not isinstance(crop, (int, float)) or not 0 < crop <= 1:
        raise ValueError(f"crop must be a number in (0, 1]; received crop={crop!r}.")
    height, width = batch.shape[1:3]
    size = (max(1, round(height * crop)), max(1, round(width * crop)))
    tops = (0, height - size[0])
    lefts = (0, width - size[1])
    centre = ((height - size[0]) // 2, (width - size[1]) // 2)
    corners = [centre, *((top, left) for top in tops for left in lefts)]
    return [_resize(batch[:, t : t + size[0], s : s + size[1]], (height, width))
            for t, s in corners]  # fmt: skip


def test_time_augmentation(model, images, mode: str, *, crop: float = CROP_FRACTION):
    """The mean of ``model``'s probabilities over the :func:`tta_views` of a batch.

    Args:
        model: A ``keras.Model`` (or any callable with ``predict_on_batch``) that gives
            probabilities.
        images: A batch ``(n, height, width, channels)`` as the model takes it.
        mode: ``"flip"`` or ``"crops"``.
        crop: The share of the height and width each crop keeps (``crops`` only).

    Returns:
        A float32 array ``(n, classes)``: averaged probabilities (still summing to 1).

    Raises:
        ValueError: As :func:`tta_views`.

    Example:
        >>> import keras
        >>> inputs = keras.Input((8, 8, 1))
        >>> pooled = keras.layers.GlobalAveragePooling2D()(inputs)  # blind to a mirror image
        >>> model = keras.Model(inputs, keras.layers.Dense(2, activation="softmax")(pooled))
        >>> batch = np.random.default_rng(0).uniform(0, 1, (3, 8, 8, 1))
        >>> plain = model.predict_on_batch(batch)
        >>> bool(np.allclose(test_time_augmentation(model, batch, "flip"), plain, atol=1e-6))
        True
    """
    views = tta_views(images, mode, crop=crop)
    total = sum(np.asarray(model.predict_on_batch(view), dtype="float64") for view in views)
    return (total / len(views)).astype("float32")


# pytest would collect the function above as a test: its name starts with "test".
test_time_augmentation.__test__ = False


def _resize(batch: np.ndarray, size: tuple[int, int]) -> np.ndarray:
    import keras

    resized = keras.ops.image.resize(batch, size, interpolation="bilinear", antialias=False)
    return np.asarray(keras.ops.convert_to_numpy(resized), dtype="float32")
