"""A heat map drawn over its image: what :mod:`cnnzoo.explain` computes, shown."""

from __future__ import annotations

from pathlib import Path

import numpy as np
from matplotlib.figure import Figure

from cnnzoo.viz.figures import new_figure, save_png, show_image, to_unit_range


def heatmap_overlay(
    image,
    heatmap,
    path: str | Path,
    *,
    title: str = "",
    alpha: float = 0.45,
) -> Figure:
    """Draws ``image`` and, over it, ``heatmap`` in the ``jet`` colours (red: strongest);
    beside them, the image alone.

    Args:
        image: One image ``(height, width)`` or ``(height, width, channels)`` in any value
            range (drawn stretched to [0, 1]), or one signal ``(length,)`` or
            ``(length, channels)``, drawn as curves over a coloured band.
        heatmap: Its map, ``(height, width)`` or ``(length,)``, in [0, 1] (as
            :func:`cnnzoo.explain.gradcam` gives it).
        path: Where to write the PNG.
        title: The figure's title (the predicted class, say).
        alpha: The opacity of the heat map over a 2-D image.

    Returns:
        The matplotlib ``Figure``: two axes for an image, one for a signal.

    Raises:
        ValueError: For a heat map whose shape is not the image's, or an ``alpha`` outside
            [0, 1].

    Example:
        >>> import tempfile, pathlib
        >>> import numpy as np
        >>> from cnnzoo.data import load_sample
        >>> digit = load_sample("mnist").train.images[0]
        >>> heat = np.zeros((28, 28)); heat[10:18, 10:18] = 1
        >>> out = pathlib.Path(tempfile.mkdtemp()) / "overlay.png"
        >>> figure = heatmap_overlay(digit, heat, out, title="digit 5 (0.98)")
        >>> len(figure.axes), out.read_bytes()[:4] == b"\\x89PNG"
        (2, True)
    """
    picture = np.asarray(image, dtype="float32")
    heat = np.asarray(heatmap, dtype="float32")
    if isinstance(alpha, bool) or not isinstance(alpha, int | float) or not 0 <= alpha <= 1:
        raise ValueError(f"alpha must be a number in [0, 1]; received alpha={alpha!r}.")
    signal = heat.ndim == 1
    if picture.ndim == heat.ndim + 1 and (signal or picture.shape[-1] in (1, 3, 4)):
        picture = picture[..., 0] if picture.shape[-1] == 1 else picture[..., :3]
    if heat.ndim not in (1, 2) or picture.shape[: heat.ndim] != heat.shape:
        raise ValueError(
            f"heatmap must have the image's length or height and width; received heatmap "
            f"of shape {heat.shape} for an image of shape {np.shape(image)}."
        )
    picture = to_unit_range(picture)
    if signal:
        figure = new_figure(6, 2.6)
        axis = figure.add_subplot(1, 1, 1)
        axis.imshow(heat[None], cmap="jet", vmin=0, vmax=1, aspect="auto",
                    extent=(-0.5, len(heat) - 0.5, 0, 1), alpha=alpha)  # fmt: skip
        axis.plot(picture, color="black", linewidth=1)  # one curve per channel
        axis.set_xlim(-0.5, len(heat) - 0.5)
        axis.set_yticks([])
        return save_png(figure, path, title=title)
    figure = new_figure(5, 2.8)
    left, right = figure.add_subplot(1, 2, 1), figure.add_subplot(1, 2, 2)
    show_image(left, picture, limits=(0, 1))
    left.imshow(heat, cmap="jet", vmin=0, vmax=1, alpha=alpha, interpolation="bilinear")
    show_image(right, picture, limits=(0, 1))
    return save_png(figure, path, title=title)
