"""The data of a search: a data source by name, or arrays and datasets, with the counts of
channels and classes that a model for it needs."""

from __future__ import annotations

from pathlib import Path

import numpy as np
import tensorflow as tf


def channels_and_classes(data) -> tuple[int | None, int | None]:
    """Channels of the images and classes of the labels of numpy data or a dataset."""
    if isinstance(data, tf.data.Dataset):
        spec = data.element_spec
        image, label = (spec["image"], spec["label"]) if isinstance(spec, dict) else spec
        channels = image.shape[-1] if image.shape.rank in (3, 4) else 1
        if label.shape.rank >= 1 and label.shape[-1] is not None:  # one-hot
            return channels, label.shape[-1]
        labels = data.map(lambda *item: item[1]["label"] if isinstance(spec, dict) else item[1])
        return channels, int(max(np.max(batch) for batch in labels.as_numpy_iterator())) + 1
    images, labels = np.asarray(data[0]), np.asarray(data[1])
    channels = images.shape[-1] if images.ndim == 4 else 1
    classes = labels.shape[-1] if labels.ndim == 2 else int(labels.max()) + 1
    return channels, classes


def load_data(train, validation, seed: int):
    """``(train, validation, num_classes, channels, input_range)`` from a data source name
    or arrays/datasets."""
    if isinstance(train, (str, Path)):
        from cnnzoo.training.sources import load_run_data

        data = load_run_data(str(train), seed=seed, validation_split=0.2)
        channels, _ = channels_and_classes(data.train)
        validation = data.validation if validation is None else validation
        return data.train, validation, len(data.class_names), channels, data.input_range
    if isinstance(train, list):
        train = tuple(train)
    if not isinstance(train, (tuple, tf.data.Dataset)):
        raise ValueError(
            "train must be a data source ('mnist-sample', a folder, 'tfds:NAME'), (images, "
            f"labels) arrays or a tf.data.Dataset; received {type(train).__name__}."
        )
    if validation is None:
        raise ValueError("validation is needed: (images, labels) or a dataset to score trials on.")
    channels, classes = channels_and_classes(train)
    return train, validation, classes, channels, None
