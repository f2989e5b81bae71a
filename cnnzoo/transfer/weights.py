"""Loading a saved cnnzoo model's weights into another model of the same backbone.

Layers are matched by name. Every weighted layer of the backbone (up to the last
``stage{i}_out``) must match: the same number of weights, the same shapes, and, where the
source is a model, the same kernel sizes, strides and batch-norm epsilons. Head layers that
differ (another class count, other hidden units) are skipped and reported. The first
convolution is adapted to another number of input channels (see
:func:`~cnnzoo.transfer.kernels.adapt_input_kernel`). 2-D kernels load into 1-D and 3-D
networks through :func:`~cnnzoo.transfer.kernels.inflate_kernel`: this module is where a
source kernel of one rank meets a target kernel of another, for every source (saved models,
keras.applications files, torchvision state dicts); :mod:`cnnzoo.transfer.kernels` holds
the array functions that fit one to the other.
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
from cnnzoo.transfer.kernels import RANKED_CONV, adapt_input_kernel, inflated_to, inflates


@dataclass(frozen=True)
class WeightsReport:
    """What :func:`load_weights` or :func:`~cnnzoo.transfer.imagenet.load_imagenet_weights`
    did: layers loaded, layers skipped with the reason, the adapted first convolution, and
    for ImageNet weights the preprocessing they expect.

    Attributes:
        source: Where the weights came from (a file name or a model name).
        loaded: Names of the layers whose weights were set.
        skipped: ``(layer name, reason)`` of the layers left as they were.
        adapted: ``(layer name, how)`` of each convolution whose kernel was changed to fit:
            the first one for other input channels, every one for a 2-D source in a 1-D or
            3-D network (:func:`~cnnzoo.transfer.kernels.inflate_kernel`).
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
        for how, names in _grouped(self.adapted):
            shown = ", ".join(names) if len(names) < 3 else f"{names[0]} to {names[-1]}"
            where = names[0] if len(names) == 1 else f"{len(names)} layers ({shown})"
            text += f" {where}: {how}."
        if self.preprocessing:
            text += f" Preprocess inputs with {self.preprocess_input} ({self.preprocessing!r})."
        elif self.pretrained is not None:
            text += f" Inputs: {self.pretrained.preprocessing.describe()}."
        return text


def _grouped(adapted) -> list[tuple[str, list[str]]]:
    """The notes of ``adapted`` in order, each with the layers it applies to."""
    groups: dict[str, list[str]] = {}
    for name, how in adapted:
        groups.setdefault(how, []).append(name)
    return list(groups.items())


class WeightsMismatchError(ValueError):
    """A layer whose weights cannot be loaded (raised for the backbone, reported for the head)."""


class FlattenedClassifierError(WeightsMismatchError):
    """A dense layer reading a ``Flatten`` of a 1-D or 3-D map, whose weights (one per
    position of the source's 2-D map) have no counterpart to inflate into."""


# Layers that pass a Flatten's output on unchanged (between it and the dense layer).
_PASS_THROUGH = (keras.layers.Dropout, keras.layers.Identity)


def flattened_map(layer: keras.layers.Layer) -> tuple[int, ...] | None:
    """The ``(*spatial, channels)`` map a dense layer reads through a ``Flatten``, if any."""
    operation = layer.input._keras_history.operation
    while isinstance(operation, _PASS_THROUGH):
        operation = operation.input._keras_history.operation
    if isinstance(operation, keras.layers.Flatten) and len(operation.input.shape) > 2:
        return tuple(operation.input.shape[1:])
    return None


def _config_problem(target: keras.layers.Layer, source: keras.layers.Layer) -> str | None:
    inflating = isinstance(target, RANKED_CONV) and isinstance(source, keras.layers.Conv2D)
    if type(target).__name__ != type(source).__name__ and not inflating:
        return f"{type(source).__name__} in the source, {type(target).__name__} here"
    for attribute in ("kernel_size", "strides", "dilation_rate", "groups"):
        theirs, ours = getattr(source, attribute, None), getattr(target, attribute, None)
        compared = _as_tuple(theirs), _as_tuple(ours)  # a reloaded layer may hold lists
        if inflating and attribute != "groups":
            # A 2-D source fixes a 3-D layer's height and width (its depth is free) and a
            # 1-D layer's length, as the height (the width it collapses is free).
            mine = tuple(ours)[-2:]
            compared = tuple(theirs)[: len(mine)], mine
        if compared[0] != compared[1]:
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


def _match_layer(target, arrays, source=None, *, first_conv=False, inflating=False):
    """The arrays to set on ``target`` and how they were adapted (or ``None``); raises
    :class:`WeightsMismatchError` with what differs. ``inflating``: the convolutions
    before ``target`` took 2-D kernels (a dense layer on a flattened map cannot)."""
    problem = None if source is None else _config_problem(target, source)
    ours = [tuple(weight.shape) for weight in target.weights]
    theirs = [tuple(array.shape) for array in arrays]
    notes = []
    if (
        problem is None
        and inflates(target, arrays)
        and (inflated := inflated_to(ours[0], arrays[0])) is not None
    ):
        arrays = [inflated[0], *arrays[1:]]
        notes.append(inflated[1])
        theirs = [tuple(array.shape) for array in arrays]
    if problem is None and first_conv and ours != theirs and len(ours) == len(theirs):
        kernel, channels = arrays[0], ours[0][-2]
        if ours[1:] == theirs[1:] and _but_inputs(ours[0]) == _but_inputs(kernel.shape):
            arrays = [adapt_input_kernel(kernel, channels), *arrays[1:]]
            how = "summed over" if channels == 1 else "repeated cyclically and rescaled from"
            notes.append(f"kernel {how} {kernel.shape[-2]} input channels to {channels}")
            theirs = [tuple(array.shape) for array in arrays]
    flat = flattened_map(target) if isinstance(target, keras.layers.Dense) else None
    # Only a map of one position (1x1 in 2-D, 1 or 1x1x1 here) means the same in any rank.
    if problem is None and inflating and flat is not None and np.prod(flat[:-1]) > 1:
        size = "x".join(map(str, flat))
        raise FlattenedClassifierError(
            f"it reads a Flatten of a {len(flat) - 1}-D map ({size}); a dense layer on a "
            "flattened 2-D map has weights for each of its positions and does not inflate "
            "to 1-D or 3-D"
        )
    if problem is None and ours != theirs:
        problem = f"weight shapes {theirs} in the source, {ours} here"
    if problem:
        raise WeightsMismatchError(problem)
    return arrays, "; ".join(notes) or None


def refuse_half_classifier(model, loaded, flattened, *, source, hint=""):
    """Raises when a dense layer on a flattened map could not inflate
    (:class:`FlattenedClassifierError`, ``flattened``: ``(layer name, error)``) while the
    model's last layer, its classifier, loaded: the model would keep the source's classes
    on features that no longer mean what they did. With another class count the whole
    classifier is new anyway, and the skipped layers are only reported."""
    last = next(layer for layer in reversed(model.layers) if layer.weights)
    if flattened and last.name in loaded:
        name, error = flattened[0]
        raise WeightsMismatchError(
            f"Cannot load {source} into model {model.name!r}: layer {name!r}: {error}. Its "
            f"classifier {last.name!r} would keep the source's weights on a fresh {name!r}: "
            "build the model with include_top=False (the backbone loads; pooling='avg' for "
            f"features), or with another num_classes for a new classifier.{hint}"
        )


def copy_weights(model, pairs, *, source, skip_head_mismatch=True, hint="", **report):
    """Sets ``model``'s weights from ``pairs`` of ``(target layer, source arrays or None,
    source layer or None)`` and returns the :class:`WeightsReport`. Nothing is set unless
    every backbone layer matches."""
    backbone = backbone_layers(model)
    first_weighted = next(layer for layer in model.layers if layer.weights)
    updates, skipped, adapted, flattened = [], [], [], []
    inflating = False
    for target, arrays, source_layer in pairs:
        in_backbone = target.name in backbone
        try:
            if arrays is None:
                raise WeightsMismatchError("not in the source")
            first = target is first_weighted and len(target.weights[0].shape) > 2
            inflating = inflating or inflates(target, arrays)
            arrays, note = _match_layer(
                target, arrays, source_layer, first_conv=first, inflating=inflating
            )
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
            if isinstance(error, FlattenedClassifierError):
                flattened.append((target.name, str(error)))
            continue
        updates.append((target, arrays))
        if note:
            adapted.append((target.name, note))
    loaded = tuple(target.name for target, _ in updates)
    refuse_half_classifier(model, loaded, flattened, source=source, hint=hint)
    for target, arrays in updates:
        target.set_weights(arrays)
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
    channels (summed over the colours for one channel; see
    :func:`~cnnzoo.transfer.kernels.adapt_input_kernel`). A 2-D source loads into the same
    network built in 1-D or 3-D: every kernel is inflated
    (:func:`~cnnzoo.transfer.kernels.inflate_kernel`; a 3-D layer's depth settings are free,
    its height and width must be the source's), and a dense layer on a ``Flatten`` of the
    map, which cannot inflate, is skipped where the classifier is new anyway and refused
    where it is not.

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
