"""Image folders (one subfolder per class) as ``tf.data`` datasets, checked file by file."""

from __future__ import annotations

import json
from pathlib import Path
from typing import NamedTuple

import numpy as np
import tensorflow as tf

from cnnzoo.checks import check_choice, check_positive_int
from cnnzoo.data.images import (
    check_channels,
    check_image_size,
    check_resize,
    convert_channels,
    resize_images,
)
from cnnzoo.data.scan import FolderReport, FolderScan, scan_folder
from cnnzoo.data.shard import check_shard, shard_sequences
from cnnzoo.files import write_text

CLASS_MAP_FILE = "class_indices.json"
REPORT_FILE = "data_report.json"
SUBSETS = ("training", "validation", "both")
LABEL_MODES = ("int", "categorical", "binary")


class FolderData(NamedTuple):
    """Datasets read from an image folder, the class map and the scan's report.

    ``train`` holds every usable image when there is no validation split; the split not
    asked for by ``subset`` is ``None``. Each dataset also carries keras'
    ``class_names`` and ``file_paths`` attributes (file order holds without shuffling).
    """

    train: tf.data.Dataset | None
    validation: tf.data.Dataset | None
    class_names: tuple[str, ...]
    class_indices: dict[str, int]
    report: FolderReport


def from_folder(
    path: str | Path,
    *,
    image_size: int | tuple[int, int] | None = None,
    channels: int | None = None,
    validation_split: float | None = None,
    subset: str | None = None,
    seed: int | None = None,
    batch_size: int | None = 32,
    resize: str = "stretch",
    interpolation: str = "bilinear",
    strict: bool = False,
    report_dir: str | Path | None = None,
    labels: str | None = "inferred",
    label_mode: str = "int",
    class_names: list[str] | tuple[str, ...] | None = None,
    shuffle: bool = True,
    follow_links: bool = False,
    verbose: bool = True,
    shard: tuple[int, int] | None = None,
) -> FolderData:
    """Reads a class-per-subfolder image tree after checking every file in it.

    ``path/cat/001.jpg``, ``path/dog/002.png``, ...: class names are the subfolder names,
    their indices follow sorted order (as in ``keras.utils.image_dataset_from_directory``,
    whose arguments these mirror). Before building anything, one pass decodes every file
    and reports by path: files that are not images (a text file named ``.png``), images
    that do not decode (corrupt or truncated), empty class folders, images whose channel
    count differs from ``channels`` (converted when possible: grayscale to RGB by
    repeating, RGB to grayscale by luma, alpha dropped; skipped when not, RGB to RGBA
    say), and files that are not read (other extensions, hidden folders such as
    ``.ipynb_checkpoints``, files beside the class folders). By default the bad files are
    skipped and the report printed; ``strict=True`` raises instead.

    Images come out as ``float32`` with raw pixel values in [0, 255] (what cnnzoo models
    take; :func:`cnnzoo.data.pipeline` rescales), labels as ``int32`` class indices.

    Args:
        path: The folder.
        image_size: ``(height, width)`` (or an int for a square) to resize to; ``None``
            keeps the images' own size, which must then be the same for all unless
            ``batch_size=None``.
        channels: 1 (grayscale), 3 (RGB) or 4 (RGBA) channels for every image; ``None``
            takes the most common count in the tree.
        validation_split: Fraction of each class held out for validation (the split is
            stratified and needs ``seed``).
        subset: ``"training"``, ``"validation"`` or ``"both"`` (the default with a split).
        seed: Seed of the validation split and of the shuffle.
        batch_size: Images per batch; ``None`` gives single images.
        resize: How mixed aspect ratios reach ``image_size``: ``"stretch"`` (plain
            resize), ``"crop"`` (central crop to the aspect ratio, then resize) or ``"pad"``
            (zero padding to the aspect ratio, then resize).
        interpolation: Resizing interpolation (``"bilinear"``, ``"nearest"``, ``"bicubic"``,
            ``"area"``, ``"lanczos3"``, ...).
        strict: Raise instead of skipping: any skipped or converted image or empty class
            folder makes it a ``ValueError`` whose message is the report.
        report_dir: Folder (the run folder) to write ``data_report.json`` and the class
            map ``class_indices.json`` into (see :func:`load_class_names`).
        labels: ``"inferred"`` from the subfolders, or ``None`` to read every image under
            ``path`` without labels (for prediction).
        label_mode: ``"int"`` (class index), ``"categorical"`` (one-hot) or ``"binary"``
            (``float32`` 0 or 1, two classes).
        class_names: Subfolders to read, in index order; ``None`` reads all, sorted.
        shuffle: Reshuffle the training images every epoch (validation keeps file order,
            so that evaluations compare).
        follow_links: Follow symbolic links to folders.
        verbose: Print the report.
        shard: ``(index, count)``: keep this process's share of each split's files for
            data-parallel training (every ``count``-th file from ``index``, as many in
            every share), so that each process reads only its own files.

    Returns:
        ``FolderData(train, validation, class_names, class_indices, report)``.

    Raises:
        ValueError: For bad arguments, a split without ``seed``, a folder with no usable
            image, mixed image sizes without ``image_size`` (when batching), or any problem
            in the tree when ``strict=True``.

    Example:
        >>> import tempfile, numpy as np, keras
        >>> root = Path(tempfile.mkdtemp())
        >>> for name in ("cat", "dog"):
        ...     (root / name).mkdir()
        ...     for i in range(3):
        ...         image = np.full((20, 24, 3), 40 * i, "uint8")
        ...         keras.utils.save_img(root / name / f"{i}.png", image, scale=False)
        >>> data = from_folder(root, image_size=(16, 16), batch_size=4, verbose=False)
        >>> data.class_indices
        {'cat': 0, 'dog': 1}
        >>> images, labels = next(iter(data.train))
        >>> tuple(images.shape), images.dtype.name
        ((4, 16, 16, 3), 'float32')
    """
    image_size = check_image_size(image_size)
    check_channels(channels)
    check_resize(resize)
    check_choice("labels", labels, ("inferred", None))
    check_choice("label_mode", label_mode, LABEL_MODES)
    check_choice("subset", subset, (None, *SUBSETS))
    check_positive_int("batch_size", batch_size, allow_none=True)
    subset = _check_split(validation_split, subset, seed)
    shard = check_shard(shard)
    if class_names is not None and labels is None:
        raise ValueError(f"class_names needs labels='inferred'; received labels={labels!r}.")

    scan = scan_folder(
        path, channels=channels, labels=labels, class_names=class_names, follow_links=follow_links
    )
    report = scan.report
    names = report.class_names
    class_indices = {name: index for index, name in enumerate(names)}
    if label_mode == "binary" and labels is not None and len(names) != 2:
        raise ValueError(
            f"label_mode='binary' needs 2 classes; {report.root!r} has {len(names)}: {names}."
        )
    train_files, validation_files = (
        shard_sequences(files, shard)
        for files in _split(scan, validation_split, seed, labels is not None)
    )
    known_size = image_size or _common_size(scan, batch_size)
    # Written once the arguments are accepted, and before strict raises: its report is
    # the error.
    if report_dir is not None:
        report_dir = Path(report_dir)
        report_dir.mkdir(parents=True, exist_ok=True)
        report.save(report_dir / REPORT_FILE)
        if labels is not None:
            write_text(report_dir / CLASS_MAP_FILE, json.dumps(class_indices, indent=2) + "\n")
    if strict and not report.clean:
        raise ValueError(f"strict=True and the image folder has problems:\n{report}")
    if verbose:
        print(report)
    build = {
        "names": names,
        "inferred": labels is not None,
        "label_mode": label_mode,
        "image_size": image_size,
        "known_size": known_size,
        "channels": report.channels,
        "resize": resize,
        "interpolation": interpolation,
        "batch_size": batch_size,
    }
    train = validation = None
    if subset in (None, "training", "both"):
        train = _dataset(*train_files, shuffle=shuffle, seed=seed, **build)
    if subset in ("validation", "both"):
        validation = _dataset(*validation_files, shuffle=False, seed=seed, **build)
    return FolderData(train, validation, names, class_indices, report)


def load_class_names(path: str | Path) -> tuple[str, ...]:
    """Reads the class map that :func:`from_folder` saved, as names in index order.

    Args:
        path: The ``class_indices.json`` file, or the folder (``report_dir``) holding it.

    Returns:
        Class names, so that ``class_names[prediction.argmax()]`` names a prediction.

    Example:
        >>> import json, tempfile
        >>> folder = Path(tempfile.mkdtemp())
        >>> _ = (folder / CLASS_MAP_FILE).write_text(json.dumps({"dog": 1, "cat": 0}))
        >>> load_class_names(folder)
        ('cat', 'dog')
    """
    path = Path(path)
    if path.is_dir():
        path = path / CLASS_MAP_FILE
    indices = json.loads(path.read_text())
    if sorted(indices.values()) != list(range(len(indices))):
        raise ValueError(f"{str(path)!r} is not a class map (name -> 0..n-1): {indices!r}.")
    return tuple(sorted(indices, key=indices.get))


def _check_split(validation_split, subset, seed) -> str | None:
    if validation_split is None:
        if subset is not None:
            raise ValueError(
                f"subset needs validation_split; received subset={subset!r} and "
                "validation_split=None."
            )
        return None
    if isinstance(validation_split, bool) or not (
        isinstance(validation_split, (int, float)) and 0 < validation_split < 1
    ):
        raise ValueError(
            f"validation_split must be a float in (0, 1); received "
            f"validation_split={validation_split!r}."
        )
    if seed is None:
        raise ValueError(
            "A validation split needs a seed, so that training and validation images stay "
            f"apart across calls; received seed=None with validation_split={validation_split}."
        )
    return subset or "both"


def _common_size(scan: FolderScan, batch_size: int | None) -> tuple[int, int] | None:
    sizes = set(scan.sizes)
    if len(sizes) == 1:
        return next(iter(sizes))
    if batch_size is None:
        return None
    raise ValueError(
        f"The images have {len(sizes)} different sizes (most common: "
        f"{scan.report._top()}); pass image_size=(height, width) to resize them (see "
        "resize=), or batch_size=None for single images of their own size."
    )


def _split(scan: FolderScan, validation_split, seed, stratify: bool):
    paths, labels = np.array(scan.paths), np.array(scan.labels, "int32")
    if validation_split is None:
        return (paths, labels), (paths[:0], labels[:0])
    rng = np.random.default_rng(seed)
    held_out = np.zeros(len(paths), bool)
    groups = np.unique(labels) if stratify else [None]
    for label in groups:
        members = np.flatnonzero(labels == label) if stratify else np.arange(len(paths))
        count = round(validation_split * len(members))
        held_out[rng.permutation(members)[:count]] = True
    if held_out.all() or not held_out.any():
        raise ValueError(
            f"validation_split={validation_split} leaves "
            f"{'no training' if held_out.all() else 'no validation'} images out of "
            f"{len(paths)}."
        )
    return (paths[~held_out], labels[~held_out]), (paths[held_out], labels[held_out])


# Why not keras.utils.image_dataset_from_directory: it takes a folder, not a list of files,
# so it would read the corrupt files the scan has just found and stop training at the first
# one, mid-epoch; it also makes hidden folders (.ipynb_checkpoints) into classes and splits
# without stratifying. The datasets are therefore tf.data over the scanned file list,
# resized as keras' loader resizes (tests/test_data_folder.py compares the two).
def _dataset(
    paths,
    indices,
    *,
    names,
    inferred,
    label_mode,
    image_size,
    known_size,
    channels,
    resize,
    interpolation,
    batch_size,
    shuffle,
    seed,
) -> tf.data.Dataset:
    shape = (*(known_size or (None, None)), channels)

    def load(path):
        image = tf.io.decode_image(tf.io.read_file(path), expand_animations=False)
        image = convert_channels(tf.cast(image, tf.float32), channels)
        if image_size is not None:
            image = resize_images(image, image_size, resize, interpolation)
        return tf.ensure_shape(image, shape)

    def encode(label):
        if label_mode == "categorical":
            return tf.one_hot(label, len(names))
        if label_mode == "binary":
            return tf.cast(label, tf.float32)[None]
        return label

    dataset = tf.data.Dataset.from_tensor_slices((paths, indices))
    if shuffle and len(paths) > 1:
        # Shuffling the file names (not decoded images) is cheap, so the whole list is one
        # buffer: a perfect shuffle, redrawn every epoch.
        dataset = dataset.shuffle(len(paths), seed=seed, reshuffle_each_iteration=True)
    if inferred:
        dataset = dataset.map(
            lambda path, label: (load(path), encode(label)), num_parallel_calls=tf.data.AUTOTUNE
        )
    else:
        dataset = dataset.map(lambda path, _: load(path), num_parallel_calls=tf.data.AUTOTUNE)
    if batch_size is not None:
        dataset = dataset.batch(batch_size)
    dataset = dataset.prefetch(tf.data.AUTOTUNE)
    dataset.class_names = list(names)  # as keras' loader sets them
    dataset.file_paths = [str(path) for path in paths]
    return dataset
