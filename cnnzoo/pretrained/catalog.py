"""The catalogue of pretrained weights, as the family files declare them
(:attr:`cnnzoo.family.NamedModel.pretrained`), and the ImageNet class names."""

from __future__ import annotations

import difflib
import fnmatch
import functools
from importlib import resources

from cnnzoo.pretrained.tags import PretrainedWeights


def _entries() -> dict[str, PretrainedWeights]:
    from cnnzoo.registry import families  # the registry imports the models, and they us

    return {
        entry.name: entry
        for family in families()
        for named in family.models
        for entry in named.pretrained
    }


def list_pretrained(pattern: str = "*") -> list[str]:
    """The names of the pretrained weights matching a shell-style ``pattern``, in timm's
    ``<model>.<tag>`` convention, in the order the families declare them.

    Example:
        >>> list_pretrained("resnet18.*")
        ['resnet18.tv_in1k', 'resnet18.a1_in1k']
    """
    return [name for name in _entries() if fnmatch.fnmatchcase(name, pattern)]


def pretrained_weights(name: str) -> PretrainedWeights:
    """The catalogue entry called ``name`` (``"resnet18.tv_in1k"``), or ``"<model>.imagenet"``
    for a model's default weights.

    Raises:
        ValueError: For an unknown name, listing the closest known ones.

    Example:
        >>> pretrained_weights("resnet18.imagenet").name
        'resnet18.tv_in1k'
    """
    entries = _entries()
    model, _, tag = str(name).partition(".")
    if tag == "imagenet":
        for entry in entries.values():
            if entry.model == model:
                return entry
    if name in entries:
        return entries[name]
    close = difflib.get_close_matches(str(name), list(entries), n=5, cutoff=0.5)
    hint = f" Closest: {', '.join(close)}." if close else ""
    raise ValueError(
        f"Unknown pretrained weights {name!r}.{hint} `cnnzoo weights list` (or "
        "cnnzoo.list_pretrained()) shows them all."
    )


def model_weights(model: str) -> list[PretrainedWeights]:
    """The pretrained weights of the registered name ``model``, the default first."""
    return [entry for entry in _entries().values() if entry.model == model]


@functools.cache
def imagenet_class_names() -> tuple[str, ...]:
    """The 1,000 ImageNet-1k class names in the order of the classifiers' outputs (the
    names torchvision's weights carry; keras.applications and timm use the same order).

    Example:
        >>> names = imagenet_class_names()
        >>> len(names), names[0], names[207]
        (1000, 'tench', 'golden retriever')
    """
    text = resources.files("cnnzoo.pretrained").joinpath("imagenet_classes.txt").read_text()
    return tuple(text.splitlines())
