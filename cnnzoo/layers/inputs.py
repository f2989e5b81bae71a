"""The input side of every model: the ``Input``, training-only augmentation, Gaussian noise."""

from __future__ import annotations

from collections.abc import Sequence

import keras


def resolve_augmentation(augmentation) -> keras.layers.Layer | None:
    """Checks ``augmentation`` and returns one layer (a ``Sequential`` for a list), or ``None``.

    Example:
        >>> import keras
        >>> resolve_augmentation([keras.layers.RandomFlip("horizontal")]).name
        'augmentation'
    """
    if augmentation is None:
        return None
    if isinstance(augmentation, keras.layers.Layer):
        return augmentation
    if isinstance(augmentation, Sequence) and not isinstance(augmentation, str):
        for index, item in enumerate(augmentation):
            if not isinstance(item, keras.layers.Layer):
                raise ValueError(
                    f"augmentation[{index}] must be a Keras layer (for example "
                    f"keras.layers.RandomFlip('horizontal')); received {item!r}."
                )
        return keras.Sequential(list(augmentation), name="augmentation") if augmentation else None
    raise ValueError(
        "augmentation must be None, a Keras layer, a keras.Sequential or a list of Keras "
        f"preprocessing layers; received augmentation={augmentation!r}."
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
