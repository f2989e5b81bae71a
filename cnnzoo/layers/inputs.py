"""The input side of every model: the ``Input``, training-only augmentation, Gaussian noise."""

from __future__ import annotations

import keras

from cnnzoo.augment.presets import make_augmentation


def resolve_augmentation(
    augmentation, channels: int | None = None, spatial_rank: int | None = None
) -> keras.layers.Layer | None:
    """Checks ``augmentation`` and returns one layer (a ``Sequential`` for a list or a preset
    name such as ``"standard"``; see :func:`cnnzoo.augment.make_augmentation`), or ``None``.
    ``channels`` and ``spatial_rank`` describe the inputs, for the presets' checks.

    Example:
        >>> import keras
        >>> resolve_augmentation([keras.layers.RandomFlip("horizontal")]).name
        'augmentation'
        >>> len(resolve_augmentation("standard").layers)
        4
    """
    return make_augmentation(
        augmentation, channels=channels, spatial_rank=spatial_rank, argument="augmentation"
    )


def model_input(input_shape: tuple, *, augmentation=None, noise: float | None = None):
    """Returns ``(inputs, x)``: the ``keras.Input`` and the tensor the backbone starts from.

    Augmentation comes right after the input and noise after it; Keras runs both in
    training only, so inference sees the clean input.

    Example:
        >>> import keras
        >>> inputs, x = model_input((28, 28, 1), noise=0.1)
        >>> [layer.name for layer in keras.Model(inputs, x).layers]
        ['input', 'input_noise']
    """
    inputs = keras.Input(shape=input_shape, name="input")
    x = inputs
    layer = resolve_augmentation(augmentation)
    if layer is not None:
        x = layer(x)
    if noise:
        x = keras.layers.GaussianNoise(noise, name="input_noise")(x)
    return inputs, x
