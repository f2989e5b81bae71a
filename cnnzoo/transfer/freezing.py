"""Freezing part of a model for transfer learning, batch norm included."""

from __future__ import annotations

import math
from dataclasses import dataclass

import keras

from cnnzoo.checks import check_bool, is_int
from cnnzoo.transfer.features import stage_outputs, upstream_layers


@dataclass(frozen=True)
class FreezeSummary:
    """What :func:`freeze` left frozen and trainable: layers with weights, and parameter
    counts as Keras reports them (frozen ones include batch-norm moving statistics)."""

    frozen_layers: tuple[str, ...]
    trainable_layers: tuple[str, ...]
    frozen_params: int
    trainable_params: int
    batchnorm_frozen: bool
    recompiled: bool

    def __str__(self) -> str:
        def layers(names):
            return f"{len(names)} layer{'' if len(names) == 1 else 's'}"

        text = (
            f"Frozen: {layers(self.frozen_layers)}, {self.frozen_params:,} parameters. "
            f"Trainable: {layers(self.trainable_layers)}, {self.trainable_params:,} parameters."
        )
        if self.batchnorm_frozen:
            text += " Batch norm runs in inference mode everywhere."
        if self.recompiled:
            text += " Recompiled with a fresh optimizer."
        return text


def _check_selectors(model, until, fraction, trainable_stages) -> None:
    chosen = [
        f"{name}={value!r}"
        for name, value in (
            ("until", until), ("fraction", fraction), ("trainable_stages", trainable_stages)
        )
        if value is not None
    ]  # fmt: skip
    if len(chosen) > 1:
        raise ValueError(
            "Give at most one of until, fraction and trainable_stages; received "
            f"{', '.join(chosen)}."
        )
    if until is not None and until not in {layer.name for layer in model.layers}:
        raise ValueError(
            f"until must name a layer of model {model.name!r}; received until={until!r}. "
            f"Its stage outputs are {stage_outputs(model)}."
        )
    if fraction is not None and (
        isinstance(fraction, bool)
        or not isinstance(fraction, (int, float))
        or not 0 < fraction <= 1
    ):
        raise ValueError(f"fraction must be in (0, 1]; received fraction={fraction!r}.")


def _stages(model) -> list[str]:
    stages = stage_outputs(model)
    if not stages:
        raise ValueError(
            f"Model {model.name!r} has no stage{{i}}_out layers; select layers with "
            "until=<layer name>."
        )
    return stages


def _below_stage(model, trainable_stages) -> set[str]:
    """The layers below the last ``trainable_stages`` stages."""
    stages = _stages(model)
    if not is_int(trainable_stages) or not 0 <= trainable_stages <= len(stages):
        raise ValueError(
            f"trainable_stages must be an int from 0 to {len(stages)} (the model's stages); "
            f"received trainable_stages={trainable_stages!r}."
        )
    last_frozen = len(stages) - trainable_stages
    return upstream_layers(model, stages[last_frozen - 1]) if last_frozen else set()


def _first_weighted(model, count: int) -> set[str]:
    """The backbone's layers up to and including its ``count``-th layer with weights."""
    backbone = upstream_layers(model, _stages(model)[-1])
    ordered = [layer for layer in model.layers if layer.name in backbone]
    weighted = [index for index, layer in enumerate(ordered) if layer.weights]
    if count <= 0:
        return set()
    return {layer.name for layer in ordered[: weighted[min(count, len(weighted)) - 1] + 1]}


def _backbone_size(model) -> int:
    backbone = upstream_layers(model, _stages(model)[-1])
    return sum(1 for layer in model.layers if layer.name in backbone and layer.weights)


def _apply(model, frozen: set[str], keep_batchnorm_frozen) -> FreezeSummary:
    """Makes the layers in ``frozen`` non-trainable and every other layer trainable."""
    check_bool("keep_batchnorm_frozen", keep_batchnorm_frozen)
    model.trainable = True
    for layer in model.layers:
        layer.trainable = layer.name not in frozen
        if keep_batchnorm_frozen and isinstance(layer, keras.layers.BatchNormalization):
            layer.trainable = False
    recompiled = bool(model.compiled)
    if recompiled:
        model.compile_from_config(model.get_compile_config())
    weighted = [layer for layer in model.layers if layer.weights]
    return FreezeSummary(
        frozen_layers=tuple(layer.name for layer in weighted if not layer.trainable_weights),
        trainable_layers=tuple(layer.name for layer in weighted if layer.trainable_weights),
        frozen_params=sum(math.prod(w.shape) for w in model.non_trainable_weights),
        trainable_params=sum(math.prod(w.shape) for w in model.trainable_weights),
        batchnorm_frozen=keep_batchnorm_frozen
        and any(isinstance(layer, keras.layers.BatchNormalization) for layer in model.layers),
        recompiled=recompiled,
    )


def _check_model(model) -> None:
    if not isinstance(model, keras.Model):
        raise ValueError(f"model must be a keras.Model; received model={model!r}.")


def freeze(
    model: keras.Model,
    *,
    until: str | None = None,
    fraction: float | None = None,
    trainable_stages: int | None = None,
    keep_batchnorm_frozen: bool = True,
) -> FreezeSummary:
    """Freezes part of ``model`` and makes the rest trainable, correctly for batch norm.

    With no selector the whole backbone (every layer up to the last ``stage{i}_out``) is
    frozen and only the head trains: the course notes' advice for little data. Otherwise
    ``until`` freezes a layer and everything it depends on, ``fraction`` the first part of
    the backbone's layers with weights (in build order), and ``trainable_stages=k`` all but
    the last ``k`` stages. Every other layer becomes trainable, so successive calls
    describe successive phases of fine-tuning.

    Frozen batch-norm layers run in inference mode (Keras 3 does this for
    ``trainable=False``), so their moving statistics do not change during ``fit``; with
    ``keep_batchnorm_frozen`` (the default, the usual fine-tuning advice) that holds for
    every batch-norm layer, also in the trainable stages. A compiled model is recompiled
    with its own settings and a fresh optimizer, because Keras only applies a change of
    ``trainable`` at compile time.

    Args:
        model: A cnnzoo model (or any functional model, with ``until``).
        until: Name of the last layer to freeze (``"stage2_out"`` for example).
        fraction: Fraction of the backbone's weighted layers to freeze, in (0, 1].
        trainable_stages: Number of last stages left trainable (0 freezes the backbone).
        keep_batchnorm_frozen: Keep every batch-norm layer in inference mode.

    Returns:
        A :class:`FreezeSummary` (its ``str`` is a one-line report).

    Raises:
        ValueError: For more than one selector, an unknown layer, a value out of range,
            or a model without stage outputs and no ``until``.

    Example:
        >>> from cnnzoo import resnet18
        >>> model = resnet18(input_shape=(32, 32, 3), num_classes=10)
        >>> summary = freeze(model, trainable_stages=1)
        >>> model.get_layer("stage3_block2_2_conv").trainable
        False
        >>> model.get_layer("stage4_block2_2_conv").trainable
        True
        >>> summary.trainable_layers[-1]
        'predictions'
    """
    _check_model(model)
    _check_selectors(model, until, fraction, trainable_stages)
    if until is not None:
        frozen = upstream_layers(model, until)
    elif trainable_stages is not None:
        frozen = _below_stage(model, trainable_stages)
    elif fraction is not None:
        frozen = _first_weighted(model, math.ceil(fraction * _backbone_size(model)))
    else:
        frozen = upstream_layers(model, _stages(model)[-1])
    return _apply(model, frozen, keep_batchnorm_frozen)


def unfreeze(
    model: keras.Model,
    *,
    until: str | None = None,
    fraction: float | None = None,
    trainable_stages: int | None = None,
    keep_batchnorm_frozen: bool = True,
) -> FreezeSummary:
    """Makes the top of ``model`` trainable (all of it by default) and freezes the rest.

    The counterpart of :func:`freeze` for the second phase of fine-tuning, with the same
    selectors seen from the top: ``until`` makes every layer after the named one trainable
    (the named layer and everything it depends on stay frozen), ``trainable_stages=k``
    the last ``k`` stages, and ``fraction`` the last part of the backbone's layers with
    weights. The head is always trainable. Batch norm and recompiling work as in
    :func:`freeze`: by default every batch-norm layer stays in inference mode.

    Args:
        model: A cnnzoo model (or any functional model, with ``until`` or no selector).
        until: Name of the last layer that stays frozen (``"stage3_out"`` for example).
        fraction: Fraction of the backbone's weighted layers made trainable, in (0, 1].
        trainable_stages: Number of last stages made trainable.
        keep_batchnorm_frozen: Keep every batch-norm layer in inference mode.

    Returns:
        A :class:`FreezeSummary`.

    Raises:
        ValueError: As :func:`freeze`.

    Example:
        >>> from cnnzoo import vgg11
        >>> model = vgg11(input_shape=(32, 32, 3), num_classes=10)
        >>> _ = freeze(model)
        >>> print(unfreeze(model, trainable_stages=2))
        Frozen: 4 layers, 960,896 parameters. Trainable: 7 layers, 27,183,114 parameters.
    """
    _check_model(model)
    _check_selectors(model, until, fraction, trainable_stages)
    if until is not None:
        frozen = upstream_layers(model, until)
    elif trainable_stages is not None:
        frozen = _below_stage(model, trainable_stages)
    elif fraction is not None:
        size = _backbone_size(model)
        frozen = _first_weighted(model, size - math.ceil(fraction * size))
    else:
        frozen = set()
    return _apply(model, frozen, keep_batchnorm_frozen)
