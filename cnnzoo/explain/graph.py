"""The models that the explanations run: the main output, a layer found anywhere (inside
nested models too), and the model with a probe added at one layer.

Grad-CAM needs the gradient of a class score with respect to a layer's output. TensorFlow
and PyTorch record a tape and can give it for any intermediate tensor; JAX differentiates
functions of their inputs only. So the layer's output gets a probe: a second input, all
zeros, added to it. The gradient with respect to the probe is the gradient with respect to
the layer's output, on every backend, and the rest of the graph (shortcuts that cross the
layer included) runs unchanged. A "rest of the network" sub-model starting at the layer
would not do: where a residual shortcut crosses the layer, the rest is disconnected from it.
"""

from __future__ import annotations

import contextlib
import difflib
from collections.abc import Iterator

import keras
from keras import tree

from cnnzoo._compat import functional_graph, run_through_graph
from cnnzoo.models.auxiliary import MAIN_OUTPUT
from cnnzoo.transfer.features import STAGE_OUTPUT


def check_model(model) -> keras.Model:
    """``model`` if it is a Keras model with one input."""
    if not isinstance(model, keras.Model):
        raise ValueError(f"model must be a keras.Model; received model={model!r}.")
    if len(model.inputs) != 1:
        raise ValueError(
            f"model must have one input; received model {model.name!r} with "
            f"{len(model.inputs)} inputs."
        )
    return model


def main_output_index(model: keras.Model) -> int:
    """Which output is the prediction: ``predictions`` where there are auxiliary heads
    (GoogLeNet, Inception v3 with ``aux_logits=True``), else the first."""
    names = list(model.output_names)
    return names.index(MAIN_OUTPUT) if MAIN_OUTPUT in names else 0


def scoring_model(model: keras.Model) -> keras.Model:
    """``model`` with its main output only, taking and returning lists."""
    return keras.Model(model.inputs, [model.outputs[main_output_index(model)]])


def all_layers(model: keras.Model) -> list[keras.Layer]:
    """The layers of ``model`` in order, each nested model's layers in its place."""
    layers = []
    for layer in model.layers:
        layers.append(layer)
        if functional_graph(layer) is not None:
            layers += all_layers(layer)
    return layers


def _output_layer(model: keras.Model) -> keras.Layer:
    """The layer that computes the main output (inside a nested model if need be)."""
    layer = model.get_layer(model.output_names[main_output_index(model)])
    while functional_graph(layer) is not None:
        layer = layer.get_layer(layer.output_names[main_output_index(layer)])
    return layer


def default_layer(model: keras.Model) -> str:
    """The layer Grad-CAM looks at by default: the last ``stage{i}_out`` (cnnzoo's stage
    outputs, see :func:`cnnzoo.transfer.stage_outputs`) whose maps are larger than one
    position; in another model, the last such layer whose output has the input's axes.

    A map of one position (LeNet-5's C5, VGG's last stage on small images) can only say
    "everywhere".

    Example:
        >>> from cnnzoo import lenet5, resnet18
        >>> default_layer(resnet18(input_shape=(64, 64, 3)))
        'stage4_out'
        >>> default_layer(lenet5(input_shape=(28, 28, 1)))  # stage3_out is C5, 1x1
        'stage2_out'
    """
    rank = len(model.input_shape)
    maps = [
        layer
        for layer in all_layers(model)
        if functional_graph(layer) is None
        and not isinstance(layer, keras.layers.InputLayer)
        and len(layer.output.shape) == rank
        and any(size != 1 for size in layer.output.shape[1:-1])
    ]
    stages = [layer.name for layer in maps if STAGE_OUTPUT.fullmatch(layer.name)]
    if stages:
        return max(stages, key=lambda name: int(name[5:-4]))
    if not maps:
        raise ValueError(
            f"model {model.name!r} has no layer with maps of the input's axes larger than "
            "one position; name one with layer=."
        )
    return maps[-1].name


def find_layer(model: keras.Model, layer: str | None) -> keras.Layer:
    """The layer named ``layer`` (``None``: :func:`default_layer`), nested models included.

    Raises:
        ValueError: For a name that is no layer of the model (the message lists the
            closest names and the stage outputs), or a layer without one map output.
    """
    name = default_layer(model) if layer is None else layer
    if not isinstance(name, str):
        raise ValueError(f"layer must be a layer name or None; received layer={layer!r}.")
    found = [item for item in all_layers(model) if item.name == name]
    if not found:
        names = [item.name for item in all_layers(model)]
        close = difflib.get_close_matches(name, names, n=5, cutoff=0.5)
        stages = [item for item in names if STAGE_OUTPUT.fullmatch(item)]
        raise ValueError(
            f"layer must name a layer of model {model.name!r}; received layer={name!r}. "
            f"Closest names: {', '.join(close) or 'none'}; stage outputs: "
            f"{', '.join(stages) or 'none'} (model.summary() lists the layers)."
        )
    found = found[0]
    output = getattr(found, "output", None)
    if not isinstance(output, keras.KerasTensor) or len(output.shape) < 3:
        raise ValueError(
            f"layer must name a layer whose output is one map (batch, ..., channels); "
            f"received layer={name!r}, whose output is {output!r}."
        )
    return found


def probed_model(model: keras.Model, layer: keras.Layer) -> keras.Model:
    """``[images, probe] -> [layer's output, main output]``, where the probe (zeros of
    the layer's output shape) is added to the layer's output and the nested models are
    inlined; the layers, and so the weights, are ``model``'s own."""
    probe = {}

    def operation_fn(operation):
        graph = functional_graph(operation)
        if graph is not None:
            return lambda inputs, *args, **kwargs: _single(
                run_through_graph(graph, inputs, operation_fn)
            )
        if operation is not layer:
            return operation

        def probed(*args, **kwargs):
            output = operation(*args, **kwargs)
            if probe:
                raise ValueError(
                    f"layer must name a layer that the model calls once; layer "
                    f"{layer.name!r} is called more than once."
                )
            probe["activation"] = output
            probe["input"] = keras.Input(batch_shape=output.shape, name=f"{layer.name}_probe")
            return output + probe["input"]

        return probed

    images = keras.Input(batch_shape=model.inputs[0].shape, name="images")
    outputs = tree.flatten(run_through_graph(model, images, operation_fn))
    main = outputs[main_output_index(model)]
    return keras.Model([images, probe["input"]], [probe["activation"], main])


def _single(outputs):
    return outputs[0] if isinstance(outputs, list | tuple) and len(outputs) == 1 else outputs


@contextlib.contextmanager
def logits(model: keras.Model) -> Iterator[None]:
    """Within the block, the main output layer gives scores before its softmax (or
    sigmoid): the class score of Grad-CAM and saliency (Selvaraju et al. 2017, "the score
    for class c, before the softmax"). The probabilities' gradients vanish where the model
    is sure, which is where a trained model mostly is."""
    layer = _output_layer(model)
    activation = getattr(layer, "activation", None)
    squashing = activation in (keras.activations.softmax, keras.activations.sigmoid)
    if squashing:
        layer.activation = keras.activations.linear
    try:
        yield
    finally:
        if squashing:
            layer.activation = activation
