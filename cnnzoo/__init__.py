"""cnnzoo: the landmark CNNs for Keras 3, built from one set of configurable blocks.

Example:
    >>> from cnnzoo import vgg16
    >>> model = vgg16(num_classes=10, input_shape=(64, 64, 3), dropout=0.3)
    >>> model.output_shape
    (None, 10)
"""

import importlib
import importlib.util
import os
from typing import TYPE_CHECKING

# TensorFlow's C++ start-up logs (CUDA probing, CPU features) are noise for a user; a value
# the user set is kept.
os.environ.setdefault("TF_CPP_MIN_LOG_LEVEL", "2")

if TYPE_CHECKING:  # what the names below resolve to, for type checkers and the docs
    from cnnzoo import models  # noqa: F401
    from cnnzoo.compute import count_macs  # noqa: F401
    from cnnzoo.models import *  # noqa: F403
    from cnnzoo.pretrained import list_pretrained  # noqa: F401
    from cnnzoo.registry import (  # noqa: F401
        ModelInfo,
        create_model,
        list_models,
        model_info,
        register_family,
        register_model,
    )

__version__ = "0.1.0"

# The public names load on first use: `import cnnzoo` (and the `cnnzoo` command, whose
# `list`, `info` and `--help` need no Keras) does not import Keras and TensorFlow, which
# take seconds. `from cnnzoo import vgg16` and `cnnzoo.create_model(...)` work as usual.
_REGISTRY = (
    "ModelInfo",
    "create_model",
    "list_models",
    "model_info",
    "register_family",
    "register_model",
)


def _public_names() -> list[str]:
    from cnnzoo import models

    return [*models.__all__, *_REGISTRY, "count_macs", "list_pretrained"]


def __getattr__(name: str):
    if name == "__all__":
        return _public_names()
    if name in _REGISTRY:
        return getattr(importlib.import_module("cnnzoo.registry"), name)
    if name == "count_macs":
        from cnnzoo.compute import count_macs

        return count_macs
    if name == "list_pretrained":
        from cnnzoo.pretrained import list_pretrained

        return list_pretrained
    if not name.startswith("_"):
        if importlib.util.find_spec(f"cnnzoo.{name}") is not None:  # cnnzoo.models, ...
            return importlib.import_module(f"cnnzoo.{name}")
        models = importlib.import_module("cnnzoo.models")
        if name in models.__all__:
            return getattr(models, name)
    raise AttributeError(f"module 'cnnzoo' has no attribute {name!r}")


def __dir__() -> list[str]:
    return sorted({*globals(), *_public_names()})
