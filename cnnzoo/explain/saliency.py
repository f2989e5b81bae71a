"""Saliency maps (Simonyan et al. 2014) and SmoothGrad (Smilkov et al. 2017)."""

from __future__ import annotations

import keras
import numpy as np

from cnnzoo.explain.checks import (
    check_class_index,
    check_count,
    check_fraction,
    check_images,
    num_classes,
    predict,
)
from cnnzoo.explain.gradients import class_score_gradient
from cnnzoo.explain.graph import check_model, logits, scoring_model
from cnnzoo.explain.maps import to_unit


def saliency(
    model: keras.Model,
    images,
    *,
    class_index: int | list[int] | None = None,
    smooth: int = 0,
    noise: float = 0.15,
    seed: int = 0,
) -> np.ndarray:
    """Saliency maps: how much each input value moves the class score (the largest
    absolute gradient over the channels); with ``smooth``, SmoothGrad's average of the
    gradients at noisy copies of each image, which is less speckled.

    Gradients go through the Keras backend in use, in inference mode, of the class score
    before the softmax.

    Args:
        model: A Keras model with one input.
        images: A batch ``(N, ...)`` of the model's input shape.
        class_index: The class to explain: one for every image or one per image
            (default: each image's predicted class).
        smooth: Noisy copies averaged per image (0: the plain gradient).
        noise: SmoothGrad's noise, a fraction of each image's value range (Smilkov et
            al. found 10 to 20% best).
        seed: Seed of the noise.

    Returns:
        ``(N, *spatial)`` float32 maps in [0, 1].

    Raises:
        ValueError: For a model with several inputs, images that do not fit it, a class
            index out of range, or a negative ``smooth``.

    Example:
        >>> import numpy as np
        >>> from cnnzoo import lenet5
        >>> model = lenet5(input_shape=(28, 28, 1), variant="modern")
        >>> images = np.random.default_rng(0).uniform(0, 1, (2, 28, 28, 1))
        >>> saliency(model, images).shape
        (2, 28, 28)
        >>> saliency(model, images, smooth=4, class_index=3).max()
        np.float32(1.0)
    """
    check_model(model)
    x = check_images(model, images)
    classes = check_class_index(class_index, len(x), num_classes(model))
    check_count("smooth", smooth)
    check_fraction("noise", noise)
    scorer = scoring_model(model)
    if classes is None:
        classes = predict(scorer, x).argmax(axis=-1)
    if smooth == 0:
        noisy = [x]
    else:
        rng = np.random.default_rng(seed)
        axes = tuple(range(1, x.ndim))
        spread = noise * (x.max(axis=axes, keepdims=True) - x.min(axis=axes, keepdims=True))
        noisy = [x + spread * rng.standard_normal(x.shape, dtype="float32") for _ in range(smooth)]
    gradient = np.zeros_like(x)
    with logits(model):
        for copy in noisy:
            gradient += class_score_gradient(scorer, [copy], 0, classes)[1]
    return to_unit(np.abs(gradient / len(noisy)).max(axis=-1))
