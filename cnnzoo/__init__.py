"""cnnzoo: the landmark CNNs for Keras 3, built from one set of configurable blocks.

Example:
    >>> from cnnzoo import vgg16
    >>> model = vgg16(num_classes=10, input_shape=(64, 64, 3), dropout=0.3)
    >>> model.output_shape
    (None, 10)
"""

import os

# TensorFlow's C++ start-up logs (CUDA probing, CPU features) are noise for a user; a value
# the user set is kept.
os.environ.setdefault("TF_CPP_MIN_LOG_LEVEL", "2")

from cnnzoo import models
from cnnzoo.compute import count_macs
from cnnzoo.models import *  # noqa: F403  (the factories; models.__all__ is the list)
from cnnzoo.registry import ModelInfo, create_model, list_models, model_info, register_model

__version__ = "0.1.0"

__all__ = [
    *models.__all__,
    "ModelInfo",
    "count_macs",
    "create_model",
    "list_models",
    "model_info",
    "register_model",
]
