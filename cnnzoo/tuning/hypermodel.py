"""``CNNHyperModel``: a KerasTuner hypermodel over the zoo's factories."""

from __future__ import annotations

import math
from collections.abc import Mapping, Sequence
from pathlib import Path
from typing import Any

import keras
import keras_tuner
import numpy as np
import tensorflow as tf

from cnnzoo.data.pipeline import pipeline
from cnnzoo.layers import SpatialSizeError
from cnnzoo.registry import create_model, families, model_family, model_info, named_model
from cnnzoo.tuning.space import check_overrides, declare, knobs_for


def search_model(model: str) -> str:
    """The registered name a search over ``model`` starts from: a family name (``"vgg"``)
    stands for its family's :attr:`~cnnzoo.family.Family.search_model`.

    Example:
        >>> search_model("vgg"), search_model("resnet20")
        ('vgg16', 'resnet20')
    """
    for family in families():
        if model == family.name:
            return family.search_model
    return model


def architecture_kwargs(model: str, values: Mapping[str, Any]) -> tuple[str, dict[str, Any]]:
    """The registered name and factory arguments that the tuned ``values`` stand for.

    Example:
        >>> architecture_kwargs("vgg16", {"depth": 11, "width": 0.5, "batch_norm": True})
        ('vgg11', {'widths': (32, 64, 128, 256, 256), 'fc_units': (2048, 2048), 'norm': 'batch'})
    """
    named = named_model(model)
    name = named.search_depths[values["depth"]] if "depth" in values else model
    kwargs: dict[str, Any] = {}
    if "width" in values:
        kwargs.update(model_family(model).scale_width(named.defaults, values["width"]))
    for key in ("kernel_size", "padding", "pooling", "activation", "dropout"):
        if key in values:
            kwargs[key] = values[key]
    if "batch_norm" in values:
        kwargs["norm"] = "batch" if values["batch_norm"] else None
    if values.get("l2"):
        kwargs["kernel_regularizer"] = ("l2", values["l2"])
    return name, kwargs


def make_optimizer(values: Mapping[str, Any], learning_rate) -> keras.optimizers.Optimizer:
    """The tuned optimizer (SGD with Nesterov momentum 0.9) at ``learning_rate``."""
    name = values.get("optimizer", "adam")
    config: dict[str, Any] = {"learning_rate": learning_rate}
    if values.get("weight_decay") or name == "adamw":
        config["weight_decay"] = values.get("weight_decay", 0.0)
    if name == "sgd":
        config.update(momentum=0.9, nesterov=True)
    return keras.optimizers.get({"class_name": name, "config": config})


class CNNHyperModel(keras_tuner.HyperModel):
    """A KerasTuner hypermodel whose ``build(hp)`` calls the registry's factories.

    The space comes from the family of ``model`` (see :func:`cnnzoo.tuning.describe_space`
    for the table): depth, width, kernel size, padding, head pooling, activation, batch
    norm, dropout, L2 and augmentation for the architecture; optimizer, learning rate,
    weight decay, label smoothing, batch size and schedule for training. Epochs are the
    tuner's budget. With ``pretrained=`` (a saved cnnzoo model or ``"imagenet"``) each
    trial fine-tunes in two phases (:func:`cnnzoo.transfer.fit_in_phases`) and the space adds
    ``unfreeze_stages``, ``finetune_learning_rate`` and ``layer_decay`` (layer-wise
    learning rates, :func:`cnnzoo.transfer.layer_decay_optimizer`); the architecture is
    then the saved one, with a fresh head.

    ``fit(hp, model, x, y=None, validation_data=...)`` batches the data at the tuned batch
    size through :func:`cnnzoo.data.pipeline` (resizing to the model's input, augmenting
    in training), so ``x`` may be numpy ``(images, labels)``, images and ``y``, or a
    ``tf.data.Dataset``. Labels may be integers (the default) or one-hot.

    Args:
        model: A registered model name, e.g. ``"lenet5_modern"`` or ``"resnet20"``, or a
            family name (``"lenet"``, ``"alexnet"``, ``"vgg"``, ``"resnet"``,
            ``"googlenet"``, ``"inception"``) for its usual model (:func:`search_model`).
        num_classes: Number of classes.
        input_shape: The model's input shape (default: the model's own, with 3 channels).
        space: Name to a list of choices or a ``(low, high)`` range, replacing the
            table's values, e.g. ``{"learning_rate": (1e-4, 1e-2)}``.
        fixed: Name to the one value it takes, e.g. ``{"activation": "relu"}``.
        tune: Tune only these names; the others take their defaults (a grid search over
            two hyperparameters, say). ``None`` tunes every one not in ``fixed``.
        pretrained: A saved cnnzoo model (``.keras``) or ``"imagenet"``.
        max_params: Larger models end as failed trials.
        input_range: ``(low, high)`` of the incoming pixels (``None``: from the dtype).
        seed: Seed of the augmentation and the shuffling.

    Raises:
        ValueError: For an unknown model or hyperparameter name (with the known ones), a
            name that does not apply to the model, or a bad range.

    Example:
        >>> hypermodel = CNNHyperModel("lenet5_modern", num_classes=10,
        ...                            fixed={"activation": "relu"})
        >>> hp = keras_tuner.HyperParameters()
        >>> model = hypermodel.build(hp)
        >>> hp.values["activation"], hp.values["learning_rate"], model.output_shape
        ('relu', 0.001, (None, 10))
    """

    def __init__(
        self,
        model: str,
        *,
        num_classes: int,
        input_shape: tuple[int, ...] | None = None,
        space: Mapping[str, Any] | None = None,
        fixed: Mapping[str, Any] | None = None,
        tune: Sequence[str] | None = None,
        pretrained: str | Path | None = None,
        max_params: int | None = None,
        input_range: tuple[float, float] | None = None,
        seed: int | None = 0,
    ):
        model = search_model(model)
        info = model_info(model)
        super().__init__(name=model)
        if isinstance(num_classes, bool) or not isinstance(num_classes, int) or num_classes < 2:
            raise ValueError(
                f"num_classes must be an int >= 2; received num_classes={num_classes!r}."
            )
        if pretrained is not None and pretrained != "imagenet" and not Path(pretrained).is_file():
            raise ValueError(
                "pretrained must be a saved cnnzoo model (.keras) or 'imagenet'; received "
                f"pretrained={str(pretrained)!r}, which is not a file."
            )
        self.model = model
        self.num_classes = num_classes
        self.input_shape = tuple(input_shape or (*info.default_input_shape[:-1], 3))
        self.pretrained = pretrained
        self.max_params = max_params
        self.input_range = input_range
        self.seed = seed
        self.knobs = knobs_for(
            model, pretrained=pretrained is not None, channels=self.input_shape[-1]
        )
        self.fixed, self.space = check_overrides(fixed, space, self.knobs)
        if tune is not None:
            check_overrides(dict.fromkeys(tune), None, self.knobs)  # known names only
            for item in self.knobs:
                if item.name not in tune and item.name not in self.fixed:
                    self.fixed[item.name] = item.default_for(model)

    def describe(self) -> dict[str, Any]:
        """What defines the search (model, input, classes, space), as plain data."""
        return {
            "model": self.model, "num_classes": self.num_classes,
            "input_shape": list(self.input_shape), "pretrained": str(self.pretrained),
            "max_params": self.max_params,
            "fixed": {k: self.fixed[k] for k in sorted(self.fixed)},
            "space": {k: repr(self.space[k]) for k in sorted(self.space)},
        }  # fmt: skip

    def values(self, hp) -> dict[str, Any]:
        """Declares every hyperparameter on ``hp`` and returns the values of this trial."""
        values = {}
        for item in self.knobs:
            if item.name == "augmentation_strength":
                continue
            values[item.name] = declare(hp, item, self.model, self.fixed, self.space)
        strength = next((item for item in self.knobs if item.name == "augmentation_strength"), None)
        presets = [preset for preset in self._augmentation_choices() if preset != "none"]
        if strength is not None and presets:
            # Only a trial with a preset has a strength to tune.
            with hp.conditional_scope("augmentation", presets):
                value = declare(hp, strength, self.model, self.fixed, self.space)
            if values["augmentation"] != "none":
                values["augmentation_strength"] = value
        return values

    def _augmentation_choices(self) -> list:
        if "augmentation" in self.fixed:
            return [self.fixed["augmentation"]]
        if isinstance(self.space.get("augmentation"), list):
            return self.space["augmentation"]
        return [v for item in self.knobs if item.name == "augmentation" for v in item.values]

    def build(self, hp) -> keras.Model:
        values = self.values(hp)
        try:
            model = self._build_model(values)
        except (SpatialSizeError, ValueError) as error:
            raise keras_tuner.errors.FailedTrialError(f"Cannot build: {error}") from None
        params = model.count_params()
        if self.max_params is not None and params > self.max_params:
            raise keras_tuner.errors.FailedTrialError(
                f"Too large: {params:,} parameters > max_params={self.max_params:,}."
            )
        model.compile(
            optimizer=make_optimizer(values, values["learning_rate"]),
            loss=self._loss(values, one_hot=False), metrics=["accuracy"],
        )  # fmt: skip
        return model

    def _build_model(self, values) -> keras.Model:
        if self.pretrained is None:
            name, kwargs = architecture_kwargs(self.model, values)
            return create_model(
                name, num_classes=self.num_classes, input_shape=self.input_shape, **kwargs
            )
        from cnnzoo.transfer import replace_head  # transfer builds on the models

        if self.pretrained == "imagenet":
            base = create_model(
                self.model, input_shape=self.input_shape, include_top=False, weights="imagenet"
            )
        else:
            base = keras.saving.load_model(self.pretrained, compile=False)
        return replace_head(base, self.num_classes, dropout=values.get("dropout", 0.0))

    def _loss(self, values, *, one_hot: bool):
        smoothing = values.get("label_smoothing", 0.0)
        if one_hot or smoothing:
            return keras.losses.CategoricalCrossentropy(label_smoothing=smoothing)
        return keras.losses.SparseCategoricalCrossentropy()

    def _batches(self, data, model, values, *, training: bool, one_hot: bool):
        augment = values.get("augmentation", "none") if training else None
        return pipeline(
            data, model, training=training, batch_size=values["batch_size"],
            augment=None if augment == "none" else augment,
            augment_strength=values.get("augmentation_strength", 1.0),
            input_range=self.input_range, one_hot=one_hot, num_classes=self.num_classes,
            seed=self.seed,
        )  # fmt: skip

    def fit(self, hp, model, x, y=None, *, validation_data=None, epochs=1, **kwargs):
        values = self.values(hp)
        data = x if y is None else (x, y)
        one_hot = bool(values.get("label_smoothing")) or _one_hot_labels(data, self.num_classes)
        train = self._batches(data, model, values, training=True, one_hot=one_hot)
        validation = None
        if validation_data is not None:
            validation = self._batches(
                validation_data, model, values, training=False, one_hot=one_hot
            )
        initial_epoch = kwargs.pop("initial_epoch", 0)
        kwargs.pop("batch_size", None)
        kwargs.setdefault("verbose", 0)
        if self.pretrained is not None:
            return self._fine_tune(
                model, values, train, validation, epochs - initial_epoch, one_hot, kwargs
            )
        steps = int(train.cardinality())
        rate = values["learning_rate"]
        if values.get("schedule") == "cosine" and steps > 0:
            rate = keras.optimizers.schedules.CosineDecay(rate, decay_steps=max(1, steps * epochs))
        model.compile(
            optimizer=make_optimizer(values, rate), loss=self._loss(values, one_hot=one_hot),
            metrics=["accuracy"],
        )  # fmt: skip
        return model.fit(
            train, validation_data=validation, epochs=epochs, initial_epoch=initial_epoch,
            shuffle=False, **kwargs,
        )  # fmt: skip

    def _fine_tune(self, model, values, train, validation, budget, one_hot, kwargs):
        from cnnzoo.transfer import Phase, fit_in_phases

        head_epochs = max(1, math.ceil(budget / 2))
        optimizer = values.get("optimizer", "adam")
        phases = [
            Phase(epochs=head_epochs, learning_rate=values["learning_rate"], optimizer=optimizer)
        ]
        if budget > head_epochs:
            phases.append(
                Phase(
                    epochs=budget - head_epochs, learning_rate=values["finetune_learning_rate"],
                    trainable_stages=values["unfreeze_stages"], optimizer=optimizer,
                )
            )  # fmt: skip
        history = fit_in_phases(
            model, train, validation, phases=phases, loss=self._loss(values, one_hot=one_hot),
            callbacks=kwargs.get("callbacks", ()), verbose=kwargs.get("verbose", 0),
            layer_decay=values.get("layer_decay", 1.0),
        )  # fmt: skip
        result = keras.callbacks.History()
        result.history = history.history
        return result


def _one_hot_labels(data, num_classes: int) -> bool:
    """Whether the labels of ``data`` (numpy pair or dataset) are already one-hot."""
    if isinstance(data, tf.data.Dataset):
        spec = data.element_spec
        label = (
            spec[1]
            if isinstance(spec, tuple)
            else spec.get("label")
            if isinstance(spec, dict)
            else None
        )
        return label is not None and label.shape.rank >= 1 and label.shape[-1] == num_classes
    if isinstance(data, tuple) and len(data) == 2:
        labels = np.asarray(data[1])
        return labels.ndim == 2 and labels.shape[-1] == num_classes
    return False
