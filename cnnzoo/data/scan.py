"""One pass over a class-per-subfolder image tree: what can be trained on, and a report of
everything that cannot (by path), so that nothing is dropped silently."""

from __future__ import annotations

import collections
import json
import os
from dataclasses import asdict, dataclass, field
from pathlib import Path

import numpy as np
import tensorflow as tf

from cnnzoo.data.images import can_convert
from cnnzoo.files import write_text

# What tf.io.decode_image reads; keras' image_dataset_from_directory allows the first five.
IMAGE_EXTENSIONS = (".bmp", ".gif", ".jpeg", ".jpg", ".png", ".webp")
_SIGNATURES = (
    (b"\xff\xd8\xff", "JPEG"),
    (b"\x89PNG\r\n\x1a\n", "PNG"),
    (b"GIF87a", "GIF"),
    (b"GIF89a", "GIF"),
    (b"BM", "BMP"),
)
# Paths printed per kind of problem; the JSON report lists them all.
_PRINTED_PATHS = 10


@dataclass(frozen=True)
class FolderReport:
    """What a scan of an image folder found. Paths are relative to ``root``, with ``/``.

    Attributes:
        root: The folder scanned.
        class_names: Class folders, in index order (empty when labels are not inferred).
        counts: Usable images per class (or ``{"": n}`` without labels).
        channels: The channel count images are converted to.
        not_images: Files with an image extension whose content is no image format.
        unreadable: ``(path, decoder message)`` of images that do not decode (corrupt or
            truncated).
        empty_classes: Class folders left without a usable image; they keep their index.
        converted: ``(path, channels)`` of images converted to ``channels``.
        incompatible: ``(path, channels)`` of images that cannot be converted (skipped).
        ignored: Files without an image extension, files outside the class folders and
            hidden folders (``.ipynb_checkpoints``), which are not read.
        sizes: ``{"HxW": count}`` of the usable images' sizes, most common first.
    """

    root: str
    class_names: tuple[str, ...]
    counts: dict[str, int]
    channels: int
    not_images: tuple[str, ...] = ()
    unreadable: tuple[tuple[str, str], ...] = ()
    empty_classes: tuple[str, ...] = ()
    converted: tuple[tuple[str, int], ...] = ()
    incompatible: tuple[tuple[str, int], ...] = ()
    ignored: tuple[str, ...] = ()
    sizes: dict[str, int] = field(default_factory=dict)

    @property
    def num_images(self) -> int:
        return sum(self.counts.values())

    @property
    def skipped(self) -> tuple[str, ...]:
        """Every image file left out of the datasets."""
        return (
            *self.not_images,
            *(path for path, _ in self.unreadable),
            *(path for path, _ in self.incompatible),
        )

    @property
    def clean(self) -> bool:
        """True when no image was skipped or converted and no class folder is empty.

        Files without an image extension do not count: they are listed in ``ignored``.
        """
        return not (self.skipped or self.empty_classes or self.converted)

    def to_dict(self) -> dict:
        return asdict(self)

    def save(self, path: str | Path) -> Path:
        """Writes the report as JSON and returns the path."""
        path = Path(path)
        write_text(path, json.dumps(self.to_dict(), indent=2) + "\n")
        return path

    def __str__(self) -> str:
        classes = f" in {len(self.class_names)} classes" if self.class_names else ""
        lines = [f"Found {self.num_images} usable images{classes} in {self.root}."]
        if self.class_names and len(self.class_names) <= 20:
            lines.append("Classes: " + ", ".join(f"{n} ({self.counts[n]})" for n in self.counts))
        sections = (
            ("Not images (skipped)", self.not_images),
            ("Do not decode, corrupt or truncated (skipped)", _pairs(self.unreadable)),
            (
                f"Channels cannot become {self.channels} (skipped)",
                _pairs(self.incompatible, " channels"),
            ),
            ("Empty class folders (kept in the class map)", self.empty_classes),
            (f"Converted to {self.channels} channels", _pairs(self.converted, " channels")),
            ("Ignored, not read", self.ignored),
        )
        for title, paths in sections:
            if paths:
                lines.append(f"{title}: {len(paths)}")
                lines.extend(f"  {path}" for path in paths[:_PRINTED_PATHS])
                if len(paths) > _PRINTED_PATHS:
                    lines.append(f"  ... and {len(paths) - _PRINTED_PATHS} more")
        if len(self.sizes) > 1:
            lines.append(f"Image sizes: {len(self.sizes)} different, most common {self._top()}.")
        return "\n".join(lines)

    def notice(self, limit: int = 5) -> str:
        """A few lines for the user of a training run: how many image files were skipped,
        the first ``limit`` with why, empty class folders and converted images; ``""``
        for a clean folder. :meth:`save` keeps the full list.

        Example:
            >>> report = FolderReport("images", ("cat", "dog"), {"cat": 4, "dog": 0}, 3,
            ...                       not_images=("cat/a.png",), empty_classes=("dog/",))
            >>> print(report.notice())
            Skipped 1 of 5 image files:
              cat/a.png: not an image
            Empty class folders (kept in the class map): dog/
        """
        reasons = (
            *((path, "not an image") for path in self.not_images),
            *((path, f"does not decode ({message})") for path, message in self.unreadable),
            *(
                (path, f"{count} channels, cannot become {self.channels}")
                for path, count in self.incompatible
            ),
        )
        lines = []
        if reasons:
            total = self.num_images + len(reasons)
            lines.append(f"Skipped {len(reasons)} of {total} image files:")
            lines.extend(f"  {path}: {why}" for path, why in reasons[:limit])
            if len(reasons) > limit:
                lines.append(f"  ... and {len(reasons) - limit} more")
        if self.empty_classes:
            lines.append(
                f"Empty class folders (kept in the class map): {', '.join(self.empty_classes)}"
            )
        if self.converted:
            lines.append(f"Converted {len(self.converted)} images to {self.channels} channels.")
        return "\n".join(lines)

    def _top(self) -> str:
        return ", ".join(f"{size} ({count})" for size, count in list(self.sizes.items())[:3])


def _pairs(pairs, unit: str = "") -> tuple[str, ...]:
    return tuple(f"{path} ({detail}{unit})" for path, detail in pairs)


@dataclass(frozen=True)
class FolderScan:
    """The scan's result: the usable files, their labels and sizes, and the report."""

    paths: tuple[str, ...]
    labels: tuple[int, ...]
    sizes: tuple[tuple[int, int], ...]
    report: FolderReport


def scan_folder(
    root: str | Path,
    *,
    channels: int | None = None,
    labels: str | None = "inferred",
    class_names=None,
    follow_links: bool = False,
) -> FolderScan:
    """Lists the image tree and decodes every image once (in parallel threads).

    Args:
        root: The folder, one subfolder per class (with ``labels="inferred"``).
        channels: Channels the images will have; ``None`` takes the most common count.
        labels: ``"inferred"`` (from the subfolders) or ``None`` (every image under root).
        class_names: Class folders to use, in index order; ``None`` takes all, sorted.
        follow_links: Whether to follow symbolic links to folders.

    Returns:
        A :class:`FolderScan`; the usable files are sorted by class, then by path.

    Raises:
        ValueError: For a missing folder, a ``class_names`` entry that is not a subfolder,
            or a tree without a single usable image.
    """
    root = Path(root)
    if not root.is_dir():
        raise ValueError(f"path must be an existing folder; received path={str(root)!r}.")
    ignored: list[str] = []
    folders = {"": root} if labels is None else _class_folders(root, class_names, ignored)
    candidates: list[tuple[str, int]] = []
    for index, folder in enumerate(folders.values()):
        for path in _walk(folder, follow_links, ignored, root):
            if path.suffix.lower() in IMAGE_EXTENSIONS:
                candidates.append((path, index))
            else:
                ignored.append(_relative(path, root))
    decoded = _decode_all([path for path, _ in candidates])

    found = collections.Counter(shape[2] for shape in decoded if isinstance(shape, tuple))
    if not found:
        raise ValueError(
            f"No image in {str(root)!r} decodes ({len(candidates)} files with an image "
            f"extension: {', '.join(IMAGE_EXTENSIONS)})."
        )
    if channels is None:
        channels = max(found, key=lambda count: (found[count], count))
    not_images, unreadable, converted, incompatible = [], [], [], []
    paths, label_list, sizes = [], [], []
    for (path, index), shape in zip(candidates, decoded, strict=True):
        relative = _relative(path, root)
        if shape is None:
            not_images.append(relative)
        elif isinstance(shape, str):
            unreadable.append((relative, shape))
        elif not can_convert(shape[2], channels):
            incompatible.append((relative, shape[2]))
        else:
            if shape[2] != channels:
                converted.append((relative, shape[2]))
            paths.append(str(path))
            label_list.append(index)
            sizes.append(shape[:2])
    names = tuple(folders) if labels is not None else ()
    counts = collections.Counter(label_list)
    size_counts = collections.Counter(f"{h}x{w}" for h, w in sizes)
    report = FolderReport(
        root=str(root),
        class_names=names,
        counts={name: counts[i] for i, name in enumerate(folders)},
        channels=channels,
        not_images=tuple(not_images),
        unreadable=tuple(unreadable),
        empty_classes=tuple(f"{name}/" for i, name in enumerate(names) if not counts[i]),
        converted=tuple(converted),
        incompatible=tuple(incompatible),
        ignored=tuple(sorted(ignored)),
        sizes=dict(size_counts.most_common()),
    )
    return FolderScan(tuple(paths), tuple(label_list), tuple(sizes), report)


def _class_folders(root: Path, class_names, ignored: list[str]) -> dict[str, Path]:
    subfolders = {}
    for entry in sorted(root.iterdir()):
        if entry.is_dir() and not entry.name.startswith("."):
            subfolders[entry.name] = entry
        else:  # a hidden folder or a file outside the class folders
            ignored.append(entry.name + ("/" if entry.is_dir() else ""))
    if class_names is None:
        if not subfolders:
            raise ValueError(f"{str(root)!r} has no class subfolders.")
        return subfolders
    missing = [name for name in class_names if name not in subfolders]
    if missing or len(set(class_names)) != len(class_names):
        raise ValueError(
            f"class_names must name distinct subfolders of {str(root)!r} "
            f"({sorted(subfolders)}); received class_names={list(class_names)!r}."
        )
    ignored.extend(f"{name}/" for name in subfolders if name not in class_names)
    return {name: subfolders[name] for name in class_names}


def _walk(folder: Path, follow_links: bool, ignored: list[str], root: Path):
    for directory, subdirectories, files in os.walk(folder, followlinks=follow_links):
        hidden = sorted(name for name in subdirectories if name.startswith("."))
        ignored.extend(_relative(Path(directory, name), root) + "/" for name in hidden)
        subdirectories[:] = sorted(set(subdirectories) - set(hidden))
        for name in sorted(files):
            yield Path(directory, name)


def _relative(path: Path, root: Path) -> str:
    return path.relative_to(root).as_posix()


def _decode_all(paths: list[Path]) -> list:
    """Every file's :func:`_decode` result, fast: one parallel ``tf.data`` pass decodes them
    all and skips failures, then only the failed files are decoded again, one by one, for
    the reason."""
    shapes = {}
    if paths:
        dataset = tf.data.Dataset.from_tensor_slices((np.arange(len(paths)), list(map(str, paths))))
        dataset = dataset.map(
            lambda index, path: (index, tf.shape(_decode_file(path))),
            num_parallel_calls=tf.data.AUTOTUNE,
            deterministic=False,
        )
        for indices, found in dataset.ignore_errors().batch(4096).as_numpy_iterator():
            shapes.update(zip(indices.tolist(), map(tuple, found.tolist()), strict=True))
    return [shapes[i] if i in shapes else _decode(path) for i, path in enumerate(paths)]


def _decode_file(path: tf.Tensor) -> tf.Tensor:
    return tf.io.decode_image(tf.io.read_file(path), expand_animations=False)


def _decode(path: Path) -> tuple[int, int, int] | str | None:
    """``(height, width, channels)``; the decoder's message; ``None`` for a non-image."""
    try:
        contents = path.read_bytes()
    except OSError as error:
        return f"cannot be read: {error}"
    if not _is_image_format(contents):
        return None
    try:
        return tuple(tf.io.decode_image(contents, expand_animations=False).shape)
    except (tf.errors.OpError, ValueError) as error:
        return _decoder_message(error)


def _is_image_format(contents: bytes) -> bool:
    if contents[:4] == b"RIFF" and contents[8:12] == b"WEBP":
        return True
    return any(contents.startswith(signature) for signature, _ in _SIGNATURES)


def _decoder_message(error: Exception) -> str:
    # TensorFlow prefixes "{{function_node ...}} " and appends " [Op:DecodeImage]".
    message = str(getattr(error, "message", error)).split("}} ")[-1]
    return message.split(" [Op:")[0].strip()
