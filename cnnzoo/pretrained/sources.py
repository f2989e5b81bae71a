"""Reads the weight files of other libraries into numpy, and resolves what a factory's
``weights=`` names: a catalogue tag, ``"imagenet"`` or a path.

A PyTorch checkpoint (``.pth``, ``.pt``, ``.bin``) needs PyTorch; a ``.safetensors`` file
(timm, the Hugging Face hub) is read with the ``safetensors`` package alone.
"""

from __future__ import annotations

import os
from pathlib import Path

import numpy as np

from cnnzoo.pretrained.catalog import model_weights, pretrained_weights
from cnnzoo.pretrained.tags import PretrainedWeights

STATE_DICT_SUFFIXES = (".pth", ".pt", ".bin")
SAFETENSORS_SUFFIX = ".safetensors"
KERAS_SUFFIXES = (".keras", ".h5")
WEIGHTS_SUFFIXES = (*KERAS_SUFFIXES, *STATE_DICT_SUFFIXES, SAFETENSORS_SUFFIX)
TORCH_INSTALL = "pip install torch (https://pytorch.org/get-started/locally/ for other builds)"
ACCEPTED = (
    "weights must be None, 'imagenet', a pretrained tag such as 'resnet18.tv_in1k' "
    "(cnnzoo.list_pretrained() lists them), a weights file (.keras, .weights.h5, a "
    "keras.applications .h5, a PyTorch .pth/.pt/.bin, a .safetensors) or a keras.Model"
)


def read_state_dict(path) -> dict[str, np.ndarray]:
    """The tensors of a PyTorch checkpoint (``.pth``, ``.pt``, ``.bin``) or a
    ``.safetensors`` file, by name, as numpy arrays (``num_batches_tracked`` left out).

    A checkpoint that wraps its state dict (``{"state_dict": ...}`` or ``{"model": ...}``,
    as training scripts save them) is unwrapped.

    Raises:
        ImportError: For a PyTorch checkpoint without PyTorch installed, with the command
            that installs it (``.safetensors`` files need only the ``safetensors`` package).

    Example:
        >>> import tempfile
        >>> from safetensors.numpy import save_file
        >>> path = Path(tempfile.mkdtemp()) / "w.safetensors"
        >>> save_file({"fc.weight": np.ones((2, 3), "float32")}, str(path))
        >>> {name: array.shape for name, array in read_state_dict(path).items()}
        {'fc.weight': (2, 3)}
    """
    path = Path(path)
    if path.suffix == SAFETENSORS_SUFFIX:
        from safetensors.numpy import load_file

        tensors = load_file(str(path))
    else:
        try:
            import torch
        except ImportError:
            raise ImportError(
                f"Reading the PyTorch checkpoint {path.name} needs PyTorch: {TORCH_INSTALL}. "
                "A .safetensors copy of the weights needs only the safetensors package."
            ) from None
        tensors = torch.load(path, map_location="cpu", weights_only=True)
        for key in ("state_dict", "model"):
            if isinstance(tensors.get(key), dict):
                tensors = tensors[key]
        tensors = {name: value.numpy() for name, value in tensors.items()}
    return {
        name: np.asarray(value)
        for name, value in tensors.items()
        if not name.endswith("num_batches_tracked")
    }


def is_tag(weights) -> bool:
    """Whether ``weights`` reads as a catalogue tag (``"resnet18.tv_in1k"``) rather than
    a path: a string with a dot, no folder and no weights-file suffix, naming no file.

    Example:
        >>> is_tag("resnet18.tv_in1k"), is_tag("runs/a/model.keras"), is_tag("imagenet")
        (True, False, False)
    """
    return (
        isinstance(weights, str)
        and "." in weights
        and "/" not in weights
        and os.sep not in weights
        and not weights.endswith(WEIGHTS_SUFFIXES)
        and not os.path.isfile(weights)
    )


def builder_arguments(weights, model_name: str | None, given) -> dict:
    """The arguments the weights ``weights=`` names need the model built with that the
    caller left out (``{"variant": "v1"}`` for ``resnet50(weights="resnet50.keras_in1k")``),
    and, for ``"imagenet"`` on a named model, ``weights`` set to the tag it means: the
    model's first weights whose build arguments agree with those ``given``.

    Example:
        >>> builder_arguments("resnet50.keras_in1k", "resnet50", {})
        {'variant': 'v1'}
        >>> builder_arguments("imagenet", "resnet50", {"variant": "v1"})
        {'weights': 'resnet50.keras_in1k'}
        >>> builder_arguments("imagenet", "resnet50", {})
        {'weights': 'resnet50.tv_in1k'}
    """
    if weights == "imagenet" and model_name is not None:
        entries = model_weights(model_name)
        asked = [
            entry
            for entry in entries
            if entry.builder_args
            and all(given.get(key, object()) == value for key, value in entry.builder_args)
        ]
        plain = [entry for entry in entries if not entry.builder_args]
        chosen = (asked or plain or [None])[0]
        return {} if chosen is None else {"weights": chosen.name}
    if is_tag(weights):
        return _missing(resolve(weights, model_name or ""), given)
    return {}


def _missing(entry: PretrainedWeights, given) -> dict:
    return {key: value for key, value in entry.builder_args if key not in given}


def resolve(weights, model_name: str) -> PretrainedWeights | Path | None:
    """What ``weights=`` names for a model called ``model_name``: a catalogue entry (a tag
    such as ``"resnet18.tv_in1k"``, or ``"imagenet"`` for the model's first), or a path (an
    existing file, or any name with a weights suffix). ``None`` for ``"imagenet"`` on a
    model the catalogue does not know by that name (keras.applications' architectures
    under another name: :func:`cnnzoo.transfer.load_imagenet_weights` takes those).

    Raises:
        ValueError: For an unknown tag (suggesting the closest) or anything else, saying
            what is accepted.

    Example:
        >>> resolve("imagenet", "vgg16").name, resolve("vgg16.tv_in1k", "vgg16").name
        ('vgg16.keras_in1k', 'vgg16.tv_in1k')
        >>> resolve("model.keras", "vgg16")
        PosixPath('model.keras')
    """
    if not isinstance(weights, (str, os.PathLike)):
        raise ValueError(f"{ACCEPTED}; received weights={weights!r}.")
    text = os.fspath(weights)
    if text == "imagenet":
        entries = model_weights(model_name)
        return entries[0] if entries else None
    if is_tag(text):
        try:
            return pretrained_weights(text)
        except ValueError as error:
            raise ValueError(f"weights={weights!r}: {error}") from None
    if os.path.isfile(text) or text.endswith(WEIGHTS_SUFFIXES):
        return Path(text)
    raise ValueError(f"{ACCEPTED}; received weights={weights!r}.")
