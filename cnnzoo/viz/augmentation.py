"""Pictures for learners: what an augmentation does to real images."""

from __future__ import annotations

from collections.abc import Sequence
from pathlib import Path

import keras
import numpy as np

from cnnzoo.augment import make_augmentation
from cnnzoo.checks import check_positive_int
from cnnzoo.viz.figures import new_figure, save_png, show_image


def augmentation_grid(
    images,
    augment,
    path: str | Path,
    *,
    versions: int = 4,
    strength: float = 1.0,
    seed: int | None = 0,
    value_range: Sequence[float] = (0, 255),
    title: str | None = None,
) -> Path:
    """Writes a PNG grid: one row per image, the original then ``versions`` augmented copies.

    Args:
        images: A batch ``(n, height, width, channels)`` with 1 or 3 channels, in
            ``value_range`` (a handful: each becomes a row).
        augment: A preset name (``"standard"``, ``"alexnet"``, ...), a Keras layer or a list
            of layers, as :func:`cnnzoo.augment.make_augmentation` takes.
        path: Where to write the PNG.
        versions: Augmented copies per image.
        strength: Strength of a preset.
        seed: Seed of the preset's random layers (the same grid for the same seed).
        value_range: ``(low, high)`` of the pixel values.
        title: Figure title (default: the preset name or "augmentation").

    Returns:
        The path written.

    Raises:
        ValueError: For images that are not a batch of 1- or 3-channel images, or a bad
            ``augment`` or ``versions``.

    Example:
        >>> import tempfile, pathlib
        >>> from cnnzoo.data import load_sample
        >>> digits = load_sample("mnist").train.images[:3]  # scaled to [0, 1]
        >>> out = pathlib.Path(tempfile.mkdtemp()) / "standard.png"
        >>> augmentation_grid(digits, "standard", out, value_range=(0, 1)).stat().st_size > 0
        True
    """
    batch = np.asarray(images, dtype="float32")
    if batch.ndim != 4 or batch.shape[-1] not in (1, 3) or len(batch) == 0:
        raise ValueError(
            "images must be a batch (n, height, width, channels) with 1 or 3 channels; "
            f"received shape {batch.shape}."
        )
    check_positive_int("versions", versions)
    layer = make_augmentation(
        augment, strength=strength, seed=seed, channels=batch.shape[-1], value_range=value_range
    )
    copies = [batch]
    for _ in range(versions):
        augmented = batch if layer is None else layer(batch, training=True)
        copies.append(keras.ops.convert_to_numpy(augmented))
    low, high = value_range
    figure = new_figure(1.6 * (versions + 1), 1.6 * len(batch))
    axes = figure.subplots(len(batch), versions + 1, squeeze=False)
    for row in range(len(batch)):
        for column, copy in enumerate(copies):
            name = "original" if column == 0 else f"augmented {column}"
            picture = np.clip((copy[row] - low) / (high - low), 0, 1)
            show_image(axes[row][column], picture, title=name if row == 0 else "", limits=(0, 1))
    title = title or (augment if isinstance(augment, str) else "augmentation")
    save_png(figure, path, title=title, dpi=80)
    return Path(path)
