"""Every registered model, through the same checks (builds, trains, pools, saves, reloads)."""

import functools
import json
import re

import keras
import numpy as np
import pytest
import tensorflow as tf
from conftest import REPRESENTATIVE_MODELS, random_images, small_kwargs

from cnnzoo import create_model, list_models

MODELS = list_models()
DISTINCT = REPRESENTATIVE_MODELS  # the deeper twins only repeat their sibling's blocks


def _batch(model, n=2, seed=0):
    return random_images(model.input_shape[1:], n, seed=seed)


def _outputs(model, x):
    """The model called eagerly: no graph to trace (predict's tracing costs seconds a model)."""
    return keras.ops.convert_to_numpy(model(x, training=False))


@functools.cache
def _built(name):
    """One model per name for the checks that leave it as it is (no training)."""
    return create_model(name, **small_kwargs(name))


@pytest.mark.parametrize("name", DISTINCT)
def test_builds_with_finite_probabilities(name):
    model = _built(name)
    outputs = _outputs(model, _batch(model))
    assert outputs.shape == (2, 5)
    assert np.all(np.isfinite(outputs))
    np.testing.assert_allclose(outputs.sum(axis=1), 1.0, rtol=1e-5)


@pytest.mark.parametrize("name", MODELS)
def test_one_training_step_reaches_every_weight(name):
    model = create_model(name, **small_kwargs(name))
    x, y = _batch(model, n=4), np.array([0, 1, 2, 3])
    before = [w.numpy().copy() for w in model.trainable_weights]
    optimizer = keras.optimizers.SGD(0.1)
    with tf.GradientTape() as tape:
        loss = keras.losses.sparse_categorical_crossentropy(y, model(x, training=True))
        loss = tf.reduce_mean(loss)
    gradients = tape.gradient(loss, model.trainable_weights)
    starved = [
        w.path for w, g in zip(model.trainable_weights, gradients, strict=True)
        if g is None or not np.any(g.numpy())
    ]  # fmt: skip
    assert not starved, f"weights without gradient: {starved}"
    optimizer.apply(gradients, model.trainable_weights)
    moved = [
        not np.array_equal(b, w.numpy())
        for b, w in zip(before, model.trainable_weights, strict=True)
    ]
    assert all(moved)
    assert np.isfinite(loss.numpy())


@pytest.mark.parametrize("name", DISTINCT)
@pytest.mark.parametrize("pooling", [None, "avg", "max", "flatten"])
def test_without_top_each_pooling(name, pooling):
    kwargs = small_kwargs(name)
    model = create_model(name, **kwargs, include_top=False, pooling=pooling)
    features = model.output_shape
    last_stage = [layer for layer in model.layers if layer.name.startswith("stage")][-1]
    map_shape = tuple(last_stage.output.shape[1:])
    expected = {
        None: (None, *map_shape),
        "avg": (None, map_shape[-1]),
        "max": (None, map_shape[-1]),
        "flatten": (None, int(np.prod(map_shape))),
    }[pooling]
    assert features == expected
    assert not any(layer.name == "predictions" for layer in model.layers)


@pytest.mark.parametrize("name", DISTINCT)
@pytest.mark.parametrize("channels", [1, 4])
def test_any_channel_count(name, channels):
    model = create_model(name, **small_kwargs(name, channels=channels))
    assert model.input_shape[-1] == channels
    assert _outputs(model, _batch(model)).shape == (2, 5)


@pytest.mark.parametrize("name", DISTINCT)
def test_json_config_round_trip(name):
    model = _built(name)
    clone = keras.models.model_from_json(model.to_json())
    assert json.loads(clone.to_json())["config"] == json.loads(model.to_json())["config"]
    assert clone.count_params() == model.count_params()
    assert [layer.name for layer in clone.layers] == [layer.name for layer in model.layers]


@pytest.mark.parametrize("name", DISTINCT)
def test_keras_file_round_trip(name, tmp_path):
    model = _built(name)
    x = _batch(model)
    path = tmp_path / f"{name}.keras"
    model.save(path)
    reloaded = keras.saving.load_model(path)
    np.testing.assert_array_equal(_outputs(reloaded, x), _outputs(model, x))


@pytest.mark.parametrize("name", DISTINCT)
def test_stage_outputs_are_named(name):
    model = _built(name)
    names = {layer.name for layer in model.layers}
    stages = sorted(n for n in names if re.fullmatch(r"stage\d+_out", n))
    assert stages == [f"stage{i}_out" for i in range(1, len(stages) + 1)] and len(stages) >= 3
    assert "predictions" in names


@pytest.mark.parametrize(
    "name", ["lenet5", "alexnet", "vgg11", "resnet18", "resnet50v2", "resnet20"]
)
def test_shared_knobs_reach_every_layer(name):
    model = create_model(
        name, **small_kwargs(name), kernel_regularizer=("l2", 1e-3), noise=0.1, activation="gelu"
    )
    # The per-map subsampling scales of LeNet-5 (s2, s4) are not kernels the knob is for.
    kernels = [
        layer for layer in model.layers
        if hasattr(layer, "kernel") and layer.name not in ("s2_conv", "s4_conv")
    ]  # fmt: skip
    assert kernels and all(layer.kernel_regularizer is not None for layer in kernels)
    model(_batch(model))
    assert len(model.losses) == len(kernels)
    assert model.get_layer("input_noise").stddev == 0.1
    activations = [a for a in model.layers if isinstance(a, keras.layers.Activation)]
    assert activations and all(a.activation.__name__ == "gelu" for a in activations)
