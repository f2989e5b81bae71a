"""Pretrained weights loaded into cnnzoo models: :func:`load_pretrained` (what the
factories' ``weights=`` does: catalogue tags, downloaded when not cached, PyTorch and
safetensors state dicts, saved models) and :func:`load_imagenet_weights`
(keras.applications' ImageNet files into the models of the same architecture, read from a
path or from the Keras cache folder where ``keras.applications`` leaves them).
"""

from __future__ import annotations

import dataclasses
import os
import tempfile
import warnings
from pathlib import Path

import keras
import numpy as np

from cnnzoo.family import KerasApplicationsWeights
from cnnzoo.pretrained import fetch, model_weights, pretrained_weights
from cnnzoo.pretrained.sources import TORCH_INSTALL, read_state_dict, resolve
from cnnzoo.registry import families
from cnnzoo.transfer.features import backbone_layers
from cnnzoo.transfer.torch_weights import absent_parts, port_state_dict
from cnnzoo.transfer.weights import WeightsReport, copy_weights, load_weights

KERAS_WEIGHTS_URL = "https://storage.googleapis.com/tensorflow/keras-applications"


def keras_architectures() -> dict[str, KerasApplicationsWeights]:
    """The named models with keras.applications ImageNet weights of the same layout, as
    their family files declare them (:attr:`cnnzoo.family.NamedModel.keras_weights`).

    Example:
        >>> keras_architectures()["resnet50v2"].application
        'ResNet50V2'
    """
    return {
        named.name: named.keras_weights
        for family in families()
        for named in family.models
        if named.keras_weights is not None
    }


class MissingWeightsError(FileNotFoundError):
    """The ImageNet weights file is neither at the given path nor in the Keras cache."""


def keras_cache_folder() -> str:
    """Where keras.applications caches its weights: ``$KERAS_HOME/models``, else
    ``~/.keras/models``, read when called (``keras.utils.get_file`` falls back to
    ``/tmp/.keras/models`` where that folder is not writable; that is searched too).

    Example:
        >>> os.path.basename(keras_cache_folder())
        'models'
    """
    home = os.environ.get("KERAS_HOME")
    if home is None:
        user = os.path.expanduser("~")
        home = os.path.join(user if os.access(user, os.W_OK) else "/tmp", ".keras")
    return os.path.join(os.path.expanduser(home), "models")


def _architecture(model: keras.Model, architecture: str | None) -> str:
    key = model.name.removesuffix("_v1") if architecture is None else architecture
    architectures = keras_architectures()
    if key not in architectures:
        given = f"architecture={architecture!r}" if architecture else f"model {model.name!r}"
        raise ValueError(
            f"No keras.applications ImageNet weights for {given}. Supported architectures: "
            f"{', '.join(architectures)} (ResNet v1 built with variant='v1'); a model with "
            "another name takes architecture=<one of them>."
        )
    return key


def _weights_file(key: str, spec: KerasApplicationsWeights, path, prefer_top: bool) -> str:
    if path is not None:
        if not os.path.isfile(path):
            raise MissingWeightsError(f"No weights file at path={os.fspath(path)!r}.")
        return os.fspath(path)
    folder = keras_cache_folder()
    temporary = "/tmp" if os.path.isdir("/tmp") else tempfile.gettempdir()  # as keras
    fallback = os.path.join(temporary, ".keras", "models")
    names = [spec.file_name(key, top) for top in ((True, False) if prefer_top else (False, True))]
    for name in names:
        for candidate in (os.path.join(folder, name), os.path.join(fallback, name)):
            if os.path.isfile(candidate):
                return candidate
    raise MissingWeightsError(
        f"No ImageNet weights for {key} in {folder}: put {names[0]} there (or {names[1]}"
        f"{', without the classifier' if prefer_top else ', with the classifier'}), or pass "
        f"path=. keras.applications downloads it from {KERAS_WEIGHTS_URL}/{spec.url_folder}/"
        f"{names[0]}; weights='imagenet' on a factory downloads it."
    )


def _reference_model(spec: KerasApplicationsWeights, path: str) -> keras.Model:
    """The keras.applications model holding the file's weights, with or without its top."""
    tops = (False, True) if "_notop" in os.path.basename(path) else (True, False)
    errors = []
    for include_top in tops:
        reference = getattr(keras.applications, spec.application)(
            weights=None, include_top=include_top
        )
        try:
            with warnings.catch_warnings():  # keras warns about the layout it then rejects
                warnings.simplefilter("ignore")
                reference.load_weights(path)
            return reference
        except (ValueError, KeyError, OSError) as error:
            errors.append(f"{'With' if include_top else 'Without'} the top: {error}")
    raise ValueError(
        f"{path} does not hold keras.applications {spec.application} weights. " + " ".join(errors)
    )


def load_imagenet_weights(
    model: keras.Model, path=None, *, architecture: str | None = None
) -> WeightsReport:
    """Loads keras.applications' ImageNet weights into the cnnzoo model of that architecture.

    Supported: ``vgg16``, ``vgg19``, ``resnet(50 | 101 | 152, variant="v1")``,
    ``resnet50v2`` ... and ``inception_v3`` (``variant="keras"``).
    The file, in keras.applications' legacy ``.h5`` layout or as a Keras 3
    ``.weights.h5``, is loaded into the matching keras.applications model, whose weights
    are then copied layer by layer in order. Every pair must agree in weight shapes, kernel
    sizes, strides and batch-norm epsilon, so a same-shaped network that computes something
    else (``resnet50``'s default ``variant="v1.5"``, or a ResNet v2 built with
    ``downsample="first"``) is rejected. Without the top, or with another
    class count, the backbone loads and the head keeps its fresh weights (reported as
    skipped). With 1 input channel the first convolution's kernel is summed over RGB; with
    ``C`` others the RGB kernel repeats cyclically, rescaled by ``3 / C``.

    The weights expect keras' preprocessing, given in the report: ``"caffe"`` for VGG and
    ResNet v1 (``keras.applications.vgg16`` / ``vgg19`` / ``resnet.preprocess_input``: RGB
    to BGR, ImageNet mean subtracted, 0-255 scale) and ``"tf"`` for ResNet v2 and
    Inception v3 (``keras.applications.resnet_v2`` / ``inception_v3.preprocess_input``:
    scaled to [-1, 1]).

    Args:
        model: A cnnzoo model of a supported architecture, any input size and channels.
        path: The weights file. ``None`` looks in :func:`keras_cache_folder` for
            keras.applications' own file names, ``{architecture}_weights_tf_dim_ordering_
            tf_kernels.h5`` or ``..._notop.h5`` (the one without the top first when the model
            has no classifier).
        architecture: ``"vgg16"``, ``"resnet50"``, ... when ``model.name`` is not the
            factory's default name.

    Returns:
        A :class:`~cnnzoo.transfer.weights.WeightsReport` with ``preprocessing`` and
        ``preprocess_input`` set.

    Raises:
        MissingWeightsError: A ``FileNotFoundError`` naming the file, the folder to put it
            in and the URL keras downloads it from.
        ValueError: For an unsupported architecture, or a layer that does not match
            (naming it, both shapes or settings, and how to build a matching model).

    Example:
        >>> import os, tempfile
        >>> from cnnzoo import vgg16
        >>> path = os.path.join(tempfile.mkdtemp(), "vgg16_notop.weights.h5")
        >>> keras.applications.VGG16(weights=None, include_top=False).save_weights(path)
        >>> model = vgg16(input_shape=(32, 32, 1), include_top=False)
        >>> print(load_imagenet_weights(model, path))  # doctest: +NORMALIZE_WHITESPACE
        Loaded 13 layers from vgg16_notop.weights.h5. stage1_block1_conv: kernel summed over
        3 input channels to 1. Preprocess inputs with keras.applications.vgg16.preprocess_input
        ('caffe').
    """
    if not isinstance(model, keras.Model):
        raise ValueError(f"model must be a keras.Model; received model={model!r}.")
    key = _architecture(model, architecture)
    spec = keras_architectures()[key]
    backbone = backbone_layers(model)
    weighted = [layer for layer in model.layers if layer.weights]
    ours = [layer for layer in weighted if layer.name in backbone]
    head = [layer for layer in weighted if layer.name not in backbone]
    prefer_top = any(layer.name.removeprefix("head_") in spec.head for layer in head)
    path = _weights_file(key, spec, path, prefer_top)
    reference = _reference_model(spec, path)
    reference = [layer for layer in reference.layers if layer.weights]
    theirs = [layer for layer in reference if layer.name not in spec.head]
    if len(ours) != len(theirs):
        raise ValueError(
            f"Cannot load {spec.application} weights into model {model.name!r}: its backbone has "
            f"{len(ours)} layers with weights, keras' has {len(theirs)}.{spec.hint}"
        )
    pairs = [
        (mine, keras_layer.get_weights(), keras_layer)
        for mine, keras_layer in zip(ours, theirs, strict=True)
    ]
    top = {layer.name: layer for layer in reference if layer.name in spec.head}
    for target in head:
        source = top.get(target.name.removeprefix("head_"))
        pairs.append((target, source and source.get_weights(), source))
    return copy_weights(
        model,
        pairs,
        source=os.path.basename(path),
        hint=spec.hint,
        preprocessing=spec.preprocessing,
        preprocess_input=f"keras.applications.{spec.module}.preprocess_input",
    )


IMAGENET_MEAN_BGR = (103.939, 116.779, 123.68)  # keras.applications' "caffe" preprocessing
TORCH_MEAN, TORCH_STD = (0.485, 0.456, 0.406), (0.229, 0.224, 0.225)  # and its "torch" one


def imagenet_preprocessing(images, mode: str | None):
    """Applies the preprocessing pretrained weights expect to images in [0, 255]:
    keras.applications' ``"caffe"``, ``"tf"`` or ``"torch"``, or a pretrained tag's own
    (``"resnet50.tv2_in1k"``: :meth:`cnnzoo.pretrained.Preprocessing.normalize`); ``None``
    returns them as they are. Inputs of other than 3 channels (whose first convolution was
    adapted) get the mean of the colour means subtracted (and, for ``"torch"``, are divided
    by the mean of the standard deviations).

    keras.applications' modes are written out as arithmetic, the same as
    ``keras.applications.imagenet_utils.preprocess_input`` computes, so that they run on
    NumPy arrays and TensorFlow tensors (in a ``tf.data`` map) on every backend: Keras' own
    function uses the backend's ops, which cannot take a ``tf.data`` tensor on JAX or
    PyTorch.

    Example:
        >>> import numpy as np
        >>> imagenet_preprocessing(np.full((1, 1, 1, 3), 255.0, "float32"), "tf").tolist()
        [[[[1.0, 1.0, 1.0]]]]
        >>> black = np.zeros((1, 1, 1, 3), "float32")
        >>> imagenet_preprocessing(black, "resnet18.tv_in1k").astype("float64").round(3).tolist()
        [[[[-2.118, -2.036, -1.804]]]]
    """
    if mode is None:
        return images
    if mode not in ("caffe", "tf", "torch"):
        return pretrained_weights(mode).preprocessing.normalize(images)
    if not hasattr(images, "shape"):
        images = np.asarray(images, dtype="float32")
    if mode == "tf":
        return images / 127.5 - 1.0
    colour = images.shape[-1] == 3
    if mode == "caffe":
        mean = np.asarray(IMAGENET_MEAN_BGR, "float32")
        return images[..., ::-1] - mean if colour else images - mean.mean()
    mean, std = np.asarray(TORCH_MEAN, "float32"), np.asarray(TORCH_STD, "float32")
    if not colour:
        mean, std = mean.mean(), std.mean()
    return (images / 255.0 - mean) / std


def load_pretrained(model: keras.Model, weights) -> WeightsReport:
    """Loads what a factory's ``weights=`` names into ``model``.

    - a pretrained tag (``"resnet18.tv_in1k"``) or ``"imagenet"`` (the first tag of a model
      of this name): the file is downloaded into the cache when it is not there
      (:func:`cnnzoo.pretrained.fetch`), then read as its format says;
    - ``"imagenet"`` on a model the catalogue does not know by name, or a keras.applications
      ``.h5`` file: :func:`load_imagenet_weights`;
    - a PyTorch ``.pth``/``.pt``/``.bin`` or a ``.safetensors`` file in torchvision's (or
      timm's) layout: :func:`~cnnzoo.transfer.port_state_dict`;
    - a saved cnnzoo model (``.keras``, ``.weights.h5``) or a ``keras.Model``:
      :func:`~cnnzoo.transfer.weights.load_weights`.

    A model built without the classifier or the auxiliary heads leaves the source's out;
    a head of another class count keeps its fresh weights; other input channels adapt the
    first convolution. Each is reported.

    Returns:
        A :class:`~cnnzoo.transfer.weights.WeightsReport`; ``pretrained`` is the catalogue
        entry, when there is one, whose ``preprocessing`` says what input the weights expect.

    Example:
        >>> import tempfile
        >>> from cnnzoo import resnet18
        >>> from cnnzoo.transfer import export_state_dict
        >>> from safetensors.numpy import save_file
        >>> path = os.path.join(tempfile.mkdtemp(), "resnet18.safetensors")
        >>> save_file(export_state_dict(resnet18(input_shape=(32, 32, 3))), path)
        >>> model = resnet18(input_shape=(32, 32, 1), num_classes=10)
        >>> print(load_pretrained(model, path))  # doctest: +NORMALIZE_WHITESPACE
        Loaded 40 layers from resnet18.safetensors. Skipped 1 (predictions: weight shapes
        [(512, 1000), (1000,)] in the source, [(512, 10), (10,)] here). stem_conv: kernel
        summed over 3 input channels to 1.
    """
    if isinstance(weights, keras.Model):
        return load_weights(model, weights)
    target = resolve(weights, model.name)
    if isinstance(target, Path):
        return _load_file(model, target)
    if target is None:  # keras.applications' layout under another name: resnet(50, ...)
        target = pretrained_weights(f"{_architecture(model, None)}.keras_in1k")
    if target.format == "pth":
        _check_torch(target)  # before a download it could not read
    if target.format != "keras_h5":
        report = _port(model, fetch(target), source=target.model)
    else:
        try:  # keras.applications' own file in its cache (without the top where it fits)
            report = load_imagenet_weights(model, architecture=target.model)
        except MissingWeightsError:  # downloaded: without the top when nothing takes it
            has_top = any(layer.name == "predictions" for layer in model.layers)
            source = target if has_top else target.without_top()
            report = load_imagenet_weights(model, fetch(source), architecture=target.model)
    return dataclasses.replace(report, source=target.name, pretrained=target)


def _check_torch(target) -> None:
    try:
        import torch  # noqa: F401
    except ImportError:
        others = [e.name for e in model_weights(target.model) if e.format != "pth"]
        instead = f" {' and '.join(others)} need no PyTorch." if others else ""
        raise ImportError(
            f"The weights {target.name} are a PyTorch checkpoint, and reading it needs "
            f"PyTorch: {TORCH_INSTALL}.{instead}"
        ) from None


def _load_file(model: keras.Model, path: Path) -> WeightsReport:
    if path.name.endswith((".keras", ".weights.h5")):
        return load_weights(model, path)
    if path.name.endswith(".h5"):
        return load_imagenet_weights(model, path)
    return _port(model, path)


def _port(model: keras.Model, path, source: str | None = None) -> WeightsReport:
    """A PyTorch or safetensors state dict in torchvision's layout, ported into ``model``."""
    report = port_state_dict(
        model,
        read_state_dict(path),
        source=source,
        ignore=absent_parts(model, source=source),
        skip_head_mismatch=True,
    )
    return dataclasses.replace(report, source=os.path.basename(path))
