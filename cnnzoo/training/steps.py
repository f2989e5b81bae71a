"""Steps that :func:`~cnnzoo.training.train` and :func:`~cnnzoo.training.finetune` share
(their run folder and coordinator aside)."""

from __future__ import annotations

import json

import keras

from cnnzoo.registry import model_info


def check_model(model) -> str:
    """The name of ``model`` (a registered name or a ``keras.Model``). A name that is not
    registered is refused before any data is read, with the registry's own message (the
    closest names).

    Example:
        >>> check_model("resnet2")
        Traceback (most recent call last):
        ...
        ValueError: Unknown model name 'resnet2'. Closest registered names: resnet20, ...
    """
    if not isinstance(model, (str, keras.Model)):
        raise ValueError(f"model must be a model name or a keras.Model; received model={model!r}.")
    if isinstance(model, str):
        model_info(model)
        return model
    return model.name


def stored(config: dict) -> dict:
    """``config`` as it reads back from ``config.json`` (tuples become lists, ...), so that
    a resumed run compares like with like."""
    return json.loads(json.dumps(config, default=repr))


__all__ = ["check_model", "stored"]
