"""Pictures for learners: what an augmentation does to real images."""

from __future__ import annotations

from collections.abc import Sequence
from pathlib import Path

import keras
import matplotlib
import numpy as np

from cnnzoo.augment import make_augmentation

matplotlib.use("Agg")
import matplotlib.pyplot as plt


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
        >>> digits = load_sample("mnist").train.images[:3]
        >>> out = pathlib.Path(tempfile.mkdtemp()) / "standard.png"
        >>> augmentation_grid(digits, "standard", out).stat().st_size > 0
        True
    """
    batch = np.asarray(images, dtype="float32")
    if batch.ndim != 4 or batch.shape[-1] not in (1, 3) or len(batch) == 0:
        raise ValueError(
            "images must be a batch (n, height, width, channels) with 1 or 3 channels; "
            f"received shape {batch.shape}."
        )
    if isinstance(versions, bool) or not isinstance(versions, int) or versions <= 0:
        raise ValueError(f"versions must be a positive int; received versions={versions!r}.")
    layer = make_augmentation(
        augment, strength=strength, seed=seed, channels=batch.shape[-1], value_range=value_range
    )
    copies = [batch]
    for _ in range(versions):
        augmented = batch if layer is None else layer(batch, training=True)
        copies.append(keras.ops.convert_to_numpy(augmented))
    low, high = value_range
    figure, axes = plt.subplots(
        len(batch), versions + 1, figsize=(1.6 * (versions + 1), 1.6 * len(batch)), squeeze=False
    )
    for row in range(len(batch)):
        for column, copy in enumerate(copies):
            picture = np.clip((copy[row] - low) / (high - low), 0, 1)
            axis = axes[row][column]
            if picture.shape[-1] == 1:
                axis.imshow(picture[..., 0], cmap="gray", vmin=0, vmax=1)
            else:
                axis.imshow(picture)
            axis.set_xticks([])
            axis.set_yticks([])
            if row == 0:
                axis.set_title("original" if column == 0 else f"augmented {column}", fontsize=8)
    figure.suptitle(title or (augment if isinstance(augment, str) else "augmentation"))
    figure.tight_layout()
    path = Path(path)
    path.parent.mkdir(parents=True, exist_ok=True)
    figure.savefig(path, dpi=80)
    plt.close(figure)
    return path
