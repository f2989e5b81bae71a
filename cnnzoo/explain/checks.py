"""The explanations' argument checks, made before anything is computed."""

from __future__ import annotations

from collections.abc import Sequence

import keras
import numpy as np
from keras import ops, tree

from cnnzoo.checks import is_int


def check_images(model: keras.Model, images) -> np.ndarray:
    """``images`` as a float32 batch that ``model`` takes.

    Raises:
        ValueError: For anything but a non-empty batch of the model's input shape.
    """
    expected = tuple(model.input_shape[1:])
    try:
        array = np.asarray(images, dtype="float32")
    except (TypeError, ValueError):
        array = None
    if array is not None and array.ndim == len(expected) + 1 and len(array):
        sizes = zip(expected, array.shape[1:], strict=True)
        if all(size in (None, given) for size, given in sizes):
            return array
    shape = np.shape(images) if array is not None else type(images).__name__
    one = " (one image: images[None])" if array is not None and array.ndim == len(expected) else ""
    raise ValueError(
        f"images must be a batch of the model's input, (N, {', '.join(map(str, expected))}); "
        f"received images of shape {shape}{one}."
    )


def num_classes(model: keras.Model) -> int:
    return int(model.outputs[-1].shape[-1])


def check_class_index(class_index, count: int, classes: int) -> np.ndarray | None:
    """``class_index`` as one class per image (``None``: each image's predicted class).

    Example:
        >>> check_class_index(2, 3, 10)
        array([2, 2, 2])
        >>> try:
        ...     check_class_index([1, 10], 2, 10)
        ... except ValueError as error:
        ...     print(error)
        class_index must be None, a class index in [0, 10) or one per image (2 images); received class_index=[1, 10].
    """  # noqa: E501
    if class_index is None:
        return None
    values = list(class_index) if isinstance(class_index, Sequence | np.ndarray) else None
    if (values is None and is_int(class_index)) or isinstance(class_index, np.integer):
        values = [int(class_index)] * count
    if (
        values is None
        or len(values) != count
        or not all((is_int(v) or isinstance(v, np.integer)) and 0 <= v < classes for v in values)
    ):
        raise ValueError(
            f"class_index must be None, a class index in [0, {classes}) or one per image "
            f"({count} images); received class_index={class_index!r}."
        )
    return np.asarray(values, dtype="int64")


def per_axis(argument: str, value, sizes: tuple[int, ...], default: tuple[int, ...]):
    """A window size or step per spatial axis: ``None`` (``default``), one positive int for
    every axis, or one per axis; none larger than the input.

    Example:
        >>> per_axis("patch", 4, (28, 28), (3, 3))
        (4, 4)
        >>> try:
        ...     per_axis("patch", (4, 40), (28, 28), (3, 3))
        ... except ValueError as error:
        ...     print(error)
        patch must be a positive int or one per spatial axis (2), at most the input's (28, 28); received patch=(4, 40).
    """  # noqa: E501
    if value is None:
        return default
    values = (value,) * len(sizes) if is_int(value) else value
    if (
        not isinstance(values, Sequence)
        or len(values) != len(sizes)
        or not all(
            is_int(item) and 0 < item <= size for item, size in zip(values, sizes, strict=True)
        )
    ):
        raise ValueError(
            f"{argument} must be a positive int or one per spatial axis ({len(sizes)}), at "
            f"most the input's {sizes}; received {argument}={value!r}."
        )
    return tuple(values)


def check_count(argument: str, value) -> int:
    """A non-negative int (a number of samples)."""
    if not is_int(value) or value < 0:
        raise ValueError(f"{argument} must be an int >= 0; received {argument}={value!r}.")
    return value


def check_fraction(argument: str, value) -> float:
    """A number in (0, 1]."""
    if isinstance(value, bool) or not isinstance(value, int | float) or not 0 < value <= 1:
        raise ValueError(f"{argument} must be a number in (0, 1]; received {argument}={value!r}.")
    return float(value)


def predict(model: keras.Model, images: np.ndarray, batch_size: int = 64) -> np.ndarray:
    """The first output of a list-in, list-out model on ``images``, in inference mode."""
    batches = [
        ops.convert_to_numpy(tree.flatten(model([images[i : i + batch_size]], training=False))[0])
        for i in range(0, len(images), batch_size)
    ]
    return np.concatenate(batches)
