"""Pretrained weights: a catalogue in timm's ``<model>.<tag>`` convention (torchvision's,
keras.applications' and timm's sets), downloads into the Keras cache, and the ImageNet
class names.

Example:
    >>> from cnnzoo.pretrained import list_pretrained, pretrained_weights
    >>> entry = pretrained_weights("resnet50.tv2_in1k")
    >>> entry.top1, entry.preprocessing.resize_size, entry.licence
    (80.858, 232, 'BSD-3-Clause')
"""

from cnnzoo.pretrained.catalog import (
    imagenet_class_names,
    list_pretrained,
    model_weights,
    pretrained_weights,
)
from cnnzoo.pretrained.download import (
    MIRROR_VARIABLE,
    WeightsDownloadError,
    cache_folder,
    fetch,
)
from cnnzoo.pretrained.tags import Preprocessing, PretrainedWeights

__all__ = [
    "MIRROR_VARIABLE",
    "Preprocessing",
    "PretrainedWeights",
    "WeightsDownloadError",
    "cache_folder",
    "fetch",
    "imagenet_class_names",
    "list_pretrained",
    "model_weights",
    "pretrained_weights",
]
