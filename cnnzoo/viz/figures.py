"""What every picture shares: a figure outside pyplot, image panels, and writing the PNG.

Figures are made with ``matplotlib.figure.Figure`` rather than ``pyplot``: nothing is
registered globally, so no figure stays open and the user's backend (a notebook's, say) is
left alone; a notebook still displays the returned figure.
"""

from __future__ import annotations

from pathlib import Path

import numpy as np
from matplotlib.axes import Axes
from matplotlib.figure import Figure


def new_figure(width: float, height: float) -> Figure:
    """A figure of ``width`` x ``height`` inches."""
    return Figure(figsize=(width, height))


def save_png(figure: Figure, path: str | Path, *, title: str = "", dpi: int = 100) -> Figure:
    """Adds the title, lays the figure out and writes it as a PNG (creating the folder)."""
    if title:
        figure.suptitle(title)
    figure.tight_layout()
    path = Path(path)
    path.parent.mkdir(parents=True, exist_ok=True)
    figure.savefig(path, dpi=dpi, format="png")
    return figure


def to_unit_range(values) -> np.ndarray:
    """Rescales to [0, 1] (a constant array becomes mid-gray)."""
    values = np.asarray(values, dtype="float32")
    low, high = values.min(), values.max()
    if high - low < 1e-12:
        return np.full_like(values, 0.5)
    return (values - low) / (high - low)


def show_image(axis: Axes, picture, *, title: str = "", limits=None, signed: bool = False):
    """Draws a 2-D array in gray (or an RGB image in [0, 1]) without ticks.

    ``limits`` fixes the gray scale's ``(black, white)`` values (default: the array's range);
    ``signed`` draws blue below zero and red above, centred on zero (filter responses).
    """
    picture = np.asarray(picture, dtype="float32")
    if picture.ndim == 3 and picture.shape[-1] == 1:
        picture = picture[..., 0]
    if picture.ndim == 3:
        axis.imshow(np.clip(picture, 0, 1), interpolation="nearest")
    elif signed:
        limit = float(np.abs(picture).max()) or 1.0
        axis.imshow(picture, cmap="RdBu_r", vmin=-limit, vmax=limit, interpolation="nearest")
    else:
        low, high = (None, None) if limits is None else limits
        axis.imshow(picture, cmap="gray", vmin=low, vmax=high, interpolation="nearest")
    axis.set_xticks([])
    axis.set_yticks([])
    if title:
        axis.set_title(title, fontsize=8)


def single_image(image) -> np.ndarray:
    """``image`` as a float32 ``(height, width, channels)`` array.

    Raises:
        ValueError: For anything but ``(height, width)``, ``(height, width, channels)`` or a
            batch of one ``(1, height, width, channels)``.
    """
    array = np.asarray(image, dtype="float32")
    if array.ndim == 4 and array.shape[0] == 1:
        array = array[0]
    elif array.ndim == 2:
        array = array[..., None]
    if array.ndim != 3:
        raise ValueError(
            "image must be one image (height, width), (height, width, channels) or "
            f"(1, height, width, channels); received shape {np.shape(image)}."
        )
    return array
