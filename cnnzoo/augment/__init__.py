"""Augmentation: layers Keras does not ship (AlexNet's PCA colour noise, the Inception crop)
and named presets that make each technique of the course notes one word."""

from cnnzoo.augment.pca_color import PCAColorAugmentation
from cnnzoo.augment.presets import PRESETS, describe_presets, make_augmentation
from cnnzoo.augment.resized_crop import RandomResizedCrop

__all__ = [
    "PRESETS",
    "PCAColorAugmentation",
    "RandomResizedCrop",
    "describe_presets",
    "make_augmentation",
]
