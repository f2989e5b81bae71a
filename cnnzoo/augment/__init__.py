"""Augmentation layers that Keras does not ship: AlexNet's PCA colour augmentation so far."""

from cnnzoo.augment.pca_color import PCAColorAugmentation

__all__ = ["PCAColorAugmentation"]
