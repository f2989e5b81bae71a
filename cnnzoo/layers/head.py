"""The classifier head (pooling, hidden fully connected layers, dropout, predictions)."""

from __future__ import annotations

from collections.abc import Callable, Sequence

import keras

from cnnzoo.layers.dims import layer_class, spatial_rank

POOLINGS = (None, "avg", "max", "flatten")


def classifier_head(
    x,
    *,
    include_top: bool,
    num_classes: int,
    pooling: str | None,
    hidden_units: Sequence[int] = (),
    dropout: float = 0.0,
    activation: str | Callable = "relu",
    classifier_activation: str | Callable | None = "softmax",
    kernel_regularizer: keras.regularizers.Regularizer | None = None,
):
    """Pools the feature map and, with ``include_top``, adds the fully connected classifier.

    Layer names: ``head_flatten`` / ``head_avg_pool`` / ``head_max_pool``; ``head_fc{i}``,
    ``head_fc{i}_act`` and ``head_fc{i}_dropout`` per hidden layer (dropout follows each
    hidden layer, as in AlexNet and VGG); ``head_dropout`` before the output when there are
    no hidden layers; and ``predictions``.

    Args:
        x: The backbone's feature map, channels last.
        include_top: Add the fully connected layers and the ``num_classes`` output.
        num_classes: Number of outputs.
        pooling: ``None`` (keep the feature map; only without the top), ``"flatten"``,
            ``"avg"`` or ``"max"`` (global pooling).
        hidden_units: Widths of the hidden fully connected layers.
        dropout: Dropout rate of the head.
        activation: Activation of the hidden layers.
        classifier_activation: Activation of ``predictions`` (``None`` gives logits).
        kernel_regularizer: Applied to every dense kernel.

    Returns:
        The head's output tensor.

    Example:
        >>> import keras
        >>> x = keras.Input((7, 7, 512))
        >>> y = classifier_head(x, include_top=True, num_classes=10, pooling="avg",
        ...                     hidden_units=(64,), dropout=0.5)
        >>> tuple(y.shape)
        (None, 10)
    """
    rank = spatial_rank(x)
    if pooling == "flatten":
        if any(size is None for size in x.shape[1:]):
            raise ValueError(
                "pooling='flatten' needs a fixed input size, but the feature map has shape "
                f"{tuple(x.shape[1:])}; give input_shape with every size, or use pooling='avg'."
            )
        x = keras.layers.Flatten(name="head_flatten")(x)
    elif pooling in ("avg", "max"):
        x = layer_class(f"global_{pooling}_pool", rank)(name=f"head_{pooling}_pool")(x)
    if not include_top:
        return x
    for i, units in enumerate(hidden_units, start=1):
        x = keras.layers.Dense(units, kernel_regularizer=kernel_regularizer, name=f"head_fc{i}")(x)
        x = keras.layers.Activation(activation, name=f"head_fc{i}_act")(x)
        if dropout:
            x = keras.layers.Dropout(dropout, name=f"head_fc{i}_dropout")(x)
    if dropout and not hidden_units:
        x = keras.layers.Dropout(dropout, name="head_dropout")(x)
    return prediction_layer(num_classes, classifier_activation, kernel_regularizer)(x)


def prediction_layer(num_classes, activation, kernel_regularizer=None, name="predictions"):
    """The classifier's output ``Dense`` layer. Under a mixed-precision policy it computes
    in float32, as Keras' mixed-precision guide advises, so the softmax and the loss do not
    overflow or underflow in float16.

    Example:
        >>> keras.mixed_precision.set_global_policy("mixed_float16")
        >>> prediction_layer(10, "softmax").dtype_policy.name
        'float32'
        >>> keras.mixed_precision.set_global_policy("float32")
    """
    mixed = keras.mixed_precision.global_policy().name.startswith("mixed")
    return keras.layers.Dense(
        num_classes,
        activation=activation,
        kernel_regularizer=kernel_regularizer,
        name=name,
        dtype="float32" if mixed else None,
    )
