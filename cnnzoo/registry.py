"""The model registry: register, list, create and describe models by name."""

from __future__ import annotations

import difflib
import fnmatch
import re
from collections.abc import Callable, Mapping
from dataclasses import dataclass, field
from typing import TYPE_CHECKING, Any

if TYPE_CHECKING:  # the registry itself runs without Keras (the command line lists models)
    import keras

    from cnnzoo.family import Family, NamedModel


@dataclass(frozen=True)
class ModelInfo:
    """What the registry knows about a model, without building it.

    Attributes:
        name: Registered name (what :func:`create_model` takes).
        family: Family name, for example ``"vgg"``.
        paper: Citation of the paper the architecture comes from.
        year: Year of the paper.
        default_input_shape: Input shape the factory uses when none is given.
        min_input_size: Smallest spatial size (every axis) that builds with the defaults.
        reference_params: Reference parameter count at the default input and 1,000 classes
            (or the paper's class count), or ``None`` where no reference exists.
        reference_source: Where ``reference_params`` comes from and how it is counted.
        notes: Where this variant deviates from the paper.
        defaults: Keyword arguments the name adds to the family factory.
        reference_counts: ``"all"``: ``reference_params`` compares with
            ``count_params()``; ``"trainable"``: with the trainable weights (torchvision's
            ``num_params`` leaves out batch norm's moving statistics).
        pretrained: Its pretrained weights' names (:mod:`cnnzoo.pretrained`), the
            default (``weights="imagenet"``) first.
    """

    name: str
    family: str
    paper: str
    year: int
    default_input_shape: tuple[int, ...]
    min_input_size: int
    reference_params: int | None = None
    reference_source: str = ""
    notes: str = ""
    defaults: dict[str, Any] = field(default_factory=dict, compare=False)
    reference_counts: str = "all"
    pretrained: tuple[str, ...] = ()


_FACTORIES: dict[str, Callable[..., keras.Model]] = {}
_INFOS: dict[str, ModelInfo] = {}
_FAMILIES: dict[str, Family] = {}
_NAMED: dict[str, NamedModel] = {}


def _register_builtin_models() -> None:
    # Importing the families registers them. It imports Keras (and TensorFlow with it), so it
    # waits for the first question about a model: `import cnnzoo.registry` stays light.
    import cnnzoo.models  # noqa: F401


def register_model(name: str, factory: Callable[..., keras.Model], **info: Any) -> None:
    """Registers ``factory`` under ``name`` with the :class:`ModelInfo` fields in ``info``.

    ``info["defaults"]``, if given, are keyword arguments :func:`create_model` passes to
    ``factory`` (the caller's override them).

    Raises:
        ValueError: If ``name`` is already registered (the built-in names included).
    """
    _register_builtin_models()
    _add(ModelInfo(name=name, **info), factory, info.get("defaults") or {})


def _add(info: ModelInfo, factory: Callable[..., keras.Model], defaults: dict) -> None:
    if info.name in _FACTORIES:
        raise ValueError(f"A model named {info.name!r} is already registered.")
    _INFOS[info.name] = info
    _FACTORIES[info.name] = (
        factory if not defaults else lambda **kwargs: factory(**{**defaults, **kwargs})
    )


def register_family(family: Family) -> None:
    """Registers every named model of ``family`` (its model file's last statement).

    Each name's factory is its importable function, which passes its own defaults to the
    family's builder.

    Raises:
        ValueError: If the family or one of its names is already registered.
    """
    if family.name in _FAMILIES:
        raise ValueError(f"A family named {family.name!r} is already registered.")
    for named in family.models:
        info = ModelInfo(
            name=named.name,
            family=family.name,
            paper=named.paper or family.paper,
            year=named.year or family.year,
            default_input_shape=named.default_input_shape or family.default_input_shape,
            min_input_size=named.min_input_size or family.min_input_size,
            reference_params=named.reference_params,
            reference_source=named.reference_source,
            notes=named.notes,
            defaults=named.defaults,
            reference_counts=named.reference_counts,
            pretrained=tuple(entry.name for entry in named.pretrained),
        )
        _add(info, named.function, {})
        _NAMED[named.name] = named
    _FAMILIES[family.name] = family


def families() -> list[Family]:
    """Every registered :class:`~cnnzoo.family.Family`, in registration order.

    Example:
        >>> [family.name for family in families()]
        ['alexnet', 'googlenet', 'inception', 'lenet', 'resnet', 'vgg']
    """
    _register_builtin_models()
    return list(_FAMILIES.values())


def model_family(name: str) -> Family:
    """The :class:`~cnnzoo.family.Family` of a registered model name.

    Raises:
        ValueError: If ``name`` is not registered, or was registered on its own with
            :func:`register_model`.

    Example:
        >>> model_family("vgg16_bn").search.pooling
        'flatten'
    """
    _check_name(name)
    family = _FAMILIES.get(_INFOS[name].family)
    if family is None:
        raise ValueError(
            f"Model {name!r} was registered on its own (register_model), not as part of a "
            "family, so it has no family declaration."
        )
    return family


def named_model(name: str) -> NamedModel:
    """The :class:`~cnnzoo.family.NamedModel` declaration of a registered model name.

    Example:
        >>> named_model("resnet50v2").keras_weights.application
        'ResNet50V2'
    """
    return model_family(name).named(name)


def natural_key(name: str) -> tuple:
    """Sort key that orders the numbers in names by value: ``resnet18`` before ``resnet101``.

    Example:
        >>> sorted(["resnet101", "resnet18", "resnet50v2", "resnet50"], key=natural_key)
        ['resnet18', 'resnet50', 'resnet50v2', 'resnet101']
    """
    return tuple(int(part) if part.isdigit() else part for part in re.split(r"(\d+)", name))


def list_models(pattern: str = "*") -> list[str]:
    """Registered model names matching an fnmatch ``pattern``, in natural order.

    Example:
        >>> list_models("vgg1[69]")
        ['vgg16', 'vgg19']
        >>> list_models("resnet1??")
        ['resnet101', 'resnet110', 'resnet152']
    """
    _register_builtin_models()
    names = (name for name in _FACTORIES if fnmatch.fnmatchcase(name, pattern))
    return sorted(names, key=natural_key)


def suggest_names(name: str, families: Mapping[str, str], n: int = 5) -> list[str]:
    """Registered names close to a misspelt ``name``: its family's first, then others.

    The family is that of the closest name. Its members come first, closest first, even
    where a name of another family is as close (``lenet6`` is a LeNet); names of other
    families follow only when they are much alike.

    Args:
        name: The name that is not registered.
        families: Every registered name and its family.
        n: Most suggestions.

    Returns:
        Up to ``n`` names; none when no name is close.

    Example:
        >>> families = {"lenet5": "lenet", "lenet5_modern": "lenet", "resnet56": "resnet"}
        >>> suggest_names("lenet6", families)
        ['lenet5', 'lenet5_modern']
    """
    text = str(name)

    def closeness(other: str) -> tuple:
        # Ties (vgg61: vgg11, vgg16 ...) go to the same letters in another order.
        return (
            difflib.SequenceMatcher(None, text, other).ratio(),
            difflib.SequenceMatcher(None, sorted(text), sorted(other)).ratio(),
        )

    scores = {other: closeness(other) for other in families}
    ranked = sorted(scores, key=lambda other: (-scores[other][0], -scores[other][1]))
    if not ranked or scores[ranked[0]][0] < 0.5:  # difflib.get_close_matches' cutoff
        return []
    family = families[ranked[0]]
    same = [other for other in ranked if families[other] == family]
    others = [other for other in ranked if families[other] != family and scores[other][0] >= 0.8]
    return (same + others)[:n]


def unknown_name_message(name: str, families: Mapping[str, str], listing: str) -> str:
    """The error for a name that is not registered, with suggestions.

    Args:
        name: The name asked for.
        families: Every registered name and its family.
        listing: What shows every name: ``"list_models()"``, or ``"'cnnzoo list'"`` on the
            command line.

    Example:
        >>> print(unknown_name_message("vgg61", {"vgg16": "vgg"}, "'cnnzoo list'"))
        Unknown model name 'vgg61'. Closest registered names: vgg16. 'cnnzoo list' shows all 1.
    """
    close = suggest_names(name, families)
    hint = f" Closest registered names: {', '.join(close)}." if close else ""
    return f"Unknown model name {name!r}.{hint} {listing} shows all {len(families)}."


def _check_name(name: str) -> None:
    _register_builtin_models()
    if name not in _FACTORIES:
        families = {other: info.family for other, info in _INFOS.items()}
        raise ValueError(unknown_name_message(name, families, "list_models()"))


def model_info(name: str) -> ModelInfo:
    """The :class:`ModelInfo` of a registered model.

    Example:
        >>> model_info("vgg16").reference_params
        138357544
    """
    _check_name(name)
    return _INFOS[name]


def create_model(name: str, /, **kwargs: Any) -> keras.Model:
    """Builds a registered model; ``kwargs`` override the name's defaults.

    Example:
        >>> model = create_model("lenet5_modern", num_classes=10)
        >>> model.output_shape
        (None, 10)
    """
    _check_name(name)
    return _FACTORIES[name](**kwargs)
