"""Loading a saved cnnzoo model's weights into another model of the same backbone.

Layers are matched by name. Every weighted layer of the backbone (up to the last
``stage{i}_out``) must match: the same number of weights, the same shapes, and, where the
source is a model, the same kernel sizes, strides and batch-norm epsilons. Head layers that
differ (another class count, other hidden units) are skipped and reported. The first
convolution is adapted to another number of input channels (see :func:`adapt_input_kernel`).
"""

from __future__ import annotations

import os
from dataclasses import dataclass
from typing import Any

import h5py
import keras
import numpy as np

from cnnzoo.checks import check_bool
from cnnzoo.transfer.features import backbone_layers


@dataclass(frozen=True)
class WeightsReport:
    """What :func:`load_weights` or :func:`~cnnzoo.transfer.imagenet.load_imagenet_weights`
    did: layers loaded, layers skipped with the reason, the adapted first convolution, and
    for ImageNet weights the preprocessing they expect.

    Attributes:
        source: Where the weights came from (a file name or a model name).
        loaded: Names of the layers whose weights were set.
        skipped: ``(layer name, reason)`` of the layers left as they were.
        adapted: ``(layer name, how)`` of the first convolution when the input channels
            differ.
        preprocessing: ``"caffe"`` (BGR, ImageNet mean subtracted, 0-255 scale) or
            ``"tf"`` (RGB scaled to [-1, 1]) for ImageNet weights; ``None`` otherwise.
        preprocess_input: The keras function that applies it, for example
            ``"keras.applications.vgg16.preprocess_input"``.
        pretrained: The catalogue entry loaded (:class:`cnnzoo.pretrained.PretrainedWeights`)
            when the weights were named by a tag: its ``preprocessing`` is the input they
            expect.
    """

    source: str
    loaded: tuple[str, ...]
    skipped: tuple[tuple[str, str], ...] = ()
    adapted: tuple[tuple[str, str], ...] = ()
    preprocessing: str | None = None
    preprocess_input: str | None = None
    pretrained: Any = None

    def __str__(self) -> str:
        text = f"Loaded {len(self.loaded)} layers from {self.source}."
        if self.skipped:
            reasons = "; ".join(f"{name}: {reason}" for name, reason in self.skipped)
            text += f" Skipped {len(self.skipped)} ({reasons})."
        for name, how in self.adapted:
            text += f" {name}: {how}."
        if self.preprocessing:
            text += f" Preprocess inputs with {self.preprocess_input} ({self.preprocessing!r})."
        elif self.pretrained is not None:
            text += f" Inputs: {self.pretrained.preprocessing.describe()}."
        return text


class WeightsMismatchError(ValueError):
    """A layer whose weights cannot be loaded (raised for the backbone, reported for the head)."""


def adapt_input_kernel(kernel: np.ndarray, channels: int) -> np.ndarray:
    """A first-convolution kernel ``(..., in, out)`` for ``channels`` input channels.

    RGB to one channel sums over the colours, so a gray image gives what the RGB model
    gives on that image in three equal channels; otherwise the channels repeat cyclically,
    rescaled by ``in / channels`` so the response to equal channels stays the same.

    Example:
        >>> import numpy as np
        >>> kernel = np.ones((3, 3, 3, 8), "float32")
        >>> adapt_input_kernel(kernel, 1).shape, float(adapt_input_kernel(kernel, 1).max())
        ((3, 3, 1, 8), 3.0)
        >>> float(adapt_input_kernel(kernel, 6).sum(axis=-2).max())
        3.0
    """
    source = kernel.shape[-2]
    if channels == 1:
        return kernel.sum(axis=-2, keepdims=True)
    repeated = np.take(kernel, [i % source for i in range(channels)], axis=-2)
    return (repeated * (source / channels)).astype(kernel.dtype)


def _config_problem(target: keras.layers.Layer, source: keras.layers.Layer) -> str | None:
    if type(target).__name__ != type(source).__name__:
        return f"{type(source).__name__} in the source, {type(target).__name__} here"
    for attribute in ("kernel_size", "strides", "dilation_rate", "groups"):
        theirs, ours = getattr(source, attribute, None), getattr(target, attribute, None)
        if _as_tuple(theirs) != _as_tuple(ours):  # a reloaded layer may hold lists
            return f"{attribute} {theirs} in the source, {ours} here"
    # Within 0.2%, outputs differ by under 0.1%: cnnzoo's 1e-5 takes keras' ResNet's 1.001e-5.
    if isinstance(target, keras.layers.BatchNormalization) and not np.isclose(
        source.epsilon, target.epsilon, rtol=2e-3, atol=0
    ):
        return f"batch-norm epsilon {source.epsilon} in the source, {target.epsilon} here"
    return None


def _as_tuple(value):
    return tuple(value) if isinstance(value, list) else value


def _but_inputs(shape) -> tuple:
    return tuple(shape[:-2]) + tuple(shape[-1:])


def _match_layer(target, arrays, source=None, *, first_conv=False):
    """The arrays to set on ``target`` and how they were adapted (or ``None``); raises
    :class:`WeightsMismatchError` with what differs."""
    problem = None if source is None else _config_problem(target, source)
    ours = [tuple(weight.shape) for weight in target.weights]
    theirs = [tuple(array.shape) for array in arrays]
    note = None
    if problem is None and first_conv and ours != theirs and len(ours) == len(theirs):
        kernel, channels = arrays[0], ours[0][-2]
        if ours[1:] == theirs[1:] and _but_inputs(ours[0]) == _but_inputs(kernel.shape):
            arrays = [adapt_input_kernel(kernel, channels), *arrays[1:]]
            how = "summed over" if channels == 1 else "repeated cyclically and rescaled from"
            note = f"kernel {how} {kernel.shape[-2]} input channels to {channels}"
            theirs = [tuple(array.shape) for array in arrays]
    if problem is None and ours != theirs:
        problem = f"weight shapes {theirs} in the source, {ours} here"
    if problem:
        raise WeightsMismatchError(problem)
    return arrays, note


def copy_weights(model, pairs, *, source, skip_head_mismatch=True, hint="", **report):
    """Sets ``model``'s weights from ``pairs`` of ``(target layer, source arrays or None,
    source layer or None)`` and returns the :class:`WeightsReport`. Nothing is set unless
    every backbone layer matches."""
    backbone = backbone_layers(model)
    first_weighted = next(layer for layer in model.layers if layer.weights)
    updates, skipped, adapted = [], [], []
    for target, arrays, source_layer in pairs:
        in_backbone = target.name in backbone
        try:
            if arrays is None:
                raise WeightsMismatchError("not in the source")
            first = target is first_weighted and len(target.weights[0].shape) > 2
            arrays, note = _match_layer(target, arrays, source_layer, first_conv=first)
        except WeightsMismatchError as error:
            if in_backbone or not skip_head_mismatch:
                where = "backbone" if in_backbone else "head"
                if source_layer is not None and source_layer.name != target.name:
                    where += f"; the source's {source_layer.name!r}"
                raise WeightsMismatchError(
                    f"Cannot load {source} into model {model.name!r}: layer {target.name!r}: "
                    f"{error} ({where}).{hint}"
                ) from None
            skipped.append((target.name, str(error)))
            continue
        updates.append((target, arrays))
        if note:
            adapted.append((target.name, note))
    for target, arrays in updates:
        target.set_weights(arrays)
    loaded = tuple(target.name for target, _ in updates)
    return WeightsReport(source, loaded, tuple(skipped), tuple(adapted), **report)


def _weights_h5_arrays(path: str) -> dict[str, list[np.ndarray]]:
    """Per layer name, the arrays of a Keras 3 ``.weights.h5`` file (which records names)."""
    arrays = {}
    with h5py.File(path, "r") as file:
        if "layers" not in file:
            raise ValueError(f"{path} is not a Keras 3 .weights.h5 file of a model.")
        for group in file["layers"].values():
            variables = group.get("vars")
            if variables is None or not len(variables):
                continue
            if "name" not in variables.attrs:
                raise ValueError(
                    f"{path} does not record layer names (saved by an older Keras); load the "
                    "model saved as .keras instead."
                )
            arrays[variables.attrs["name"]] = [variables[str(i)][()] for i in range(len(variables))]
    return arrays


def load_weights(model: keras.Model, source, *, skip_head_mismatch: bool = True) -> WeightsReport:
    """Loads the weights of a saved cnnzoo model into ``model``, matching layers by name.

    The source may have another head: with ``skip_head_mismatch`` the head layers whose
    weights do not fit (``predictions`` for another class count, for example) keep their
    fresh weights and are reported. A backbone that does not match is an error and nothing
    is loaded. An RGB model's first convolution is adapted to a model with other input
    channels (summed over the colours for one channel; see :func:`adapt_input_kernel`).

    Args:
        model: The model to load into.
        source: A ``keras.Model``, a ``.keras`` file, or a Keras 3 ``.weights.h5`` file
            (its layers are checked by weight shapes only; a ``.keras`` file or a model
            also checks kernel sizes, strides and batch-norm epsilons).
        skip_head_mismatch: Skip head layers that do not fit instead of raising.

    Returns:
        A :class:`WeightsReport` (its ``str`` is a one-line summary).

    Raises:
        ValueError: For a source of another kind, or a layer that does not fit
            (:class:`WeightsMismatchError`, naming the layer and both shapes).

    Example:
        >>> from cnnzoo import resnet18
        >>> pretrained = resnet18(input_shape=(32, 32, 3), num_classes=10)
        >>> model = resnet18(input_shape=(32, 32, 1), num_classes=5)
        >>> print(load_weights(model, pretrained))  # doctest: +NORMALIZE_WHITESPACE
        Loaded 40 layers from resnet18. Skipped 1 (predictions: weight shapes [(512, 10),
        (10,)] in the source, [(512, 5), (5,)] here). stem_conv: kernel summed over 3 input
        channels to 1.
    """
    if not isinstance(model, keras.Model):
        raise ValueError(f"model must be a keras.Model; received model={model!r}.")
    check_bool("skip_head_mismatch", skip_head_mismatch)
    layers, arrays = {}, {}
    if isinstance(source, keras.Model):
        name = source.name
        layers = {layer.name: layer for layer in source.layers if layer.weights}
        arrays = {key: layer.get_weights() for key, layer in layers.items()}
    elif isinstance(source, (str, os.PathLike)) and str(source).endswith(".keras"):
        name = os.path.basename(source)
        saved = keras.saving.load_model(source, compile=False)
        layers = {layer.name: layer for layer in saved.layers if layer.weights}
        arrays = {key: layer.get_weights() for key, layer in layers.items()}
    elif isinstance(source, (str, os.PathLike)) and str(source).endswith(".weights.h5"):
        name = os.path.basename(source)
        arrays = _weights_h5_arrays(os.fspath(source))
    else:
        raise ValueError(
            "source must be a keras.Model, a .keras file or a .weights.h5 file; received "
            f"source={source!r}. For keras.applications' ImageNet .h5 files use "
            "load_imagenet_weights(model, path)."
        )
    pairs = [
        (layer, arrays.get(layer.name), layers.get(layer.name))
        for layer in model.layers
        if layer.weights
    ]
    return copy_weights(model, pairs, source=name, skip_head_mismatch=skip_head_mismatch)
