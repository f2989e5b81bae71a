"""Grad-CAM (Selvaraju et al. 2017): where a layer's maps carry the evidence for a class."""

from __future__ import annotations

import keras
import numpy as np

from cnnzoo.explain.checks import check_class_index, check_images, num_classes, predict
from cnnzoo.explain.gradients import class_score_gradient
from cnnzoo.explain.graph import check_model, find_layer, logits, probed_model, scoring_model
from cnnzoo.explain.maps import resize_linear, to_unit

BATCH_SIZE = 32


def gradcam(
    model: keras.Model,
    images,
    *,
    layer: str | None = None,
    class_index: int | list[int] | None = None,
) -> np.ndarray:
    """Grad-CAM heat maps: the layer's maps weighted by the mean gradient of the class
    score over each map, summed, kept where positive and brought to the input's size.

    The score is the class's before the softmax (probabilities' gradients vanish where
    the model is sure). Gradients go through the Keras backend in use (TensorFlow, JAX or
    PyTorch), in inference mode: augmentation, dropout and noise layers are idle. Models
    reloaded from ``.keras``, nested models (a cnnzoo backbone inside your model) and
    models with auxiliary heads (the ``predictions`` output is explained) work.

    Args:
        model: A Keras model with one input.
        images: A batch ``(N, ...)`` of the model's input shape (1-D signals, 2-D images
            or 3-D volumes).
        layer: The layer whose maps are weighted (default: the last ``stage{i}_out``;
            any layer name, nested models' layers included).
        class_index: The class to explain: one for every image or one per image
            (default: each image's predicted class).

    Returns:
        ``(N, *spatial)`` float32 maps in [0, 1], the input's length, height and width
        (and depth): linear interpolation of the layer's coarse map.

    Raises:
        ValueError: For a model with several inputs, images that do not fit it, a name
            that is no layer (the message lists the closest names), a layer without
            maps, or a class index out of range.

    Example:
        >>> import numpy as np
        >>> from cnnzoo import lenet5
        >>> model = lenet5(input_shape=(28, 28, 1), variant="modern")
        >>> images = np.random.default_rng(0).uniform(0, 1, (2, 28, 28, 1))
        >>> maps = gradcam(model, images)  # stage2_out: 5x5 maps
        >>> maps.shape, bool(maps.min() >= 0 and maps.max() <= 1)
        ((2, 28, 28), True)
        >>> gradcam(model, images, layer="c3_act", class_index=[0, 9]).shape
        (2, 28, 28)
    """
    check_model(model)
    x = check_images(model, images)
    target = find_layer(model, layer)
    classes = check_class_index(class_index, len(x), num_classes(model))
    if classes is None:
        classes = predict(scoring_model(model), x).argmax(axis=-1)
    probed = probed_model(model, target)
    spatial = x.shape[1:-1]
    maps = []
    for start in range(0, len(x), BATCH_SIZE):
        batch = x[start : start + BATCH_SIZE]
        probe = np.zeros(_activation_shape(probed, batch), dtype="float32")
        with logits(model):
            (activation, _), gradient = class_score_gradient(
                probed, [batch, probe], 1, classes[start : start + BATCH_SIZE]
            )
        axes = tuple(range(1, activation.ndim - 1))
        weights = gradient.mean(axis=axes, keepdims=True)  # alpha_k^c, one per map
        cam = np.maximum((weights * activation).sum(axis=-1), 0)
        if cam.ndim - 1 != len(spatial):
            raise ValueError(
                f"layer must name a layer with maps of the input's {len(spatial)} spatial "
                f"axes; received layer={target.name!r}, of output shape {activation.shape}."
            )
        maps.append(resize_linear(cam, spatial))
    return to_unit(np.concatenate(maps))


def _activation_shape(probed: keras.Model, batch: np.ndarray) -> tuple[int, ...]:
    """The probed layer's output shape for ``batch`` (computed only for inputs of
    variable size)."""
    shape = tuple(probed.inputs[1].shape[1:])
    if None in shape:
        front = keras.Model(probed.inputs[0], probed.outputs[0])
        shape = tuple(front.compute_output_shape(batch.shape)[1:])
    return (len(batch), *shape)
