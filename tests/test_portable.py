"""What must work on every Keras backend: the models, the custom layers, training runs and
fine-tuning. ``make test`` runs this file on TensorFlow; ``make test-backends`` runs it
again with ``KERAS_BACKEND=jax`` and ``KERAS_BACKEND=torch``."""

import json

import keras
import numpy as np
import pytest

from cnnzoo import create_model, list_models, model_info
from cnnzoo.augment import PCAColorAugmentation, RandomResizedCrop
from cnnzoo.layers import LocalResponseNormalization
from cnnzoo.training import finetune, train

BACKEND = keras.backend.backend()

# One model per code path that could depend on the backend: the connection table and
# scaled tanh, LRN and grouped convolutions, batch norm, the post-activation bottleneck,
# pre-activation blocks, the zero-padded shortcut, the Inception module with LRN, and
# Inception v3's scale-free batch norm with asymmetric kernels. The other registered
# models repeat these layers (tests/test_models.py trains each of them on TensorFlow).
PORTABLE_MODELS = [
    "lenet5", "alexnet", "vgg11_bn", "resnet50", "resnet50v2", "resnet20", "googlenet",
    "inception_v3",
]  # fmt: skip


def test_the_portable_models_cover_every_family():
    assert {model_info(name).family for name in PORTABLE_MODELS} == {
        model_info(name).family for name in list_models()
    }


# The largest take most of this file's time: `make check` leaves them to `make test`.
LARGE = ("resnet50", "resnet50v2", "inception_v3")


@pytest.mark.slow
@pytest.mark.parametrize(
    "name",
    [pytest.param(name, marks=pytest.mark.slow) if name in LARGE else name
     for name in PORTABLE_MODELS],
)  # fmt: skip
def test_a_model_trains_a_step_and_reloads(tmp_path, name):
    info = model_info(name)
    kwargs = {"input_shape": (info.min_input_size,) * 2 + (2,), "num_classes": 3}
    if info.family in ("alexnet", "vgg"):  # the families with hidden fully connected layers
        kwargs["fc_units"] = (8,)
    model = create_model(name, **kwargs)
    x = np.random.default_rng(0).uniform(0, 1, (2, *model.input_shape[1:])).astype("float32")
    model.compile(optimizer="sgd", loss="sparse_categorical_crossentropy")
    before = model.predict(x, verbose=0)
    loss = model.train_on_batch(x, np.array([0, 2]))
    after = model.predict(x, verbose=0)
    assert np.isfinite(loss) and not np.allclose(before, after)
    model.save(tmp_path / "model.keras")
    reloaded = keras.saving.load_model(tmp_path / "model.keras").predict(x, verbose=0)
    np.testing.assert_allclose(reloaded, after, rtol=1e-5, atol=1e-6)


def test_lrn_matches_the_formula():
    x = np.random.default_rng(1).uniform(-2, 2, (2, 3, 3, 7)).astype("float32")
    layer = LocalResponseNormalization(size=5, bias=2.0, alpha=1e-2, beta=0.75)
    squares = np.pad(x**2, ((0, 0), (0, 0), (0, 0), (2, 2)))
    window = sum(squares[..., i : i + 7] for i in range(5))
    expected = x / (2.0 + 1e-2 * window) ** 0.75
    np.testing.assert_allclose(keras.ops.convert_to_numpy(layer(x)), expected, rtol=1e-5)


def test_pca_colour_shifts_each_image_by_one_colour_and_not_at_inference():
    images = np.random.default_rng(2).uniform(0, 255, (4, 5, 5, 3)).astype("float32")
    layer = PCAColorAugmentation(seed=0)
    unchanged = layer(images, training=False)
    np.testing.assert_array_equal(keras.ops.convert_to_numpy(unchanged), images)
    shift = keras.ops.convert_to_numpy(layer(images)) - images
    per_image = shift.reshape(4, -1, 3)
    one_colour = np.broadcast_to(per_image[:, :1], per_image.shape)
    np.testing.assert_allclose(per_image, one_colour, atol=1e-3)  # one shift per image
    assert np.abs(per_image[:, 0]).max() > 1e-3 and not np.allclose(per_image[0], per_image[1])


def test_random_resized_crop_is_seeded_and_keeps_the_size():
    images = np.random.default_rng(3).uniform(0, 255, (3, 16, 16, 3)).astype("float32")
    first = RandomResizedCrop((8, 8), seed=4)(images, training=True)
    again = RandomResizedCrop((8, 8), seed=4)(images, training=True)
    assert tuple(first.shape) == (3, 8, 8, 3)
    np.testing.assert_allclose(
        keras.ops.convert_to_numpy(first), keras.ops.convert_to_numpy(again), rtol=1e-6
    )


def test_a_training_run_and_a_fine_tuning_run(tmp_path, digits_folder):
    trained = train(
        "lenet5", digits_folder, epochs=2, batch_size=8, out=tmp_path / "train", verbose=0,
        model_kwargs={"variant": "modern"}, learning_rate=3e-3,
    )  # fmt: skip
    assert trained.epochs == 2 and 0 <= trained.metrics["validation_accuracy"] <= 1
    assert json.loads((trained.run_dir / "config.json").read_text())["epochs"] == 2
    tuned = finetune(
        "lenet5", digits_folder, weights=trained.run_dir / "model.keras", batch_size=8,
        out=tmp_path / "finetune", phases=[{"epochs": 1}, {"epochs": 1}], verbose=0,
        model_kwargs={"variant": "modern"},
    )  # fmt: skip
    assert tuned.history["phase"] == [1, 2]
    assert keras.saving.load_model(tuned.run_dir / "model.keras").output_shape == (None, 2)


def test_layer_decay_scales_each_stage_step_and_survives_a_reload(tmp_path):
    from cnnzoo.transfer import (
        layer_decay_factors,
        layer_decay_optimizer,
        layer_groups,
        learning_rates,
    )

    model = create_model("lenet5", num_classes=3)
    x = np.random.default_rng(4).uniform(0, 1, (4, 32, 32, 1)).astype("float32")
    y, start = np.array([0, 1, 2, 0]), model.get_weights()

    def step(layer_decay):
        model.set_weights(start)
        optimizer = layer_decay_optimizer(model, keras.optimizers.SGD(0.1), layer_decay)
        model.compile(optimizer, "sparse_categorical_crossentropy")
        model.train_on_batch(x, y)
        return {w.path: w.numpy() - s for w, s in zip(model.weights, start, strict=True)}

    single, decayed = step(1.0), step(0.5)
    factors = layer_decay_factors(model, 0.5)
    for group, names in layer_groups(model).items():
        for path in [w.path for name in names for w in model.get_layer(name).weights]:
            np.testing.assert_allclose(
                decayed[path], factors[group] * single[path], rtol=1e-3, atol=1e-7
            )
    model.save(tmp_path / "model.keras")
    reloaded = keras.saving.load_model(tmp_path / "model.keras")
    assert learning_rates(reloaded.optimizer) == {
        "stage1": 0.0125, "stage2": 0.025, "stage3": 0.05, "head": 0.1
    }  # fmt: skip


def test_train_feeds_fit_numpy_batches_off_tensorflow_and_tf_data_on_it():
    """Keras converts tf.data batches one by one on JAX and PyTorch (benchmarks/bench_speed.py):
    there, an in-memory split without augmentation reaches fit as numpy batches."""
    import tensorflow as tf

    from cnnzoo.training.batches import ArrayBatches
    from cnnzoo.training.coordinator import Coordinator
    from cnnzoo.training.run import run_batches
    from cnnzoo.training.sources import load_run_data

    net = create_model("lenet5", num_classes=10, variant="modern")
    data = load_run_data("mnist-sample", seed=0, validation_split=0.2)
    config = {"label_smoothing": 0.0, "batch_size": 32, "seed": 0, "cache": "auto"}
    train_batches, validation, _ = run_batches(net, data, None, Coordinator(), config, for_fit=True)
    expected = tf.data.Dataset if BACKEND == "tensorflow" else ArrayBatches
    assert isinstance(train_batches, expected) and isinstance(validation, expected)
    if BACKEND != "tensorflow":
        assert len(train_batches) == 113 and train_batches[0][0].shape == (32, 32, 32, 1)
