"""Feature maps: what the layers of a network see in one image, shallow to deep."""

from __future__ import annotations

from collections.abc import Sequence
from pathlib import Path

import keras
import numpy as np
from matplotlib.figure import Figure

from cnnzoo.checks import check_positive_int
from cnnzoo.transfer import feature_extractor
from cnnzoo.viz.figures import new_figure, save_png, show_image, single_image


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

    Only maps with something to see are drawn: a map that is the same everywhere (a dead
    ReLU's zeros) is left out, and the row's label counts the maps left out; a layer
    whose every map is constant gets one panel that says so. Stage outputs of 1x1 maps
    (one number per channel, as LeNet-5's C5 or VGG's last stage on small images) are
    left out of the default rows.

    Args:
        model: A functional Keras model (any cnnzoo model).
        image: One image as the model takes it: ``(height, width, channels)`` or a batch of
            one.
        path: Where to write the PNG.
        layers: A layer name or names (any layer with 2-D maps larger than 1x1); default
            every stage output with maps larger than 1x1.
        max_maps: Maps drawn per layer.

    Returns:
        The matplotlib ``Figure``: one axis per map drawn, ``len(layers)`` rows.

    Raises:
        ValueError: For a bad ``image`` or ``max_maps``, a name that is not a layer of the
            model, a model without stage outputs larger than 1x1 (name ``layers``), or a
            layer whose output is not a map ``(batch, height, width, channels)`` larger
            than 1x1.

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
        >>> stages = feature_maps(model, digit, out)  # no stage3_out: its maps are 1x1
        >>> [axis.get_ylabel() for axis in stages.axes if axis.get_ylabel()]
        ['stage1_out\\n14x14x6', 'stage2_out\\n5x5x16']
    """
    check_positive_int("max_maps", max_maps)
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
        if maps.shape[:2] == (1, 1):
            if names is None:
                continue  # a stage that ends in a vector: nothing to see
            raise ValueError(
                f"layers must name layers with maps larger than 1x1; layer {name!r} outputs "
                f"shape {tuple(activation.shape)}, one number per channel."
            )
        varying = _varying(maps)
        rows.append((name, maps, _maps_to_draw(maps, varying, max_maps), int(varying.sum())))
    if not rows:
        raise ValueError(
            f"model {model.name!r} has no stage output with maps larger than 1x1 for an "
            f"input of {picture.shape}; name the layers to draw with layers=."
        )
    columns = max(max(len(chosen), 1) for _, _, chosen, _ in rows)
    figure = new_figure(1.1 * columns + 1.0, 1.2 * len(rows) + 0.5)
    for row, (name, maps, chosen, varying) in enumerate(rows):
        height, width, channels = maps.shape
        label = f"{name}\n{height}x{width}x{channels}"
        constant = channels - varying
        if constant:
            label += f"\n{constant} constant"
        if not len(chosen):
            axis = figure.add_subplot(len(rows), columns, row * columns + 1)
            axis.text(0.5, 0.5, "every map\nis constant", ha="center", va="center", fontsize=8)
            axis.set_xticks([])
            axis.set_yticks([])
            axis.set_ylabel(label, fontsize=8)
            continue
        for position, channel in enumerate(chosen):
            axis = figure.add_subplot(len(rows), columns, row * columns + position + 1)
            activation = maps[..., channel]
            # Zero stays in range: black is zero in a map of positive values (after a ReLU).
            limits = (min(0.0, activation.min()), max(0.0, activation.max()))
            show_image(axis, activation, title=str(channel), limits=limits)
            if position == 0:
                axis.set_ylabel(label, fontsize=8)
    return save_png(figure, path, title=f"{model.name}: feature maps")


def _varying(maps: np.ndarray) -> np.ndarray:
    """Whether each map of ``(height, width, channels)`` takes more than one value."""
    spread = maps.max(axis=(0, 1)) - maps.min(axis=(0, 1))
    scale = np.maximum(np.abs(maps).max(axis=(0, 1)), 1.0)
    return spread > 1e-6 * scale


def _maps_to_draw(maps: np.ndarray, varying: np.ndarray, max_maps: int) -> np.ndarray:
    """The channels of the ``max_maps`` most active maps that are not constant, in order."""
    candidates = np.flatnonzero(varying)
    strength = np.abs(maps).mean(axis=(0, 1))[candidates]
    return np.sort(candidates[np.argsort(-strength, kind="stable")[:max_maps]])
