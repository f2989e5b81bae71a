"""Per-image tensor conversions shared by the folder reader and the pipeline: channels,
resizing policies and value ranges. Everything here runs inside ``tf.data``."""

from __future__ import annotations

from collections.abc import Sequence

import tensorflow as tf

from cnnzoo.checks import check_choice, is_int

# ITU-R BT.601 luma, the weights of PIL's convert("L") and OpenCV's RGB2GRAY.
LUMA_WEIGHTS = (0.299, 0.587, 0.114)

RESIZE_POLICIES = ("stretch", "crop", "pad")

# target channels -> source channel counts it can be made from. An alpha channel is dropped
# (not composited), as tf.io.decode_image and keras' loaders do.
CONVERTIBLE = {1: (1, 2, 3, 4), 2: (2,), 3: (1, 2, 3, 4), 4: (4,)}


def check_channels(channels, argument: str = "channels", allow_none: bool = True) -> None:
    """Raises a ``ValueError`` unless ``channels`` is 1, 2, 3 or 4 (or ``None`` if allowed)."""
    if channels is None and allow_none:
        return
    if isinstance(channels, bool) or channels not in CONVERTIBLE:
        raise ValueError(f"{argument} must be 1, 2, 3 or 4; received {argument}={channels!r}.")


def can_convert(source: int, target: int) -> bool:
    """Whether images with ``source`` channels can be turned into ``target`` channels.

    Example:
        >>> can_convert(1, 3), can_convert(3, 1), can_convert(3, 4)
        (True, True, False)
    """
    return source in CONVERTIBLE.get(target, ())


def convert_channels(image: tf.Tensor, channels: int) -> tf.Tensor:
    """Converts a float image (or batch), channels last, to ``channels`` channels.

    Grayscale becomes RGB by repeating it; RGB becomes grayscale with the BT.601 luma
    weights (0.299, 0.587, 0.114); an alpha channel is dropped. Works with a static or a
    dynamic channel count (``tf.io.decode_image`` gives a dynamic one).

    Args:
        image: Float tensor ``(..., height, width, source_channels)``.
        channels: 1, 2, 3 or 4.

    Returns:
        The image with ``channels`` channels.

    Raises:
        ValueError: When a static channel count cannot be converted (RGB to RGBA, say).

    Example:
        >>> red = tf.constant([[[255.0, 0.0, 0.0]]])
        >>> round(float(convert_channels(red, 1)[0, 0, 0]), 3)  # 0.299 * 255
        76.245
    """
    check_channels(channels, allow_none=False)
    source = image.shape[-1]
    if source is not None:
        if not can_convert(source, channels):
            raise ValueError(
                f"Cannot convert images with {source} channels to {channels} channels; "
                f"possible sources for {channels}: {CONVERTIBLE[channels]}."
            )
        return _convert(image, source, channels)
    # Branch i handles i source channels; the default (more than 4) fails at run time.
    branches = [
        (lambda source=source: _convert(image, source, channels))
        if can_convert(source, channels)
        else (lambda: _unconvertible(image, channels))
        for source in range(5)
    ]
    return tf.switch_case(
        tf.shape(image)[-1], branches, default=lambda: _unconvertible(image, channels)
    )


def _convert(image: tf.Tensor, source: int, channels: int) -> tf.Tensor:
    if source in (2, 4) and channels != source:
        image = image[..., : source - 1]  # drop the alpha channel
        source -= 1
    if source == channels:
        return tf.ensure_shape(image, [*image.shape[:-1], channels])
    if channels == 1:  # from RGB
        weights = tf.constant(LUMA_WEIGHTS, image.dtype)
        return tf.reduce_sum(image[..., :3] * weights, axis=-1, keepdims=True)
    return tf.repeat(image[..., :1], 3, axis=-1)  # grayscale to RGB


def _unconvertible(image: tf.Tensor, channels: int) -> tf.Tensor:
    message = f"cannot convert an image to {channels} channels; it has"
    check = tf.debugging.Assert(False, [message, tf.shape(image)[-1], "channels"])
    with tf.control_dependencies([check]):
        return tf.zeros(tf.concat([tf.shape(image)[:-1], [channels]], 0), image.dtype)


def check_resize(resize, argument: str = "resize") -> None:
    """Raises a ``ValueError`` unless ``resize`` names one of :data:`RESIZE_POLICIES`."""
    check_choice(argument, resize, RESIZE_POLICIES)


def check_image_size(image_size, argument: str = "image_size") -> tuple[int, int] | None:
    """``None``, an int (square) or ``(height, width)`` of positive ints, as a tuple."""
    if image_size is None:
        return None
    if is_int(image_size):
        image_size = (image_size, image_size)
    if (
        isinstance(image_size, Sequence)
        and len(image_size) == 2
        and all(is_int(n) and n > 0 for n in image_size)
    ):
        return tuple(image_size)
    raise ValueError(
        f"{argument} must be None, a positive int or (height, width); "
        f"received {argument}={image_size!r}."
    )


def resize_images(
    images: tf.Tensor,
    size: tuple[int, int],
    resize: str = "stretch",
    interpolation: str = "bilinear",
) -> tf.Tensor:
    """Resizes a float image (or batch), channels last, to ``size`` with a policy.

    ``"stretch"`` resizes and lets the aspect ratio change; ``"crop"`` takes the largest
    central box of the target aspect ratio, then resizes (keras' ``crop_to_aspect_ratio``);
    ``"pad"`` resizes to fit inside ``size`` and pads the rest with zeros (keras'
    ``pad_to_aspect_ratio``). Each gives the images ``keras.utils.image_dataset_from_directory``
    gives with the same options (tests/test_data_folder.py checks it); TensorFlow ops
    only, so it runs in ``tf.data`` under any Keras backend.

    Args:
        images: ``(height, width, channels)`` or ``(batch, height, width, channels)``.
        size: ``(height, width)``.
        resize: ``"stretch"``, ``"crop"`` or ``"pad"``.
        interpolation: ``tf.image.resize`` method (``"bilinear"``, ``"nearest"``,
            ``"bicubic"``, ``"area"``, ``"lanczos3"``, ...).

    Returns:
        The resized images.

    Example:
        >>> image = tf.ones((16, 32, 3))
        >>> [tuple(resize_images(image, (8, 8), policy).shape) for policy in RESIZE_POLICIES]
        [(8, 8, 3), (8, 8, 3), (8, 8, 3)]
    """
    check_resize(resize)
    if resize == "pad":
        return tf.image.resize_with_pad(images, *size, method=interpolation)
    if resize == "crop":
        shape = tf.shape(images)
        height, width = shape[-3], shape[-2]
        # The central box of the target aspect ratio, rounded as keras' smart_resize does.
        box_height = tf.clip_by_value(width * size[0] // size[1], 1, height)
        box_width = tf.clip_by_value(height * size[1] // size[0], 1, width)
        top, left = (height - box_height) // 2, (width - box_width) // 2
        images = images[..., top : top + box_height, left : left + box_width, :]
    return tf.image.resize(images, size, method=interpolation)


def check_range(value_range, argument: str) -> tuple[float, float]:
    """``(low, high)`` with ``low < high``, as floats."""
    if (
        isinstance(value_range, Sequence)
        and not isinstance(value_range, str)
        and len(value_range) == 2
        and all(isinstance(v, (int, float)) and not isinstance(v, bool) for v in value_range)
        and value_range[0] < value_range[1]
    ):
        return float(value_range[0]), float(value_range[1])
    raise ValueError(
        f"{argument} must be (low, high) with low < high; received {argument}={value_range!r}."
    )


def rescale(
    images: tf.Tensor, input_range: tuple[float, float], value_range: tuple[float, float]
) -> tf.Tensor:
    """Maps float ``images`` linearly from ``input_range`` to ``value_range``.

    Example:
        >>> [float(v) for v in rescale(tf.constant([0.0, 255.0]), (0, 255), (-1, 1))]
        [-1.0, 1.0]
    """
    (low, high), (new_low, new_high) = input_range, value_range
    if (low, high) == (new_low, new_high):
        return images
    scale = (new_high - new_low) / (high - low)
    return (images - low) * scale + new_low
