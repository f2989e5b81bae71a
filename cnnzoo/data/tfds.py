"""TensorFlow Datasets as supervised ``(image, label)`` data with class names, and a clear
error when the data has not been prepared on this machine."""

from __future__ import annotations

import difflib
from pathlib import Path
from typing import Any, NamedTuple

import tensorflow as tf


class DatasetNotPreparedError(ValueError):
    """The TFDS dataset is not on disk and was not (or could not be) downloaded."""


class TFDSData(NamedTuple):
    """``dataset`` (a tuple of datasets when ``split`` is a list), class names, TFDS info."""

    dataset: tf.data.Dataset | tuple[tf.data.Dataset, ...]
    class_names: tuple[str, ...] | None
    info: Any


def from_tfds(
    name: str,
    *,
    split: str | list[str] = "train",
    data_dir: str | Path | None = None,
    download: bool = False,
    as_supervised: bool = True,
    shuffle_files: bool = False,
    read_config=None,
) -> TFDSData:
    """Loads a TensorFlow Datasets image dataset: ``(image, label)`` pairs and class names.

    A thin layer over ``tfds.builder(...).as_dataset(...)``: images come as TFDS stores them
    (``uint8``, their own size; :func:`cnnzoo.data.pipeline` resizes and scales), labels as
    ``int64`` class indices, unbatched. Nothing is downloaded unless ``download=True``.

    Args:
        name: TFDS name, optionally with config and version (``"mnist"``,
            ``"cifar10:3.0.2"``).
        split: A split (``"train"``, ``"test[:10%]"``) or a list of them.
        data_dir: Where TFDS keeps prepared data; ``None`` is TFDS' default
            (``$TFDS_DATA_DIR`` or ``~/tensorflow_datasets``).
        download: Download and prepare the data when it is missing (needs a network).
        as_supervised: ``(image, label)`` tuples; ``False`` gives TFDS' feature dicts.
        shuffle_files: Shuffle the order of the dataset's files.
        read_config: A ``tfds.ReadConfig`` (seed, parallel reads, ...).

    Returns:
        ``TFDSData(dataset, class_names, info)``; ``class_names`` comes from the label
        feature (``info.features["label"].names``), ``None`` when it has no names.

    Raises:
        DatasetNotPreparedError: (a ``ValueError``) when the data is not prepared in
            ``data_dir`` and ``download=False``, or the download fails; the message says
            where TFDS looked and how to prepare it.
        ValueError: For an unknown dataset name (with close matches) or version.

    Example:
        >>> import tensorflow_datasets as tfds
        >>> with tfds.testing.mock_data(num_examples=4):  # fake data, the real metadata
        ...     data = from_tfds("mnist")
        ...     image, label = next(iter(data.dataset))
        >>> tuple(image.shape), image.dtype.name, data.class_names[:3]
        ((28, 28, 1), 'uint8', ('0', '1', '2'))
    """
    import tensorflow_datasets as tfds  # imported here: it takes a while to import

    data_dir = None if data_dir is None else str(data_dir)
    try:
        builder = tfds.builder(name, data_dir=data_dir)
    except tfds.core.registered.DatasetNotFoundError:
        raise ValueError(_unknown_name_message(tfds, name)) from None
    except AssertionError as error:  # TFDS asserts versions and configs
        raise ValueError(f"Cannot load TFDS dataset {name!r}: {error}") from None
    if download:
        try:
            builder.download_and_prepare()
        except (OSError, AssertionError, tfds.download.DownloadError) as error:
            raise DatasetNotPreparedError(
                f"TFDS dataset {name!r} could not be downloaded and prepared into "
                f"{builder.data_dir}: {error}\n{_how_to_prepare(name, data_dir)}"
            ) from error
    try:
        dataset = builder.as_dataset(
            split=split,
            as_supervised=as_supervised,
            shuffle_files=shuffle_files,
            read_config=read_config,
        )
    except AssertionError as error:
        if "could not find data" not in str(error):
            raise
        raise DatasetNotPreparedError(
            f"TFDS dataset {name!r} is not prepared: no data in {builder.data_dir} "
            f"(data_dir={data_dir!r}) and download=False.\n{_how_to_prepare(name, data_dir)}"
        ) from None
    if isinstance(dataset, list):
        dataset = tuple(dataset)
    return TFDSData(dataset, _class_names(builder.info), builder.info)


def _how_to_prepare(name: str, data_dir: str | None) -> str:
    return (
        "To prepare it, run on a machine with network access:\n"
        f"    tfds.builder({name!r}, data_dir={data_dir!r}).download_and_prepare()\n"
        "and copy that data_dir here, or call from_tfds(..., download=True) where there is "
        "a network."
    )


def _unknown_name_message(tfds, name: str) -> str:
    base = name.split(":")[0].split("/")[0]
    known = tfds.list_builders(with_community_datasets=False)
    close = difflib.get_close_matches(base, known, n=5)
    hint = f" Did you mean {', '.join(map(repr, close))}?" if close else ""
    return (
        f"Unknown TFDS dataset; received name={name!r}.{hint} "
        "tfds.list_builders() lists the datasets this TFDS version knows."
    )


def _class_names(info) -> tuple[str, ...] | None:
    keys = info.supervised_keys
    key = keys[1] if keys and isinstance(keys[1], str) else "label"
    try:
        names = getattr(info.features[key], "names", None)
    except KeyError:
        return None
    return tuple(names) if names else None
