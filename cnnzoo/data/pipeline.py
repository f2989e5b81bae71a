"""One input pipeline from any ``(image, label)`` source to what a model takes: resize,
channels, value range, cache, shuffle, batch, augment, MixUp or CutMix, prefetch."""

from __future__ import annotations

from collections.abc import Sequence

import keras
import numpy as np
import tensorflow as tf

from cnnzoo.augment import make_augmentation
from cnnzoo.checks import check_positive_int, is_int
from cnnzoo.data.images import (
    check_range,
    check_resize,
    convert_channels,
    rescale,
    resize_images,
)

MIXES = ("mixup", "cutmix")
# A shuffle buffer of ``shuffle=True`` holds the whole dataset when its images (at the
# model's size, float32) fit in this many bytes, else at least 1,024 of them.
SHUFFLE_BYTES = 256 * 2**20
_MIN_SHUFFLE = 1024
# Integer images are taken to span their dtype's range; float images span (0, 255), the
# convention of keras' image loaders and of from_folder.
_DTYPE_RANGES = {tf.uint8: (0, 255), tf.uint16: (0, 65535)}


def pipeline(
    data,
    model_or_input_shape,
    *,
    training: bool = True,
    batch_size: int | None = 32,
    augment=None,
    augment_strength: float = 1.0,
    shuffle: bool | int | None = None,
    cache: bool | str = False,
    value_range: Sequence[float] | None = (0, 255),
    input_range: Sequence[float] | None = None,
    resize: str = "stretch",
    interpolation: str = "bilinear",
    mix=None,
    num_classes: int | None = None,
    one_hot: bool | None = None,
    seed: int | None = None,
    drop_remainder: bool = False,
    prefetch: bool = True,
) -> tf.data.Dataset:
    """Turns ``(image, label)`` data into the batches a model trains or evaluates on.

    In order: every image is cast to ``float32``, converted to the model's channels
    (grayscale to RGB by repeating, RGB to grayscale with the BT.601 luma weights, alpha
    dropped), resized to its spatial size and mapped from ``input_range`` to
    ``value_range``; then the dataset is cached, shuffled, batched, augmented and mixed
    (MixUp or CutMix) in training only, and prefetched.

    Value ranges: cnnzoo models take raw pixel values in [0, 255], as keras.applications'
    caffe-mode networks do, so ``value_range=(0, 255)`` is the default; ``(0, 1)`` or
    ``(-1, 1)`` suit models trained that way, and ``None`` leaves values as they are. (A
    network without normalization layers starts with outputs 255 times larger than from
    [0, 1]: see the training-runs guide's "Pixel values".) The input range
    defaults to the dtype's (``uint8``: [0, 255]); float images are taken to be in
    [0, 255] as keras' loaders give them, so pass ``input_range=(0, 1)`` for images
    already scaled (``load_sample`` gives those).

    Args:
        data: A ``tf.data.Dataset`` of ``(image, label)`` (batched or not: a rank-4 image
            means batched; batches are undone and redone at ``batch_size``), of images
            only, or of TFDS-style dicts with ``"image"`` and ``"label"``; or numpy
            ``(images, labels)`` or images alone. Channels last; ``(N, H, W)`` arrays get a
            channel axis.
        model_or_input_shape: A Keras model (its input shape and, for one-hot labels, its
            output size are used) or an input shape ``(height, width, channels)``; a
            ``None`` entry keeps that property of the images.
        training: Training pipeline (shuffle by default, augment, mix) or evaluation
            pipeline (neither).
        batch_size: Batch size; ``None`` leaves single images (no mixing then).
        augment: ``None``, a preset name (``"standard"``, ...), a Keras layer or a list of
            layers; see :func:`cnnzoo.augment.make_augmentation`. Training only.
        augment_strength: Multiplier of a preset's magnitudes.
        shuffle: ``None`` shuffles in training only; ``True`` shuffles with a buffer of
            the whole dataset when it fits in 256 MiB, else of 1,024 images; an int is the
            buffer size; ``False`` keeps the order.
        cache: ``True`` caches the converted images in memory, a string in that file;
            augmentation still differs every epoch.
        value_range: ``(low, high)`` the model expects, or ``None`` for no scaling.
        input_range: ``(low, high)`` of the incoming pixels; ``None`` infers it (above).
        resize: ``"stretch"``, ``"crop"`` or ``"pad"``; see :func:`cnnzoo.data.from_folder`.
        interpolation: Resizing interpolation.
        mix: ``None``, ``"mixup"``, ``"cutmix"`` or a configured ``keras.layers.MixUp`` /
            ``keras.layers.CutMix``. Labels become soft one-hot vectors. Training only.
        num_classes: Classes, for one-hot labels; defaults to the model's output size.
        one_hot: One-hot labels; ``None`` means when ``mix`` is given, so that training
            and evaluation pipelines made with the same arguments agree.
        seed: Seed of the shuffle, the augmentation preset and the mixing. With a seed
            the random steps run one batch at a time, so that two runs are identical.
            Layers passed in keep their own seeds and random state (which advances with
            every batch), so pass a preset name or new layers to repeat a run.
        drop_remainder: Drop the last, smaller batch.
        prefetch: Prefetch batches (``tf.data.AUTOTUNE``).

    Returns:
        A ``tf.data.Dataset`` of ``(images, labels)`` (images alone for image-only data).

    Raises:
        ValueError: For bad arguments, images whose channels cannot be converted (RGB for
            an RGBA model), or one-hot labels without a class count.

    Example:
        >>> images = np.zeros((10, 28, 28), "uint8")
        >>> labels = np.arange(10) % 3
        >>> ds = pipeline((images, labels), (32, 32, 3), batch_size=4, mix="mixup",
        ...               num_classes=3, seed=0)
        >>> [tuple(t.shape) for t in ds.element_spec]
        [(None, 32, 32, 3), (None, 3)]
    """
    height, width, channels = _target_shape(model_or_input_shape)
    check_resize(resize)
    value_range = None if value_range is None else check_range(value_range, "value_range")
    if input_range is not None:
        input_range = check_range(input_range, "input_range")
    check_positive_int("batch_size", batch_size, allow_none=True)
    if not isinstance(cache, (bool, str)):
        raise ValueError(f"cache must be a bool or a file name; received cache={cache!r}.")
    mix_layer = _mix_layer(mix, None if seed is None else seed + 2)
    if mix_layer is not None and batch_size is None:
        raise ValueError(f"mix needs batches; received batch_size=None with mix={mix!r}.")
    one_hot, num_classes = _label_encoding(mix, one_hot, num_classes, model_or_input_shape)

    dataset, has_labels = _unbatched(data)
    if mix_layer is not None and not has_labels:
        raise ValueError(f"mix needs labels; the data has images only (mix={mix!r}).")
    image_spec = dataset.element_spec[0] if has_labels else dataset.element_spec
    channels = _image_channels(image_spec, channels)
    if input_range is None:
        input_range = _DTYPE_RANGES.get(image_spec.dtype, (0.0, 255.0))
    static_size = tuple(image_spec.shape[:2])
    convert = _converter(
        static_size, (height, width, channels), resize, interpolation, input_range, value_range
    )
    encode = _encoder(one_hot, num_classes)

    autotune = tf.data.AUTOTUNE
    if has_labels:
        dataset = dataset.map(lambda x, y: (convert(x), encode(y)), num_parallel_calls=autotune)
    else:
        dataset = dataset.map(convert, num_parallel_calls=autotune)
    if cache:
        dataset = dataset.cache() if cache is True else dataset.cache(cache)
    element = (height or static_size[0] or 224, width or static_size[1] or 224, channels)
    buffer = _shuffle_buffer(shuffle, training, dataset, element)
    if buffer:
        dataset = dataset.shuffle(buffer, seed=seed, reshuffle_each_iteration=True)
    if batch_size is not None:
        dataset = dataset.batch(batch_size, drop_remainder=drop_remainder)
    # Validated in evaluation too, so that both pipelines fail alike on a bad preset.
    layer = make_augmentation(
        augment,
        strength=augment_strength,
        seed=None if seed is None else seed + 1,  # streams apart from the shuffle's
        channels=channels,
        value_range=value_range or input_range,
    )
    if training:
        dataset = _random_steps(dataset, layer, mix_layer, has_labels, seeded=seed is not None)
    if prefetch:
        dataset = dataset.prefetch(autotune)
    return dataset


def _label_encoding(mix, one_hot, num_classes, model_or_input_shape):
    """Whether the labels become one-hot, and their class count."""
    one_hot = mix is not None if one_hot is None else one_hot
    if one_hot and num_classes is None:
        num_classes = _output_size(model_or_input_shape)
    if one_hot and (not is_int(num_classes) or num_classes < 2):
        raise ValueError(
            "One-hot labels (needed by mix) need num_classes, an int >= 2, or a model with "
            f"one output; received num_classes={num_classes!r}."
        )
    return one_hot, num_classes


def _image_channels(image_spec, channels) -> int:
    channels = channels or image_spec.shape[-1]
    if channels is None:
        raise ValueError(
            "The images' channel count is not known; give model_or_input_shape a channel "
            "count (for example (224, 224, 3))."
        )
    if image_spec.shape[-1] is not None:
        convert_channels(tf.zeros((1, 1, image_spec.shape[-1])), channels)  # fails early
    return channels


def _converter(static_size, shape, resize, interpolation, input_range, value_range):
    """The step from one image of the data to one of the model's ``shape``."""
    height, width, channels = shape
    size = (height, width)
    needs_resize = None not in size and static_size != size

    def convert(image):
        image = convert_channels(tf.cast(image, tf.float32), channels)
        if needs_resize:
            image = resize_images(image, size, resize, interpolation)
        if value_range is not None:
            image = rescale(image, input_range, value_range)
        return tf.ensure_shape(image, shape)

    return convert


def _encoder(one_hot, num_classes):
    def encode(label):
        if not one_hot or (label.shape.rank == 1 and label.shape[0] == num_classes):
            return label if not one_hot else tf.cast(label, tf.float32)
        return tf.one_hot(tf.cast(label, tf.int32), num_classes)

    return encode


def _random_steps(dataset, layer, mix_layer, has_labels: bool, seeded: bool):
    """Augmentation, then MixUp or CutMix, on batches (or single images)."""
    # Keras' random layers keep their seed state in a variable; parallel calls would take
    # turns at it in any order, so a seeded pipeline runs them one batch at a time.
    calls = None if seeded else tf.data.AUTOTUNE
    if layer is not None and has_labels:
        dataset = dataset.map(lambda x, y: (layer(x, training=True), y), num_parallel_calls=calls)
    elif layer is not None:
        dataset = dataset.map(lambda x: layer(x, training=True), num_parallel_calls=calls)
    if mix_layer is not None:
        dataset = dataset.map(lambda x, y: _mixed(mix_layer, x, y), num_parallel_calls=calls)
    return dataset


def _target_shape(model_or_input_shape) -> tuple:
    if isinstance(model_or_input_shape, keras.Model):
        model = model_or_input_shape
        if len(model.inputs) != 1:
            raise ValueError(
                f"model_or_input_shape must be a model with one input; {model.name!r} has "
                f"{len(model.inputs)}."
            )
        shape = tuple(model.inputs[0].shape[1:])
    else:
        shape = model_or_input_shape
    if (
        isinstance(shape, Sequence)
        and len(shape) == 3
        and all(n is None or (isinstance(n, int) and n > 0) for n in shape)
        and shape[2] in (None, 1, 2, 3, 4)
    ):
        return tuple(shape)
    raise ValueError(
        "model_or_input_shape must be a Keras model or (height, width, channels) with "
        f"1 to 4 channels; received model_or_input_shape={model_or_input_shape!r}."
    )


def _output_size(model_or_input_shape) -> int | None:
    if isinstance(model_or_input_shape, keras.Model) and len(model_or_input_shape.outputs) == 1:
        return model_or_input_shape.outputs[0].shape[-1]
    return None


def _mix_layer(mix, seed):
    if mix is None:
        return None
    if isinstance(mix, (keras.layers.MixUp, keras.layers.CutMix)):
        return mix
    if mix == "mixup":
        return keras.layers.MixUp(seed=seed)
    if mix == "cutmix":
        return keras.layers.CutMix(seed=seed)
    raise ValueError(
        f"mix must be None, 'mixup', 'cutmix' or a keras.layers.MixUp / CutMix layer; "
        f"received mix={mix!r}."
    )


def _mixed(layer, images, labels):
    mixed = layer({"images": images, "labels": labels}, training=True)
    return mixed["images"], mixed["labels"]


def _unbatched(data) -> tuple[tf.data.Dataset, bool]:
    """The data as a dataset of single ``(image, label)`` pairs (or images), channels last."""
    if isinstance(data, tf.data.Dataset):
        dataset = data
    elif isinstance(data, np.ndarray):
        dataset = tf.data.Dataset.from_tensor_slices(_with_channel_axis(data))
    elif isinstance(data, (tuple, list)) and len(data) == 2:
        images, labels = np.asarray(data[0]), np.asarray(data[1])
        if len(images) != len(labels):
            raise ValueError(
                f"data must hold as many labels as images; received {len(images)} images "
                f"and {len(labels)} labels."
            )
        dataset = tf.data.Dataset.from_tensor_slices((_with_channel_axis(images), labels))
    else:
        raise ValueError(
            "data must be a tf.data.Dataset, numpy (images, labels) or numpy images; "
            f"received data of type {type(data).__name__}."
        )
    spec = dataset.element_spec
    if isinstance(spec, dict) and {"image", "label"} <= set(spec):  # TFDS feature dicts
        dataset = dataset.map(lambda features: (features["image"], features["label"]))
        spec = dataset.element_spec
    if isinstance(spec, tuple) and len(spec) == 2:
        has_labels = True
        rank = spec[0].shape.rank
    elif isinstance(spec, tf.TensorSpec):
        has_labels = False
        rank = spec.shape.rank
    else:
        raise ValueError(
            f"data must give (image, label) pairs or images; received a dataset of {spec!r}."
        )
    if rank == 4:
        dataset = dataset.unbatch()
        if hasattr(data, "file_paths"):  # from_folder: keep the size known, so that Keras
            # knows the epoch's length from the first epoch on
            dataset = dataset.apply(tf.data.experimental.assert_cardinality(len(data.file_paths)))
    elif rank == 2:  # one grayscale image without a channel axis
        if has_labels:
            dataset = dataset.map(lambda x, y: (x[..., None], y))
        else:
            dataset = dataset.map(lambda x: x[..., None])
    elif rank == 3 and (spec[0] if has_labels else spec).shape[-1] not in (None, 1, 2, 3, 4):
        raise ValueError(
            "Images of rank 3 are read as (height, width, channels), but these have "
            f"{(spec[0] if has_labels else spec).shape[-1]} channels: for batches of "
            "grayscale images (N, H, W), add a channel axis first, for example "
            "ds.map(lambda x, y: (x[..., None], y))."
        )
    elif rank != 3:
        raise ValueError(
            f"Images must have rank 2 (H, W), 3 (H, W, C) or 4 (batches); received rank "
            f"{rank} in {spec!r}."
        )
    return dataset, has_labels


def _with_channel_axis(images: np.ndarray) -> np.ndarray:
    return images[..., None] if images.ndim == 3 else images


def _shuffle_buffer(shuffle, training: bool, dataset: tf.data.Dataset, shape) -> int:
    if shuffle is None:
        shuffle = training
    if shuffle is False:
        return 0
    if shuffle is True:
        elements = int(dataset.cardinality())
        budget = max(_MIN_SHUFFLE, SHUFFLE_BYTES // (4 * int(np.prod(shape))))
        return min(elements, budget) if elements > 0 else budget
    if isinstance(shuffle, int) and shuffle > 0:
        return shuffle
    raise ValueError(
        f"shuffle must be None, a bool or a positive buffer size; received shuffle={shuffle!r}."
    )
