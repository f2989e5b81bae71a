"""The model registry: register, list, create and describe models by name."""

from __future__ import annotations

import difflib
import fnmatch
from collections.abc import Callable
from dataclasses import dataclass, field
from typing import Any

import keras


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


_FACTORIES: dict[str, Callable[..., keras.Model]] = {}
_INFOS: dict[str, ModelInfo] = {}


def register_model(name: str, factory: Callable[..., keras.Model], **info: Any) -> None:
    """Registers ``factory`` under ``name`` with the :class:`ModelInfo` fields in ``info``.

    Raises:
        ValueError: If ``name`` is already registered.
    """
    if name in _FACTORIES:
        raise ValueError(f"A model named {name!r} is already registered.")
    _INFOS[name] = ModelInfo(name=name, **info)
    _FACTORIES[name] = factory


def list_models(pattern: str = "*") -> list[str]:
    """Registered model names matching an fnmatch ``pattern``, sorted.

    Example:
        >>> list_models("vgg1[69]")
        ['vgg16', 'vgg19']
    """
    return sorted(name for name in _FACTORIES if fnmatch.fnmatchcase(name, pattern))


def _check_name(name: str) -> None:
    if name not in _FACTORIES:
        close = difflib.get_close_matches(str(name), list(_FACTORIES), n=5, cutoff=0.5)
        hint = f" Closest registered names: {', '.join(close)}." if close else ""
        raise ValueError(
            f"Unknown model name {name!r}.{hint} list_models() shows all {len(_FACTORIES)}."
        )


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
    return _FACTORIES[name](**{**_INFOS[name].defaults, **kwargs})
