"""The arguments every factory shares: checked in one place (:func:`common_args`) before
any layer is built, then handed to the family builder as one :class:`CommonArgs`, which
assembles the model's input side and classifier head and loads its ``weights``."""

from __future__ import annotations

import contextlib
import dataclasses
import functools
import inspect
import os
from collections.abc import Callable, Mapping, Sequence
from typing import Any

import keras

from cnnzoo.checks import (
    check_bool,
    check_choice,
    check_input_shape,
    check_keywords,
    check_positive_int,
    check_rate,
    per_stage,
)
from cnnzoo.layers import (
    POOLINGS,
    SpatialSizeError,
    classifier_head,
    model_input,
    resolve_activation,
    resolve_augmentation,
    resolve_regularizer,
)
from cnnzoo.layers.arithmetic import as_tuple
from cnnzoo.layers.conv import NORMS, resolve_padding


@dataclasses.dataclass(frozen=True)
class CommonArgs:
    """The checked, defaulted shared arguments a family builder works from.

    Every factory lists them in its signature with its family's defaults (for ``help``,
    the documentation and editors) and hands them over at once: ``args =
    common_args(locals(), default_name=...)``.
    """

    num_classes: int
    input_shape: tuple[int | None, ...]
    include_top: bool
    pooling: str | None
    classifier_activation: Any
    dropout: float
    name: str
    activation: Any
    norm: str | None
    kernel_regularizer: keras.regularizers.Regularizer | None
    noise: float | None
    augmentation: keras.layers.Layer | None
    weights: Any = None

    @property
    def spatial_rank(self) -> int:
        """Spatial axes of the input: 1 (signals), 2 (images) or 3 (volumes)."""
        return len(self.input_shape) - 1

    def model_input(self):
        """``(inputs, x)``: the ``keras.Input``, then augmentation and noise."""
        return model_input(self.input_shape, augmentation=self.augmentation, noise=self.noise)

    def finish(self, inputs, x, hidden_units: Sequence[int], aux_outputs=()) -> keras.Model:
        """Adds the classifier head to the backbone output ``x`` (and the auxiliary
        classifiers' outputs after it), loads ``weights`` and returns the model."""
        outputs = classifier_head(
            x,
            include_top=self.include_top,
            num_classes=self.num_classes,
            pooling=self.pooling,
            hidden_units=hidden_units,
            dropout=self.dropout,
            activation=self.activation,
            classifier_activation=self.classifier_activation,
            kernel_regularizer=self.kernel_regularizer,
        )
        if aux_outputs:
            outputs = [outputs, *aux_outputs]
        model = keras.Model(inputs, outputs, name=self.name)
        if self.weights is not None:
            # cnnzoo.transfer builds on the models and never imports them: no cycle.
            from cnnzoo.transfer.imagenet import load_pretrained

            load_pretrained(model, self.weights)
        return model


def check_weights(weights) -> None:
    """Checks ``weights`` (its kind, that a tag is in the catalogue and that a file
    exists) before anything is built.

    Example:
        >>> check_weights("imagenet")
        >>> check_weights("resnet18.tv_in1k")
        >>> check_weights("nowhere/model.keras")
        Traceback (most recent call last):
        ...
        ValueError: weights names no file; received weights='nowhere/model.keras'.
    """
    if weights is None or isinstance(weights, keras.Model):
        return
    from cnnzoo.pretrained.sources import resolve  # the catalogue reads the models

    target = resolve(weights, "")
    if isinstance(target, os.PathLike) and not os.path.isfile(target):
        raise ValueError(f"weights names no file; received weights={os.fspath(weights)!r}.")


def with_pretrained_arguments(weights, model_name: str | None, kwargs: dict) -> dict:
    """``kwargs`` with what the pretrained weights ``weights`` need (see
    :func:`cnnzoo.pretrained.sources.builder_arguments`) where the caller left it out."""
    if not isinstance(weights, str):
        return kwargs
    from cnnzoo.pretrained.sources import builder_arguments

    return {**kwargs, **builder_arguments(weights, model_name, kwargs)}


def keyword_checked(func: Callable) -> Callable:
    """Makes an unknown keyword a ``ValueError`` that suggests the closest known ones
    (Python's own error is a ``TypeError`` without suggestions).

    ``weights`` is a parameter of every factory's own signature: ``None`` (the default)
    leaves the fresh initialization; a pretrained tag (``"resnet50.tv_in1k"``,
    :func:`cnnzoo.list_pretrained`) downloads and loads those weights, building the model
    with the arguments their layout needs where the caller left them out; ``"imagenet"``
    is a named model's first tag that fits the arguments given; a file (``.keras``,
    ``.weights.h5``, a keras.applications ``.h5``, a PyTorch ``.pth`` or a ``.safetensors``)
    or a ``keras.Model`` is loaded as :func:`cnnzoo.transfer.imagenet.load_pretrained` says.
    """
    known = list(inspect.signature(func).parameters)

    @functools.wraps(func)
    def wrapper(*args, **kwargs):
        check_keywords(func.__name__, known, kwargs)
        return func(*args, **with_pretrained_arguments(kwargs.get("weights"), None, kwargs))

    return wrapper


def forwards_to(
    base: Callable, *, fixed: dict[str, Any] | None = None, defaults: dict[str, Any] | None = None
) -> Callable[[Callable], Callable]:
    """Declares a factory that passes its keyword arguments on to ``base`` (``vgg16`` to
    ``vgg``, ``resnet20`` to ``cifar_resnet``).

    The decorated factory shows its own arguments and then ``base``'s (for
    ``inspect.signature``, ``help`` and the docs), less the ``fixed`` ones, which it sets
    itself and refuses from the caller with a ``ValueError`` (Python's own error would be
    a ``TypeError``, "got multiple values"). ``defaults`` are its own defaults of ``base``'s
    arguments, which the caller may override. An unknown keyword is a ``ValueError`` that
    names the factory.

    Example:
        >>> def scaled(*, width=1.0, depth=3):
        ...     return width * depth
        >>> @forwards_to(scaled, fixed={"depth": 2}, defaults={"width": 0.5})
        ... def shallow(**kwargs):
        ...     return scaled(depth=2, **kwargs)
        >>> shallow(), shallow(width=2.0), inspect.signature(shallow)
        (1.0, 4.0, <Signature (*, width=0.5)>)
    """
    fixed = fixed or {}
    defaults = defaults or {}

    def decorate(func: Callable) -> Callable:
        own = {
            name: parameter
            for name, parameter in inspect.signature(func).parameters.items()
            if parameter.kind is not inspect.Parameter.VAR_KEYWORD
        }
        passed_on = [
            parameter.replace(
                kind=inspect.Parameter.KEYWORD_ONLY,
                default=defaults.get(name, parameter.default),
            )
            for name, parameter in inspect.signature(base).parameters.items()
            if name not in fixed and name not in own
        ]
        known = [*own, *(parameter.name for parameter in passed_on)]

        @functools.wraps(func)
        def wrapper(*args, **kwargs):
            for key, value in fixed.items():
                if key in kwargs:
                    raise ValueError(
                        f"{func.__name__}() is {base.__name__}({key}={value!r}), so it takes no "
                        f"{key}; call {base.__name__}({key}=...) for another; received "
                        f"{key}={kwargs[key]!r}."
                    )
            check_keywords(func.__name__, known, kwargs)
            # name=None is every factory's own name, as it is base's.
            given = {
                key: value
                for key, value in kwargs.items()
                if not (key == "name" and value is None and "name" in defaults)
            }
            given = with_pretrained_arguments(given.get("weights"), func.__name__, given)
            return func(*args, **{**defaults, **given})

        wrapper.__signature__ = inspect.Signature([*own.values(), *passed_on])
        wrapper.forwarded = {**fixed, **defaults}  # what the registry shows as its defaults
        return wrapper

    return decorate


@contextlib.contextmanager
def naming_input_shape(input_shape: tuple, hint: str = ""):
    """Prefixes a spatial-size error raised while building with the user's ``input_shape``."""
    try:
        yield
    except SpatialSizeError as error:
        raise SpatialSizeError(f"input_shape={input_shape}: {error}{hint}") from None


def check_window(argument: str, value, rank: int) -> tuple[int, ...]:
    """A kernel, stride or pooling window: a positive int, or one per spatial axis.

    Example:
        >>> check_window("pool_size", 2, 2)
        (2, 2)
    """
    return as_tuple(value, rank, argument)


def check_padding(argument: str, value, rank: int):
    """``"same"``, ``"valid"`` or an explicit zero padding (see
    :func:`cnnzoo.layers.conv_norm_act`); returns ``value`` as given.

    Example:
        >>> check_padding("stem_padding", (1, (0, 1)), 2)
        (1, (0, 1))
    """
    resolve_padding(value, rank, argument)
    return value


def per_stage_windows(argument: str, value, stages: int, rank: int) -> tuple:
    """:func:`per_stage` for kernel sizes and strides, each checked by :func:`check_window`."""
    return per_stage(argument, value, stages, lambda name, item: check_window(name, item, rank))


def per_stage_paddings(argument: str, value, stages: int, rank: int) -> tuple:
    """:func:`per_stage` for paddings, each checked by :func:`check_padding`."""
    return per_stage(argument, value, stages, lambda name, item: check_padding(name, item, rank))


# keras.layers.GaussianNoise refuses a standard deviation above 1.
MAX_NOISE = 1.0


# The arguments every factory takes, in the order its signature lists them.
SHARED_ARGUMENTS = tuple(field.name for field in dataclasses.fields(CommonArgs))


def common_args(
    arguments: Mapping[str, Any], *, default_name: str, head_pooling: str = "flatten"
) -> CommonArgs:
    """Checks the shared arguments among a factory's ``arguments`` (its ``locals()``).

    Args:
        arguments: The factory's arguments by name; those in :data:`SHARED_ARGUMENTS`
            are read, the others left to the family.
        default_name: The model's name when ``name`` is ``None``.
        head_pooling: The family's pooling with the top when ``pooling`` is ``None``.

    Returns:
        The checked :class:`CommonArgs`.

    Raises:
        ValueError: For a bad shared argument, named as the user typed it.

    Example:
        >>> def tiny(*, num_classes=10, input_shape=(8, 8, 1), include_top=True, pooling=None,
        ...          classifier_activation="softmax", dropout=0.0, name=None, activation="relu",
        ...          norm=None, kernel_regularizer=None, noise=None, augmentation=None,
        ...          weights=None):
        ...     return common_args(locals(), default_name="tiny")
        >>> tiny().name, tiny().pooling, tiny(name="mine").name
        ('tiny', 'flatten', 'mine')
    """
    (
        num_classes, input_shape, include_top, pooling, classifier_activation, dropout, name,
        activation, norm, kernel_regularizer, noise, augmentation, weights,
    ) = (arguments[argument] for argument in SHARED_ARGUMENTS)  # fmt: skip
    name = default_name if name is None else name
    check_weights(weights)
    check_positive_int("num_classes", num_classes)
    check_bool("include_top", include_top)
    check_choice("pooling", pooling, POOLINGS)
    if noise is not None and (
        not isinstance(noise, (int, float))
        or isinstance(noise, bool)
        or not 0 <= noise <= MAX_NOISE
    ):
        raise ValueError(
            f"noise must be None or a standard deviation >= 0 and at most {MAX_NOISE:g} "
            f"(Keras' GaussianNoise refuses more); received noise={noise!r}."
        )
    input_shape = check_input_shape(input_shape)
    if not isinstance(name, str) or not name:
        raise ValueError(f"name must be a non-empty string; received name={name!r}.")
    return CommonArgs(
        num_classes=num_classes,
        input_shape=input_shape,
        include_top=include_top,
        pooling=head_pooling if include_top and pooling is None else pooling,
        classifier_activation=None
        if classifier_activation is None
        else resolve_activation(classifier_activation, "classifier_activation"),
        dropout=check_rate("dropout", dropout),
        name=name,
        activation=resolve_activation(activation),
        norm=check_choice("norm", norm, NORMS),
        kernel_regularizer=resolve_regularizer(kernel_regularizer),
        noise=noise or None,
        augmentation=resolve_augmentation(
            augmentation, channels=input_shape[-1], spatial_rank=len(input_shape) - 1
        ),
        weights=weights,
    )
