"""Feature maps: what the layers of a network see in one image, shallow to deep."""

from __future__ import annotations

from collections.abc import Sequence
from pathlib import Path

import keras
import numpy as np
from matplotlib.figure import Figure

from cnnzoo.transfer import feature_extractor
from cnnzoo.viz.figures import check_positive, new_figure, save_png, show_image, single_image


def feature_maps(
    model: keras.Model,
    image,
    path: str | Path,
    *,
    layers: str | Sequence[str] | None = None,
    max_maps: int = 16,
) -> Figure:
    """Draws the activations of chosen layers for one image, one row per layer.

    By default the rows are the stage outputs (``stage1_out``, ``stage2_out``, ...): the
    hierarchy of features, from large maps that follow edges to small, coarse maps that
    respond to parts of objects. Each row shows the layer's ``max_maps`` most active maps
    (largest mean absolute activation), in channel order, each on its own gray scale from
    zero (or its lowest value) to its highest value.

    Args:
        model: A functional Keras model (any cnnzoo model).
        image: One image as the model takes it: ``(height, width, channels)`` or a batch of
            one.
        path: Where to write the PNG.
        layers: A layer name or names (any layer with a 2-D map output); default every stage
            output.
        max_maps: Maps drawn per layer.

    Returns:
        The matplotlib ``Figure``: one axis per map drawn, ``len(layers)`` rows.

    Raises:
        ValueError: For a bad ``image`` or ``max_maps``, a name that is not a layer of the
            model, a model without stage outputs (name ``layers``), or a layer whose output
            is not a map ``(batch, height, width, channels)``.

    Example:
        >>> import tempfile, pathlib
        >>> from cnnzoo import lenet5
        >>> from cnnzoo.data import load_sample
        >>> digit = load_sample("mnist").train.images[0]
        >>> model = lenet5(input_shape=(28, 28, 1), padding=(2, "valid", "valid"))
        >>> out = pathlib.Path(tempfile.mkdtemp()) / "maps.png"
        >>> figure = feature_maps(model, digit, out, layers=["c1_act", "c3_act"], max_maps=4)
        >>> [axis.get_ylabel() for axis in figure.axes if axis.get_ylabel()]
        ['c1_act\\n28x28x6', 'c3_act\\n10x10x16']
    """
    check_positive("max_maps", max_maps)
    picture = single_image(image)
    expected = tuple(model.input_shape[1:])
    sizes = zip(expected, picture.shape, strict=False)
    if len(expected) != 3 or any(size not in (None, given) for size, given in sizes):
        raise ValueError(
            f"image must match the model's input {expected}; received shape {picture.shape}."
        )
    names = [layers] if isinstance(layers, str) else layers
    activations = feature_extractor(model, names)(picture[None])
    rows = []
    for name, activation in activations.items():
        maps = keras.ops.convert_to_numpy(activation)[0]
        if maps.ndim != 3:
            raise ValueError(
                f"layers must name layers with 2-D maps (batch, height, width, channels); "
                f"layer {name!r} outputs shape {tuple(activation.shape)}."
            )
        strongest = np.argsort(-np.abs(maps).mean(axis=(0, 1)), kind="stable")[:max_maps]
        rows.append((name, maps, np.sort(strongest)))
    columns = max(len(chosen) for _, _, chosen in rows)
    figure = new_figure(1.1 * columns + 1.0, 1.2 * len(rows) + 0.5)
    for row, (name, maps, chosen) in enumerate(rows):
        for position, channel in enumerate(chosen):
            axis = figure.add_subplot(len(rows), columns, row * columns + position + 1)
            activation = maps[..., channel]
            # Zero stays in range: a dead map is black, a 1x1 map's brightness is its value.
            limits = (min(0.0, activation.min()), max(0.0, activation.max()))
            show_image(axis, activation, title=str(channel), limits=limits)
            if position == 0:
                height, width, channels = maps.shape
                axis.set_ylabel(f"{name}\n{height}x{width}x{channels}", fontsize=8)
    return save_png(figure, path, title=f"{model.name}: feature maps")
