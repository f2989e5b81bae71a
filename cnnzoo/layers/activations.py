"""Activations: LeNet-5's scaled tanh, and the check every factory runs on ``activation``."""

from __future__ import annotations

from collections.abc import Callable

import keras
from keras import ops


@keras.saving.register_keras_serializable(package="cnnzoo")
def scaled_tanh(x):
    """LeCun et al. (1998), appendix A: ``f(a) = 1.7159 * tanh(2a / 3)``.

    The constants make ``f(1) = 1`` and ``f(-1) = -1``, with the largest second derivative
    at +-1, which the paper chose so that the targets +-1 sit in the curve's useful range.

    Example:
        >>> round(float(scaled_tanh(1.0)), 4)
        1.0
    """
    return 1.7159 * ops.tanh(x * (2.0 / 3.0))


_ALIASES = {"scaled_tanh": scaled_tanh}


def resolve_activation(activation: str | Callable, argument: str = "activation") -> str | Callable:
    """Returns an activation Keras accepts, or raises a ``ValueError`` naming ``argument``.

    Example:
        >>> resolve_activation("relu")
        'relu'
        >>> resolve_activation("scaled_tanh").__name__
        'scaled_tanh'
    """
    if isinstance(activation, str) and activation in _ALIASES:
        return _ALIASES[activation]
    if callable(activation):
        return activation
    try:
        keras.activations.get(activation)
    except (ValueError, TypeError):
        raise ValueError(
            f"{argument} must be a Keras activation name (for example 'relu', 'tanh', "
            f"'gelu', 'swish'), 'scaled_tanh', or a callable; received {argument}={activation!r}."
        ) from None
    if not isinstance(activation, str):
        raise ValueError(
            f"{argument} must be a Keras activation name or a callable; "
            f"received {argument}={activation!r}."
        )
    return activation
