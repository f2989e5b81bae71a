"""Occlusion maps (Zeiler and Fergus 2014): what the class probability loses when a patch
of the image is hidden."""

from __future__ import annotations

import itertools

import keras
import numpy as np

from cnnzoo.explain.checks import check_class_index, check_images, num_classes, per_axis, predict
from cnnzoo.explain.graph import check_model, scoring_model
from cnnzoo.explain.maps import to_unit


def occlusion(
    model: keras.Model,
    images,
    *,
    patch: int | tuple[int, ...] | None = None,
    stride: int | tuple[int, ...] | None = None,
    class_index: int | list[int] | None = None,
    batch_size: int = 64,
) -> np.ndarray:
    """Occlusion maps: a patch of each image's mean colour slides over it, and each pixel
    gets the mean drop of the class probability over the patches that hid it.

    Needs no gradients (any backend, any layer), one forward pass per patch position:
    ``(size / stride)**2`` for a 2-D image.

    Args:
        model: A Keras model with one input.
        images: A batch ``(N, ...)`` of the model's input shape.
        patch: The patch's size, one int or one per spatial axis (default: an eighth of
            the input, at least 1).
        stride: Its step (default: half the patch, at least 1).
        class_index: The class to explain: one for every image or one per image
            (default: each image's predicted class).
        batch_size: Occluded copies per forward pass.

    Returns:
        ``(N, *spatial)`` float32 maps in [0, 1]; 0 where hiding the pixels did not lower
        the probability.

    Raises:
        ValueError: For a model with several inputs, images that do not fit it, a patch
            or stride that is not positive or larger than the input, or a class index out
            of range.

    Example:
        >>> import numpy as np
        >>> from cnnzoo import lenet5
        >>> model = lenet5(input_shape=(28, 28, 1), variant="modern")
        >>> images = np.random.default_rng(0).uniform(0, 1, (2, 28, 28, 1))
        >>> occlusion(model, images, patch=7, stride=7).shape
        (2, 28, 28)
    """
    check_model(model)
    x = check_images(model, images)
    spatial = tuple(int(size) for size in x.shape[1:-1])
    patch = per_axis("patch", patch, spatial, tuple(max(1, size // 8) for size in spatial))
    stride = per_axis("stride", stride, spatial, tuple(max(1, size // 2) for size in patch))
    classes = check_class_index(class_index, len(x), num_classes(model))
    if not isinstance(batch_size, int) or batch_size < 1:
        raise ValueError(f"batch_size must be a positive int; received batch_size={batch_size!r}.")
    scorer = scoring_model(model)
    probabilities = predict(scorer, x)
    if classes is None:
        classes = probabilities.argmax(axis=-1)
    windows = [
        tuple(slice(start, start + width) for start, width in zip(starts, patch, strict=True))
        for starts in itertools.product(*map(_starts, spatial, patch, stride))
    ]
    maps = []
    for image, label, base in zip(
        x, classes, probabilities[np.arange(len(x)), classes], strict=True
    ):
        fill = image.mean(axis=tuple(range(image.ndim - 1)))  # one value per channel
        occluded = np.repeat(image[None], len(windows), axis=0)
        for copy, window in zip(occluded, windows, strict=True):
            copy[window] = fill
        drops = base - predict(scorer, occluded, batch_size)[:, label]
        total, covered = np.zeros(spatial, "float32"), np.zeros(spatial, "float32")
        for drop, window in zip(drops, windows, strict=True):
            total[window] += drop
            covered[window] += 1
        maps.append(total / np.maximum(covered, 1))
    return to_unit(np.stack(maps))


def _starts(size: int, width: int, step: int) -> list[int]:
    """Where the patch starts along one axis: every ``step``, and flush with the end."""
    starts = list(range(0, size - width + 1, step))
    return starts if starts[-1] == size - width else [*starts, size - width]
