"""PyTorch state dicts in torchvision's layout, ported into cnnzoo models by layer name and
exported back, and the logit comparison that proves a port equal to its source.

A state dict key is ``<module>.<tensor>`` (``layer1.0.conv1.weight``). Each named model
declares, in its family file, which torchvision module holds each of its layers
(:class:`cnnzoo.family.TorchLayout`); :func:`torch_layouts` lists them. Tensors change
layout on the way: convolution kernels ``(out, in, *window)`` become ``(*window, in, out)``
(1-D, 2-D and 3-D), dense weights ``(out, in)`` become ``(in, out)`` (reordered from
channels-first to channels-last where a ``Flatten`` feeds them), batch norm's ``weight``,
``bias``, ``running_mean`` and ``running_var`` become gamma, beta and the moving
statistics (``num_batches_tracked`` is left out).

Nothing here imports PyTorch: tensors are numpy arrays (``np.asarray`` takes a CPU torch
tensor as it is).
"""

from __future__ import annotations

import fnmatch
from collections.abc import Iterable, Mapping
from typing import NamedTuple

import keras
import numpy as np

from cnnzoo.family import TorchLayout
from cnnzoo.registry import families
from cnnzoo.transfer.features import backbone_layers
from cnnzoo.transfer.kernels import inflates
from cnnzoo.transfer.weights import (
    FlattenedClassifierError,
    WeightsMismatchError,
    WeightsReport,
    _match_layer,
    flattened_map,
    refuse_half_classifier,
)

CONV_LAYERS = (keras.layers.Conv1D, keras.layers.Conv2D, keras.layers.Conv3D)
# PyTorch counts batch-norm updates in a buffer that computes nothing at inference.
IGNORED_TENSORS = ("num_batches_tracked",)
# The parts of a torchvision classifier that a model may be built without: the classifier
# (include_top=False) and the auxiliary heads (aux_logits=False).
OPTIONAL_MODULES = ("fc", "classifier", "aux1", "aux2", "AuxLogits")


class LogitDifference(NamedTuple):
    """How far a port's logits are from its reference's.

    Attributes:
        max_abs: The largest absolute difference.
        relative: ``max_abs / max(1, max |reference|)``: the difference on the scale of the
            logits (and absolute where they are small).
    """

    max_abs: float
    relative: float


def compare_logits(reference, ported) -> LogitDifference:
    """The largest difference between two sets of logits, absolute and on their scale.

    Args:
        reference: The source model's logits (any array-like).
        ported: The ported model's logits on the same inputs, of the same shape.

    Returns:
        A :class:`LogitDifference`.

    Raises:
        ValueError: If the shapes differ.

    Example:
        >>> compare_logits([[10.0, -20.0]], [[10.0, -20.004]])
        LogitDifference(max_abs=0.004, relative=0.0002)
    """
    reference = np.asarray(reference, dtype="float64")
    ported = np.asarray(ported, dtype="float64")
    if reference.shape != ported.shape:
        raise ValueError(
            f"The logits must have the same shape; received {reference.shape} and {ported.shape}."
        )
    max_abs = float(np.max(np.abs(reference - ported), initial=0.0))
    scale = max(1.0, float(np.max(np.abs(reference), initial=0.0)))
    return LogitDifference(round(max_abs, 12), round(max_abs / scale, 12))


def torch_layouts() -> dict[str, TorchLayout]:
    """The named models whose family file declares a torchvision layout, with it.

    Example:
        >>> layouts = torch_layouts()
        >>> layouts["googlenet_bn"].torchvision_model, layouts["inception_v3"].norm_epsilon
        ('googlenet', 0.001)
    """
    return {
        named.name: named.torch_layout
        for family in families()
        for named in family.models
        if named.torch_layout is not None
    }


def _layout(model: keras.Model, source: str | None) -> TorchLayout:
    name = model.name if source is None else source
    layouts = torch_layouts()
    if name not in layouts:
        given = f"model {model.name!r}" if source is None else f"source={source!r}"
        raise ValueError(
            f"No torchvision layout is declared for {given}. Named models with one: "
            f"{', '.join(layouts)}; a model with another name takes source=<one of them>."
        )
    return layouts[name]


def tensor_names(layer: keras.layers.Layer) -> tuple[str, ...]:
    """The PyTorch tensor names of ``layer``'s weights, in the order Keras keeps them.

    Example:
        >>> tensor_names(keras.layers.BatchNormalization(scale=False))
        ('bias', 'running_mean', 'running_var')
    """
    if isinstance(layer, keras.layers.BatchNormalization):
        affine = ("weight",) * layer.scale + ("bias",) * layer.center
        return (*affine, "running_mean", "running_var")
    if isinstance(layer, (*CONV_LAYERS, keras.layers.Dense)):
        return ("weight", "bias") if layer.use_bias else ("weight",)
    raise WeightsMismatchError(f"a {type(layer).__name__} layer has no PyTorch counterpart")


def _to_keras(layer, name: str, tensor: np.ndarray) -> np.ndarray:
    if name != "weight" or isinstance(layer, keras.layers.BatchNormalization):
        return tensor
    if isinstance(layer, keras.layers.Dense):
        flat = flattened_map(layer)
        if flat is not None and tensor.ndim == 2 and tensor.shape[1] == np.prod(flat):
            # PyTorch flattens (channels, *spatial), Keras (*spatial, channels).
            spatial = tuple(range(2, len(flat) + 1))
            tensor = tensor.reshape(-1, flat[-1], *flat[:-1]).transpose(0, *spatial, 1)
            tensor = tensor.reshape(tensor.shape[0], -1)
        return tensor.T
    return tensor.transpose(
        *range(2, tensor.ndim), 1, 0
    )  # (out, in, *window) -> (*window, in, out)


def _to_torch(layer, name: str, weight: np.ndarray) -> np.ndarray:
    if name != "weight" or isinstance(layer, keras.layers.BatchNormalization):
        return weight
    if isinstance(layer, keras.layers.Dense):
        tensor = weight.T
        flat = flattened_map(layer)
        if flat is not None:
            tensor = tensor.reshape(-1, *flat).transpose(0, len(flat), *range(1, len(flat)))
            tensor = tensor.reshape(tensor.shape[0], -1)
        return tensor
    return weight.transpose(weight.ndim - 1, weight.ndim - 2, *range(weight.ndim - 2))


def _layer_arrays(layer, module: str | None, state, layout: TorchLayout) -> list[np.ndarray]:
    """The Keras arrays of ``layer`` from its module's tensors in ``state``; raises
    :class:`WeightsMismatchError` with what does not fit."""
    if module is None:
        raise WeightsMismatchError(
            f"it has no counterpart in torchvision's {layout.torchvision_model}"
        )
    names = tensor_names(layer)
    missing = [f"{module}.{name}" for name in names if f"{module}.{name}" not in state]
    if missing:
        raise WeightsMismatchError(f"no tensor {', '.join(map(repr, missing))} in the state dict")
    extra = [
        key
        for key in state
        if key.rpartition(".")[0] == module
        and key.rpartition(".")[2] not in (*names, *IGNORED_TENSORS)
    ]
    if extra:
        raise WeightsMismatchError(
            f"the state dict has {', '.join(map(repr, extra))}, which it has no weight for "
            f"(its weights take {', '.join(names)})"
        )
    # A state dict does not record epsilon; within 0.2%, outputs differ by under 0.1%.
    if (
        isinstance(layer, keras.layers.BatchNormalization)
        and layout.norm_epsilon is not None
        and not np.isclose(layer.epsilon, layout.norm_epsilon, rtol=2e-3, atol=0)
    ):
        raise WeightsMismatchError(
            f"batch-norm epsilon {layer.epsilon} here, {layout.norm_epsilon} in "
            f"torchvision's {layout.torchvision_model}"
        )
    return [_to_keras(layer, name, np.asarray(state[f"{module}.{name}"])) for name in names]


def port_state_dict(
    model: keras.Model,
    state_dict: Mapping[str, np.ndarray],
    *,
    source: str | None = None,
    ignore: Iterable[str] = (),
    skip_head_mismatch: bool = False,
) -> WeightsReport:
    """Copies a torchvision state dict into a cnnzoo model, layer by layer by name.

    Every layer with weights takes the tensors of the torchvision module its family file
    names (:class:`cnnzoo.family.TorchLayout`), converted to Keras' layout, with every shape
    checked (kernel sizes and groups show in the kernel's shape), the batch-norm epsilon
    checked against the source's (a state dict does not record it), and every tensor used
    exactly once. Nothing is set unless all of it fits. An RGB state dict loads into a model
    with other input channels through :func:`~cnnzoo.transfer.adapt_input_kernel`, and
    into a 1-D or 3-D model of the same layout through
    :func:`~cnnzoo.transfer.inflate_kernel` (each inflated layer reported).

    Args:
        model: The model to load into.
        state_dict: Tensor name -> array (torch tensors on the CPU work as they are).
        source: The registered name whose layout the state dict has (default: the model's
            name), e.g. ``"resnet50"`` for torchvision's ``resnet50`` or timm's
            ``resnet50.a1_in1k``.
        ignore: ``fnmatch`` patterns of tensors to leave out on purpose (``"aux1.*"`` for a
            model built without the auxiliary heads the checkpoint has); reported.
        skip_head_mismatch: Leave head layers whose weights do not fit (another class
            count) as they are, and report them, instead of raising.

    Returns:
        A :class:`~cnnzoo.transfer.WeightsReport`.

    Raises:
        ValueError: For a model without a declared layout; a
            :class:`~cnnzoo.transfer.WeightsMismatchError` naming the first layer that does
            not fit (a missing tensor, another shape, another epsilon), or listing the
            tensors that no layer takes.

    Example:
        >>> from cnnzoo import resnet18
        >>> source = resnet18(input_shape=(32, 32, 3), num_classes=10)
        >>> state_dict = export_state_dict(source)
        >>> state_dict["layer1.0.conv1.weight"].shape
        (64, 64, 3, 3)
        >>> print(port_state_dict(resnet18(input_shape=(64, 64, 3), num_classes=10), state_dict))
        Loaded 41 layers from a torchvision resnet18 state dict.
    """
    layout = _layout(model, source)
    where = f"a torchvision {layout.torchvision_model} state dict"
    patterns = tuple(ignore)
    ignored = [key for key in state_dict if any(fnmatch.fnmatchcase(key, p) for p in patterns)]
    state = {key: value for key, value in state_dict.items() if key not in ignored}
    backbone = backbone_layers(model)
    first_weighted = next(layer for layer in model.layers if layer.weights)
    updates, skipped, adapted, flattened, used = [], [], [], [], set()
    inflating = False
    for layer in (layer for layer in model.layers if layer.weights):
        module = layout.module_name(layer.name)
        try:
            arrays = _layer_arrays(layer, module, state, layout)
            used.update(f"{module}.{name}" for name in (*tensor_names(layer), *IGNORED_TENSORS))
            first = layer is first_weighted and len(layer.weights[0].shape) > 2
            inflating = inflating or inflates(layer, arrays)
            arrays, note = _match_layer(layer, arrays, first_conv=first, inflating=inflating)
        except WeightsMismatchError as error:
            if layer.name in backbone or not skip_head_mismatch:
                counterpart = f" (torchvision's {module!r})" if module else ""
                raise WeightsMismatchError(
                    f"Cannot port {where} into model {model.name!r}: layer "
                    f"{layer.name!r}{counterpart}: {error}.{layout.hint}"
                ) from None
            skipped.append((layer.name, str(error)))
            if isinstance(error, FlattenedClassifierError):
                flattened.append((layer.name, str(error)))
            continue
        updates.append((layer, arrays))
        if note:
            adapted.append((layer.name, note))
    _check_leftovers(model, where, [key for key in state if key not in used])
    loaded = tuple(layer.name for layer, _ in updates)
    refuse_half_classifier(model, loaded, flattened, source=where, hint=layout.hint)
    for layer, arrays in updates:
        layer.set_weights(arrays)
    skipped += [(key, "ignored") for key in ignored]
    return WeightsReport(where, loaded, tuple(skipped), tuple(adapted))


def absent_parts(model: keras.Model, *, source: str | None = None) -> tuple[str, ...]:
    """``ignore`` patterns for the optional parts of the source's layout that ``model`` was
    built without: its classifier (``include_top=False``) and auxiliary heads.

    Example:
        >>> from cnnzoo import resnet18
        >>> absent_parts(resnet18(input_shape=(32, 32, 3), include_top=False))
        ('fc.*', 'classifier.*', 'aux1.*', 'aux2.*', 'AuxLogits.*')
        >>> absent_parts(resnet18(input_shape=(32, 32, 3)))
        ('classifier.*', 'aux1.*', 'aux2.*', 'AuxLogits.*')
    """
    layout = _layout(model, source)
    taken = {layout.module_name(layer.name) for layer in model.layers if layer.weights}
    roots = {module.split(".")[0] for module in taken if module}
    return tuple(f"{root}.*" for root in OPTIONAL_MODULES if root not in roots)


def _check_leftovers(model, where: str, leftovers: list[str]) -> None:
    leftovers = [key for key in leftovers if key.rpartition(".")[2] not in IGNORED_TENSORS]
    if not leftovers:
        return
    shown = ", ".join(leftovers[:8]) + (f", ... ({len(leftovers)} in all)" * (len(leftovers) > 8))
    raise WeightsMismatchError(
        f"Cannot port {where} into model {model.name!r}: {len(leftovers)} tensors have no "
        f"layer in the model: {shown}. A model built without a part the source has (the "
        "classifier, auxiliary heads) takes ignore=[patterns] to leave them out."
    )


def export_state_dict(model: keras.Model, *, source: str | None = None) -> dict[str, np.ndarray]:
    """The model's weights as a torchvision state dict: the inverse of
    :func:`port_state_dict` (``torch_model.load_state_dict`` takes it after
    ``torch.from_numpy`` on each array).

    Args:
        model: A cnnzoo model.
        source: The registered name whose layout to write (default: the model's name).

    Returns:
        Tensor name -> numpy array, ``num_batches_tracked`` (0) included for batch norm.

    Raises:
        ValueError: For a model without a declared layout, or a layer with no counterpart.

    Example:
        >>> from cnnzoo import alexnet_single_tower
        >>> state_dict = export_state_dict(alexnet_single_tower())
        >>> state_dict["features.0.weight"].shape, state_dict["classifier.1.weight"].shape
        ((64, 3, 11, 11), (4096, 9216))
    """
    layout = _layout(model, source)
    state = {}
    for layer in (layer for layer in model.layers if layer.weights):
        module = layout.module_name(layer.name)
        if module is None:
            raise ValueError(
                f"Layer {layer.name!r} of model {model.name!r} has no counterpart in "
                f"torchvision's {layout.torchvision_model}.{layout.hint}"
            )
        for name, weight in zip(tensor_names(layer), layer.get_weights(), strict=True):
            state[f"{module}.{name}"] = np.ascontiguousarray(_to_torch(layer, name, weight))
        if isinstance(layer, keras.layers.BatchNormalization):
            state[f"{module}.num_batches_tracked"] = np.array(0, dtype="int64")
    return state
