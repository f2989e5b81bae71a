"""Feature extraction: a model that returns named intermediate feature maps."""

from __future__ import annotations

import re
from collections.abc import Sequence

import keras

from cnnzoo.checks import check_bool
from cnnzoo.layers.dims import layer_class, spatial_rank

STAGE_OUTPUT = re.compile(r"stage\d+_out")


def stage_outputs(model: keras.Model) -> list[str]:
    """The names of ``model``'s stage outputs (``stage1_out``, ...), shallowest first.

    Example:
        >>> from cnnzoo import resnet18
        >>> stage_outputs(resnet18(input_shape=(32, 32, 3)))
        ['stage1_out', 'stage2_out', 'stage3_out', 'stage4_out']
    """
    names = [layer.name for layer in model.layers if STAGE_OUTPUT.fullmatch(layer.name)]
    return sorted(names, key=lambda name: int(name[5:-4]))


def upstream_layers(model: keras.Model, layer_name: str) -> set[str]:
    """Names of the layers that ``layer_name``'s output depends on, itself included."""
    inputs = model.inputs[0] if len(model.inputs) == 1 else model.inputs
    upstream = keras.Model(inputs, model.get_layer(layer_name).output)
    return {layer.name for layer in upstream.layers}


def backbone_layers(model: keras.Model) -> set[str]:
    """Names of the layers up to the model's last ``stage{i}_out`` (all layers without one)."""
    stages = stage_outputs(model)
    if not stages:
        return {layer.name for layer in model.layers}
    return upstream_layers(model, stages[-1])


def feature_extractor(
    model: keras.Model,
    outputs: str | Sequence[str] | None = None,
    *,
    pooled: bool = False,
    name: str | None = None,
) -> keras.Model:
    """A model over the same weights that returns the named feature maps as a dict.

    Works on any cnnzoo model, including one reloaded from a ``.keras`` file, since it
    goes by layer names: the stage outputs (``stage1_out`` ...), or any layer (for
    example Inception v3's ``mixed7``). The weights are shared, not copied.

    Args:
        model: A functional Keras model.
        outputs: A layer name or a list of them; ``None`` takes every stage output.
        pooled: Globally average-pool each map into a vector (an embedding per layer).
        name: Name of the new model (default ``"{model.name}_features"``).

    Returns:
        A ``keras.Model`` whose output is a dict from layer name to tensor.

    Raises:
        ValueError: For a name that is not a layer of ``model`` (the message lists the
            stage outputs), an empty selection or a model without stage outputs.

    Example:
        >>> import numpy as np
        >>> from cnnzoo import resnet18
        >>> features = feature_extractor(resnet18(input_shape=(64, 64, 3)),
        ...                              ["stage2_out", "stage4_out"])
        >>> maps = features(np.zeros((1, 64, 64, 3), "float32"))
        >>> {key: tuple(value.shape) for key, value in maps.items()}
        {'stage2_out': (1, 8, 8, 128), 'stage4_out': (1, 2, 2, 512)}
    """
    if not isinstance(model, keras.Model):
        raise ValueError(f"model must be a keras.Model; received model={model!r}.")
    stages = stage_outputs(model)
    if outputs is None:
        if not stages:
            raise ValueError(
                f"Model {model.name!r} has no stage{{i}}_out layers; name the layers to "
                "extract with outputs=[...]."
            )
        outputs = stages
    names = [outputs] if isinstance(outputs, str) else list(outputs)
    if not names:
        raise ValueError("outputs must name at least one layer; received outputs=[].")
    known = {layer.name for layer in model.layers}
    unknown = [item for item in names if item not in known]
    if unknown:
        raise ValueError(
            f"outputs names layers that model {model.name!r} does not have: {unknown}. "
            f"Its stage outputs are {stages}; any other layer name works too "
            "(see model.summary())."
        )
    check_bool("pooled", pooled)
    features = {}
    for layer_name in dict.fromkeys(names):
        tensor = model.get_layer(layer_name).output
        if pooled and len(tensor.shape) > 2:
            pooling = layer_class("global_avg_pool", spatial_rank(tensor))
            tensor = pooling(name=f"{layer_name}_pooled")(tensor)
        features[layer_name] = tensor
    inputs = model.inputs[0] if len(model.inputs) == 1 else model.inputs
    return keras.Model(inputs, features, name=name or f"{model.name}_features")
