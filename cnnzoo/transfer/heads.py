"""Cutting a model at its backbone and attaching a fresh classifier head."""

from __future__ import annotations

from collections.abc import Callable, Sequence

import keras

from cnnzoo.checks import check_choice, check_positive_int, check_rate, check_units
from cnnzoo.layers import classifier_head
from cnnzoo.transfer.features import stage_outputs


def backbone_output(model: keras.Model, at: str | None = None) -> str:
    """The layer a new head goes on: ``at`` when given, else the last stage output.

    Example:
        >>> from cnnzoo import lenet5
        >>> backbone_output(lenet5())
        'stage3_out'
    """
    names = [layer.name for layer in model.layers]
    if at is not None:
        if at not in names:
            raise ValueError(
                f"at must name a layer of model {model.name!r}; received at={at!r}. "
                f"Its stage outputs are {stage_outputs(model)}; its last layers are "
                f"{names[-5:]}."
            )
        return at
    stages = stage_outputs(model)
    if not stages:
        raise ValueError(
            f"Cannot find the backbone of model {model.name!r}: it has no stage{{i}}_out "
            f"layers. Name the layer to cut at with at=<layer name>; its last layers are "
            f"{names[-5:]}."
        )
    return stages[-1]


def replace_head(
    model: keras.Model,
    num_classes: int,
    *,
    dropout: float | None = None,
    pooling: str = "avg",
    hidden_units: Sequence[int] = (),
    classifier_activation: str | Callable | None = "softmax",
    at: str | None = None,
    name: str | None = None,
) -> keras.Model:
    """A new model: ``model``'s backbone (shared weights) with a fresh classifier head.

    The backbone ends at the last ``stage{i}_out`` layer (or at the layer named by
    ``at``); everything after it (pooling, fully connected layers, auxiliary
    classifiers) is dropped. The new head is pooling, optional hidden fully connected
    layers, dropout and a ``predictions`` layer of ``num_classes`` units, named as the
    factories name theirs. Works on models reloaded from ``.keras`` files. The backbone
    layers keep their ``trainable`` flags; the new model is not compiled.

    Args:
        model: A cnnzoo model, or any functional model with ``at``.
        num_classes: Number of classes of the new task.
        dropout: Dropout rate before ``predictions`` (and after each hidden layer).
        pooling: ``"avg"``, ``"max"`` (global pooling) or ``"flatten"``.
        hidden_units: Widths of hidden fully connected layers (ReLU) before the output.
        classifier_activation: Activation of ``predictions``; ``None`` gives logits.
        at: Name of the layer to cut at, instead of the last stage output.
        name: Name of the new model (default: the old one's).

    Returns:
        The new, uncompiled ``keras.Model``.

    Raises:
        ValueError: For bad arguments, an unknown ``at``, or a model whose backbone
            cannot be found.

    Example:
        >>> from cnnzoo import resnet18
        >>> model = resnet18(input_shape=(32, 32, 3), num_classes=1000)
        >>> new = replace_head(model, 5, dropout=0.2)
        >>> new.output_shape
        (None, 5)
        >>> new.get_layer("stem_conv") is model.get_layer("stem_conv")
        True
    """
    if not isinstance(model, keras.Model):
        raise ValueError(f"model must be a keras.Model; received model={model!r}.")
    check_positive_int("num_classes", num_classes)
    check_choice("pooling", pooling, ("avg", "max", "flatten"))
    dropout = 0.0 if dropout is None else check_rate("dropout", dropout)
    hidden_units = check_units("hidden_units", hidden_units)
    features = model.get_layer(backbone_output(model, at)).output
    outputs = classifier_head(
        features,
        include_top=True,
        num_classes=num_classes,
        pooling=pooling,
        hidden_units=hidden_units,
        dropout=dropout,
        classifier_activation=classifier_activation,
    )
    inputs = model.inputs[0] if len(model.inputs) == 1 else model.inputs
    return keras.Model(inputs, outputs, name=name or model.name)
