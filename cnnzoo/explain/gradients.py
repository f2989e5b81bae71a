"""The one place that differentiates: a class score's gradient through the Keras backend
in use (TensorFlow's ``GradientTape``, JAX's ``value_and_grad`` on a stateless call,
PyTorch's autograd). Everything else in :mod:`cnnzoo.explain` is backend-neutral."""

from __future__ import annotations

import keras
import numpy as np
from keras import ops, tree


def class_score_gradient(
    model: keras.Model, inputs: list[np.ndarray], wrt: int, classes: np.ndarray
) -> tuple[list[np.ndarray], np.ndarray]:
    """Runs ``model`` (list in, list out; its last output the class scores) in inference
    mode and differentiates the score of ``classes[i]`` for each image ``i``.

    Args:
        model: A model whose inputs and outputs are lists.
        inputs: Its inputs, as arrays.
        wrt: The input to differentiate with respect to.
        classes: One class index per image.

    Returns:
        ``(outputs, gradient)``: the model's outputs and the gradient with respect to
        ``inputs[wrt]``, as NumPy arrays.
    """
    num_classes = int(model.outputs[-1].shape[-1])
    one_hot = np.eye(num_classes, dtype="float32")[np.asarray(classes)]
    backend = keras.backend.backend()
    if backend == "tensorflow":
        outputs, gradient = _tensorflow(model, inputs, wrt, one_hot)
    elif backend == "jax":
        outputs, gradient = _jax(model, inputs, wrt, one_hot)
    elif backend == "torch":
        outputs, gradient = _torch(model, inputs, wrt, one_hot)
    else:
        raise ValueError(
            f"cnnzoo.explain differentiates on the tensorflow, jax and torch backends; "
            f"received KERAS_BACKEND={backend!r}."
        )
    return [ops.convert_to_numpy(output) for output in outputs], ops.convert_to_numpy(gradient)


def _score(outputs, one_hot):
    return ops.sum(outputs[-1] * one_hot)  # the images' scores add: each its own gradient


def _tensorflow(model, inputs, wrt, one_hot):
    import tensorflow as tf

    tensors = [tf.convert_to_tensor(value) for value in inputs]
    with tf.GradientTape() as tape:
        tape.watch(tensors[wrt])  # watched: the layers before it may all be frozen
        outputs = tree.flatten(model(tensors, training=False))
        score = _score(outputs, one_hot)
    return outputs, tape.gradient(score, tensors[wrt])


def _jax(model, inputs, wrt, one_hot):
    import jax

    trainable = [variable.value for variable in model.trainable_variables]
    non_trainable = [variable.value for variable in model.non_trainable_variables]

    def score(value):
        tensors = [*inputs[:wrt], value, *inputs[wrt + 1 :]]
        outputs, _ = model.stateless_call(trainable, non_trainable, tensors, training=False)
        outputs = tree.flatten(outputs)
        return _score(outputs, one_hot), outputs

    (_, outputs), gradient = jax.value_and_grad(score, has_aux=True)(jax.numpy.asarray(inputs[wrt]))
    return outputs, gradient


def _torch(model, inputs, wrt, one_hot):
    import torch

    tensors = [ops.convert_to_tensor(value) for value in inputs]
    tensors[wrt] = tensors[wrt].detach().requires_grad_(True)
    outputs = tree.flatten(model(tensors, training=False))
    (gradient,) = torch.autograd.grad(_score(outputs, ops.convert_to_tensor(one_hot)), tensors[wrt])
    return [output.detach() for output in outputs], gradient
