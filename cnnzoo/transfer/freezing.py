"""Freezing part of a model for transfer learning, batch norm included."""

from __future__ import annotations

import math
from dataclasses import dataclass

import keras

from cnnzoo.transfer.features import stage_outputs


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


def _ancestors(model: keras.Model, layer_name: str) -> set[str]:
    """Names of the layers that ``layer_name``'s output depends on, itself included."""
    inputs = model.inputs[0] if len(model.inputs) == 1 else model.inputs
    upstream = keras.Model(inputs, model.get_layer(layer_name).output)
    return {layer.name for layer in upstream.layers}


def _frozen_names(model, until, fraction, trainable_stages) -> set[str]:
    stages = stage_outputs(model)
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
    if until is not None:
        if until not in {layer.name for layer in model.layers}:
            raise ValueError(
                f"until must name a layer of model {model.name!r}; received until={until!r}. "
                f"Its stage outputs are {stages}."
            )
        return _ancestors(model, until)
    if not stages:
        raise ValueError(
            f"Model {model.name!r} has no stage{{i}}_out layers; freeze it with until=<layer>."
        )
    backbone = _ancestors(model, stages[-1])
    if trainable_stages is not None:
        if (
            isinstance(trainable_stages, bool)
            or not isinstance(trainable_stages, int)
            or not 0 <= trainable_stages <= len(stages)
        ):
            raise ValueError(
                f"trainable_stages must be an int from 0 to {len(stages)} (the model's stages); "
                f"received trainable_stages={trainable_stages!r}."
            )
        last_frozen = len(stages) - trainable_stages
        return _ancestors(model, stages[last_frozen - 1]) if last_frozen else set()
    if fraction is not None:
        if (
            isinstance(fraction, bool)
            or not isinstance(fraction, (int, float))
            or not (0 < fraction <= 1)
        ):
            raise ValueError(f"fraction must be in (0, 1]; received fraction={fraction!r}.")
        ordered = [layer for layer in model.layers if layer.name in backbone]
        weighted = [index for index, layer in enumerate(ordered) if layer.weights]
        count = math.ceil(fraction * len(weighted))
        return {layer.name for layer in ordered[: weighted[count - 1] + 1]}
    return backbone


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
    if not isinstance(model, keras.Model):
        raise ValueError(f"model must be a keras.Model; received model={model!r}.")
    if not isinstance(keep_batchnorm_frozen, bool):
        raise ValueError(
            "keep_batchnorm_frozen must be True or False; received "
            f"keep_batchnorm_frozen={keep_batchnorm_frozen!r}."
        )
    frozen = _frozen_names(model, until, fraction, trainable_stages)
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
        batchnorm_frozen=keep_batchnorm_frozen,
        recompiled=recompiled,
    )
