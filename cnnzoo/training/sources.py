"""Data sources a training run names: the bundled sample, an image folder, or TFDS."""

from __future__ import annotations

from dataclasses import dataclass
from pathlib import Path
from typing import Any

from cnnzoo.data import FolderReport, from_folder, from_tfds, load_sample
from cnnzoo.data.shard import shard_sequences

SAMPLE = "mnist-sample"


@dataclass(frozen=True)
class RunData:
    """What a run trains and evaluates on, before :func:`cnnzoo.data.pipeline`.

    ``train``/``validation``/``test`` are anything ``pipeline`` takes (``None`` when a
    source has no such split); ``input_range`` is the images' value range; ``report`` is
    a folder's scan (what was skipped and why), to be saved in the run folder.
    """

    train: Any
    validation: Any
    test: Any
    class_names: tuple[str, ...]
    input_range: tuple[float, float] | None
    description: str
    report: FolderReport | None = None


def describe_sources() -> str:
    return (
        f"'{SAMPLE}' (the bundled MNIST sample), a folder of class subfolders, or "
        "'tfds:NAME' (a prepared TensorFlow Datasets dataset)"
    )


def check_source(source) -> str:
    """``source`` as a string, or a ``ValueError`` that lists the kinds of source."""
    if not isinstance(source, (str, Path)):
        raise ValueError(f"data must be {describe_sources()}; received data={source!r}.")
    source = str(source)
    if source == SAMPLE or source.startswith("tfds:"):
        return source
    if not Path(source).is_dir():
        raise ValueError(
            f"data must be {describe_sources()}; received data={source!r}, which is not a folder."
        )
    return source


def load_run_data(
    source: str,
    *,
    seed: int,
    validation_split: float,
    shard: tuple[int, int] | None = None,
    min_classes: int = 2,
) -> RunData:
    """Reads ``source`` (see :func:`check_source`) and splits it. Writes nothing.

    The sample has its own stratified train, validation and test splits. A folder is
    split into train and validation by ``validation_split`` (stratified, seeded); its
    scan's report comes in :attr:`RunData.report`. TFDS takes the ``train`` split, with
    ``validation_split`` of it held out, and ``test`` when the dataset has one.

    A classifier learns nothing from one class (its softmax is always 1), so a source
    with images of fewer than ``min_classes`` classes is refused.

    ``shard=(index, count)`` keeps one process's share of every split for data-parallel
    training (see :func:`cnnzoo.data.shard.shard_sequences`): a folder's files and a TFDS
    split's records are shared out before they are read, as many to every process.

    Example:
        >>> data = load_run_data("mnist-sample", seed=0, validation_split=0.1)
        >>> len(data.train[1]), len(data.validation[1]), len(data.test[1]), data.input_range
        (3600, 400, 1000, (0, 1))

    Raises:
        ValueError: For a source that is none of those, a folder without a usable image,
            or one with images of fewer than ``min_classes`` classes.
    """
    source = check_source(source)
    data = _read(source, seed, validation_split, shard)
    if data.report is not None:
        with_images = [name for name, count in data.report.counts.items() if count]
    else:
        with_images = list(data.class_names)
    if len(with_images) < min_classes:
        found = f"only {with_images}" if with_images else "none"
        empty = data.report.empty_classes if data.report is not None else ()
        empty = f" (empty: {', '.join(empty)})" if empty else ""
        raise ValueError(
            f"data {source!r} must have images of at least {min_classes} classes, one "
            f"subfolder of images per class; classes with images: {found}{empty}."
        )
    return data


def _read(source: str, seed: int, validation_split: float, shard) -> RunData:
    if source == SAMPLE:
        splits = load_sample("mnist", seed=seed)
        train, validation, test = (
            shard_sequences(tuple(split), shard)
            for split in (splits.train, splits.validation, splits.test)
        )
        return RunData(
            train, validation, test, splits.class_names, (0, 1), "the bundled MNIST sample"
        )
    if source.startswith("tfds:"):
        return _tfds(source[5:], validation_split, shard)
    data = from_folder(
        source, validation_split=validation_split, seed=seed, batch_size=None,
        verbose=False, shard=shard,
    )  # fmt: skip
    return RunData(data.train, data.validation, None, data.class_names, None, source, data.report)


def _tfds(name: str, validation_split: float, shard: tuple[int, int] | None) -> RunData:
    held_out = round(validation_split * 100)

    def share(split: str):
        if shard is None:
            return split
        import tensorflow_datasets as tfds

        return tfds.even_splits(split, n=shard[1], drop_remainder=True)[shard[0]]

    train = from_tfds(name, split=[share(f"train[{held_out}%:]"), share(f"train[:{held_out}%]")])
    splits = train.info.splits
    test = from_tfds(name, split=share("test")).dataset if "test" in splits else None
    class_names = train.class_names or tuple(
        str(i) for i in range(train.info.features["label"].num_classes)
    )
    return RunData(train.dataset[0], train.dataset[1], test, class_names, None, f"tfds:{name}")
