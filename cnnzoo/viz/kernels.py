"""Pictures of convolution kernels: a layer's learned filters, and what filters do to an image."""

from __future__ import annotations

import math
from collections.abc import Sequence
from pathlib import Path

import keras
import numpy as np
from matplotlib.figure import Figure

from cnnzoo.checks import check_positive_int
from cnnzoo.layers.filters import KERNELS, HandMadeFilters
from cnnzoo.viz.figures import (
    new_figure,
    save_png,
    show_image,
    single_image,
    to_unit_range,
)

DEFAULT_FILTERS = ("prewitt_x", "sobel_x", "sobel_y", "laplacian", "box_blur", "sharpen")


def _layers_in(model: keras.Model):
    for layer in model.layers:
        yield layer
        if isinstance(layer, keras.Model):
            yield from _layers_in(layer)


def _has_2d_kernel(layer) -> bool:
    kernel = getattr(layer, "kernel", None)
    return kernel is not None and len(kernel.shape) == 4


def first_convolution(model: keras.Model, layer: str | keras.layers.Layer | None = None):
    """The 2-D convolution whose kernels to show: ``layer`` or else the model's first one.

    Args:
        model: A built Keras model.
        layer: A layer of ``model`` (or its name) with a 4-D ``kernel``
            ``(height, width, in_channels, filters)``; ``None`` takes the first such layer.

    Returns:
        The layer.

    Raises:
        ValueError: For a name that is not a layer of ``model``, a layer without a 2-D
            convolution kernel, or a model without any.

    Example:
        >>> from cnnzoo import lenet5
        >>> first_convolution(lenet5()).name
        'c1_conv'
    """
    if not isinstance(model, keras.Model):
        raise ValueError(f"model must be a keras.Model; received {type(model).__name__}.")
    if layer is None:
        found = next((each for each in _layers_in(model) if _has_2d_kernel(each)), None)
        if found is None:
            raise ValueError(f"Model {model.name!r} has no 2-D convolution (no 4-D kernel).")
        return found
    if isinstance(layer, str):
        names = {each.name: each for each in _layers_in(model)}
        if layer not in names:
            raise ValueError(f"layer must name a layer of {model.name!r}; received {layer!r}.")
        layer = names[layer]
    if not _has_2d_kernel(layer):
        raise ValueError(
            "layer must be a 2-D convolution with a kernel (height, width, in_channels, "
            f"filters); received layer {layer.name!r} ({type(layer).__name__})."
        )
    return layer


def first_layer_filters(
    model: keras.Model,
    path: str | Path,
    *,
    layer: str | keras.layers.Layer | None = None,
    max_filters: int = 64,
) -> Figure:
    """Draws the kernels of a model's first convolution as a grid of small images.

    Each filter is stretched to its own range (dark: most negative weight, light: most
    positive). A kernel over 3 input channels is drawn in colour (the RGB pattern it looks
    for); other kernels as the mean over their input channels, in gray. Trained first layers
    show edge and colour-blob detectors, as Krizhevsky et al. (2012, figure 3) showed.

    Args:
        model: A Keras model.
        path: Where to write the PNG.
        layer: The convolution to draw (its name or the layer); default the first one.
        max_filters: Draw at most this many filters (the first ones).

    Returns:
        The matplotlib ``Figure``, one axis per filter drawn.

    Raises:
        ValueError: For a bad ``layer`` (see :func:`first_convolution`) or ``max_filters``.

    Example:
        >>> import tempfile, pathlib
        >>> from cnnzoo import lenet5
        >>> out = pathlib.Path(tempfile.mkdtemp()) / "c1.png"
        >>> len(first_layer_filters(lenet5(), out).axes)  # C1 has 6 filters
        6
    """
    check_positive_int("max_filters", max_filters)
    layer = first_convolution(model, layer)
    kernel = keras.ops.convert_to_numpy(layer.kernel)  # (height, width, in_channels, filters)
    height, width, in_channels, filters = kernel.shape
    shown = min(filters, max_filters)
    columns = math.ceil(math.sqrt(shown))
    rows = math.ceil(shown / columns)
    figure = new_figure(1.1 * columns + 0.4, 1.1 * rows + 0.6)
    for index in range(shown):
        weights = kernel[..., index]
        picture = weights if in_channels == 3 else weights.mean(axis=-1)
        axis = figure.add_subplot(rows, columns, index + 1)
        show_image(axis, to_unit_range(picture), title=str(index), limits=(0, 1))
    title = f"{layer.name}: {filters} filters {height}x{width}x{in_channels}"
    return save_png(figure, path, title=title if shown == filters else f"{title}, first {shown}")


def _responses(image: np.ndarray, kernel) -> np.ndarray:
    """Each filter of ``kernel`` over ``image``, same size, without bias: ``(h, w, filters)``."""
    kernel = keras.ops.cast(kernel, "float32")
    return keras.ops.convert_to_numpy(keras.ops.conv(image[None], kernel, padding="same"))[0]


def filter_responses(
    image,
    path: str | Path,
    *,
    filters: Sequence[str] = DEFAULT_FILTERS,
    learned: keras.Model | None = None,
) -> Figure:
    """Draws what hand-made filters (and optionally a model's first filters) make of an image.

    The first row shows the image, then each hand-made filter's response (red: positive,
    blue: negative); Sobel and Prewitt x light up vertical edges, y horizontal ones. With
    ``learned=model`` a second row shows the responses of that model's first convolution
    (its first ``len(filters)`` filters, at stride 1 and without bias), to compare what
    training found with what people designed.

    Args:
        image: One image ``(height, width[, channels])`` or a batch of one.
        path: Where to write the PNG.
        filters: Names from :data:`cnnzoo.layers.KERNELS`.
        learned: A model whose first convolution reads as many channels as the image has.

    Returns:
        The matplotlib ``Figure``: one axis for the image and one per response.

    Raises:
        ValueError: For a bad image, an unknown filter name, or a ``learned`` model whose
            first convolution does not take the image's channels.

    Example:
        >>> import tempfile, pathlib
        >>> from cnnzoo.data import load_sample
        >>> digit = load_sample("mnist").train.images[0]
        >>> out = pathlib.Path(tempfile.mkdtemp()) / "responses.png"
        >>> len(filter_responses(digit, out, filters=["sobel_x", "sobel_y"]).axes)
        3
    """
    picture = single_image(image)
    names = [filters] if isinstance(filters, str) else list(filters)
    unknown = [name for name in names if name not in KERNELS]
    if not names or unknown:
        raise ValueError(
            f"filters must be names from {sorted(KERNELS)}; received filters={filters!r}."
        )
    channels = picture.shape[-1]
    bank = [HandMadeFilters(name)((3, 3, channels, 1)) for name in names]
    rows = [("hand-made", names, _responses(picture, keras.ops.concatenate(bank, axis=-1)))]
    if learned is not None:
        layer = first_convolution(learned)
        kernel = keras.ops.convert_to_numpy(layer.kernel)[..., : len(names)]
        if kernel.shape[2] != channels:
            raise ValueError(
                f"learned's first convolution {layer.name!r} reads {kernel.shape[2]} channels; "
                f"received an image with {channels}."
            )
        labels = [f"{layer.name} {index}" for index in range(kernel.shape[-1])]
        rows.append(("learned", labels, _responses(picture, kernel)))
    columns = 1 + len(names)
    figure = new_figure(1.8 * columns, 1.9 * len(rows))
    shown = to_unit_range(picture) if channels == 3 else picture.mean(axis=-1)
    show_image(figure.add_subplot(len(rows), columns, 1), shown, title="image")
    for row, (kind, labels, responses) in enumerate(rows):
        for index, label in enumerate(labels):
            axis = figure.add_subplot(len(rows), columns, row * columns + index + 2)
            show_image(axis, responses[..., index], title=label, signed=True)
            if index == 0:
                axis.set_ylabel(kind, fontsize=9)
    return save_png(figure, path, title="filter responses")
