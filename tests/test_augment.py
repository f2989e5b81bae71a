"""Augmentation: PCA colour noise (AlexNet section 4.1), the Inception crop, the presets."""

import keras
import matplotlib.image
import numpy as np
import pytest
import tensorflow as tf

from cnnzoo import lenet5
from cnnzoo.augment import (
    PRESETS,
    PCAColorAugmentation,
    RandomResizedCrop,
    describe_presets,
    make_augmentation,
)
from cnnzoo.augment.pca_color import IMAGENET_EIGENVALUES, IMAGENET_EIGENVECTORS
from cnnzoo.data import load_sample
from cnnzoo.viz import augmentation_grid


def _shifts(layer, n, value=0.0):
    images = np.full((n, 2, 2, 3), value, "float32")
    out = keras.ops.convert_to_numpy(layer(images, training=True))
    return out - images


def test_identity_at_inference_and_shape_and_dtype_kept():
    images = np.random.default_rng(0).uniform(0, 255, (3, 5, 7, 3)).astype("float32")
    layer = PCAColorAugmentation(seed=0)
    np.testing.assert_array_equal(keras.ops.convert_to_numpy(layer(images, training=False)), images)
    out = layer(images, training=True)
    assert tuple(out.shape) == images.shape and out.dtype == "float32"
    assert not np.allclose(keras.ops.convert_to_numpy(out), images)


def test_one_colour_shift_per_image_along_the_principal_components():
    shifts = _shifts(PCAColorAugmentation(seed=3), 4000)
    assert np.allclose(shifts, shifts[:, :1, :1, :], atol=1e-4)  # same RGB shift per image
    per_image = shifts[:, 0, 0, :]
    # Coordinates on the eigenvectors: alpha_i * lambda_i * 255, alpha_i ~ N(0, 0.1).
    coords = per_image @ np.asarray(IMAGENET_EIGENVECTORS)
    expected = 0.1 * np.asarray(IMAGENET_EIGENVALUES) * 255
    np.testing.assert_allclose(coords.std(axis=0), expected, rtol=0.06)
    np.testing.assert_allclose(coords.mean(axis=0), 0, atol=0.1)
    assert abs(np.corrcoef(coords[:, 0], coords[:, 1])[0, 1]) < 0.06


def test_value_range_and_alpha_std_scale_the_shift():
    wide = _shifts(PCAColorAugmentation(seed=1), 500)
    unit = _shifts(PCAColorAugmentation(seed=1, value_range=(0, 1)), 500)
    np.testing.assert_allclose(wide, unit * 255, rtol=1e-4, atol=1e-4)
    strong = _shifts(PCAColorAugmentation(seed=1, alpha_std=0.2), 500)
    np.testing.assert_allclose(strong, 2 * wide, rtol=1e-4, atol=1e-4)
    assert not np.any(_shifts(PCAColorAugmentation(alpha_std=0), 4))


def test_seeded_layers_repeat_their_draws():
    first, second = PCAColorAugmentation(seed=7), PCAColorAugmentation(seed=7)
    np.testing.assert_array_equal(_shifts(first, 8), _shifts(second, 8))
    assert not np.array_equal(_shifts(first, 8), _shifts(PCAColorAugmentation(seed=8), 8))


def test_adapt_finds_the_covariance_of_the_data():
    rng = np.random.default_rng(0)
    direction = np.array([0.8, 0.6, 0.0])
    pixels = 128 + rng.normal(0, 40, (20000, 1)) * direction + rng.normal(0, 5, (20000, 3))
    images = pixels.reshape(-1, 10, 10, 3)
    layer = PCAColorAugmentation().adapt(images)
    scaled = pixels / 255
    values = np.linalg.eigvalsh(np.cov(scaled.T))  # ascending
    np.testing.assert_allclose(layer.eigenvalues, values[::-1], rtol=1e-6)
    np.testing.assert_allclose(np.abs(layer.eigenvectors[:, 0]), direction, atol=0.01)
    # An iterable of (images, labels) batches gives the same answer.
    batches = tf.data.Dataset.from_tensor_slices((images, np.zeros(len(images)))).batch(50)
    np.testing.assert_allclose(
        PCAColorAugmentation().adapt(batches.as_numpy_iterator()).eigenvalues,
        layer.eigenvalues,
        rtol=1e-6,
    )


def test_rejects_non_rgb_input_and_bad_arguments():
    with pytest.raises(
        ValueError, match=r"needs 3 channels; received input shape \(None, 8, 8, 1\)"
    ):
        keras.Sequential([keras.Input((8, 8, 1)), PCAColorAugmentation()])
    with pytest.raises(ValueError, match=r"adapt needs RGB images .*\(4, 8, 8, 1\)"):
        PCAColorAugmentation().adapt(np.zeros((4, 8, 8, 1)))
    with pytest.raises(ValueError, match=r"alpha_std must be a number >= 0; received alpha_std=-1"):
        PCAColorAugmentation(alpha_std=-1)
    with pytest.raises(ValueError, match=r"value_range must be \(low, high\).*\(1, 0\)"):
        PCAColorAugmentation(value_range=(1, 0))
    with pytest.raises(ValueError, match=r"eigenvectors a 3x3 matrix"):
        PCAColorAugmentation(eigenvalues=(1, 2))


def test_works_inside_tf_data():
    layer = PCAColorAugmentation(seed=2)
    dataset = tf.data.Dataset.from_tensor_slices(np.zeros((8, 4, 4, 3), "float32"))
    out = np.stack(list(dataset.batch(4).map(lambda x: layer(x, training=True)).unbatch()))
    per_image = out[:, 0, 0, :]
    assert np.allclose(out, per_image[:, None, None, :], atol=1e-5)
    assert len({tuple(np.round(row, 4)) for row in per_image}) == 8  # a new draw per image


def test_config_and_model_round_trip_keep_adapted_values(tmp_path):
    layer = PCAColorAugmentation(alpha_std=0.2, seed=5).adapt(
        np.random.default_rng(0).uniform(0, 255, (16, 4, 4, 3))
    )
    clone = PCAColorAugmentation.from_config(layer.get_config())
    np.testing.assert_array_equal(clone.eigenvectors, layer.eigenvectors)
    assert clone.alpha_std == 0.2 and clone.seed == 5
    model = lenet5(variant="modern", input_shape=(32, 32, 3), augmentation=[layer], num_classes=3)
    model.save(tmp_path / "m.keras")
    reloaded = keras.saving.load_model(tmp_path / "m.keras")
    images = np.random.default_rng(1).uniform(0, 255, (2, 32, 32, 3)).astype("float32")
    np.testing.assert_array_equal(
        reloaded.predict(images, verbose=0), model.predict(images, verbose=0)
    )
    restored = reloaded.get_layer("augmentation").layers[0]
    np.testing.assert_allclose(restored.eigenvalues, layer.eigenvalues)


# ----- RandomResizedCrop ----------------------------------------------------------------


def _columns(size=16):
    # Each pixel holds its column index, so a crop shows which columns it kept.
    return np.tile(np.arange(size, dtype="float32")[None, :, None], (size, 1, 1))[None]


def test_resized_crop_shapes_dtype_and_unbatched_input():
    layer = RandomResizedCrop(size=(12, 20), seed=0)
    batch = np.random.default_rng(0).uniform(0, 255, (3, 32, 32, 3)).astype("float32")
    assert tuple(layer(batch).shape) == (3, 12, 20, 3)
    assert tuple(layer(batch, training=False).shape) == (3, 12, 20, 3)
    assert tuple(layer(batch[0]).shape) == (12, 20, 3)
    assert layer.compute_output_shape((None, 32, 32, 3)) == (None, 12, 20, 3)


def test_resized_crop_inference_is_a_center_crop():
    image = _columns()
    np.testing.assert_allclose(
        keras.ops.convert_to_numpy(RandomResizedCrop()(image, training=False)), image, atol=1e-5
    )
    half = keras.ops.convert_to_numpy(RandomResizedCrop(center_crop=0.5)(image, training=False))
    row = half[0, 0, :, 0]
    np.testing.assert_allclose(row, 3.75 + 0.5 * np.arange(16), atol=1e-4)  # central 8 of 16
    assert np.all(np.diff(row) > 0)


def test_resized_crop_boxes_follow_scale_and_ratio():
    layer = RandomResizedCrop(scale=(0.25, 0.25), ratio=(1.0, 1.0), seed=3)
    out = keras.ops.convert_to_numpy(layer(np.repeat(_columns(), 64, axis=0)))
    spans = out[:, 0, -1, 0] - out[:, 0, 0, 0]
    # A quarter of the area at aspect 1 is half of each side: 8 columns of 16, sampled at 16
    # points 0.5 apart (a box at the border is clamped at the last column).
    assert np.median(spans) == pytest.approx(7.5, abs=1e-3)
    assert np.all((spans > 7.0 - 1e-3) & (spans < 7.5 + 1e-3))
    starts = out[:, 0, 0, 0]
    assert starts.min() >= 0 and starts.max() <= 8 and starts.std() > 1  # placed at random
    wide = RandomResizedCrop(scale=(0.08, 1.0), seed=3)
    varied = keras.ops.convert_to_numpy(wide(np.repeat(_columns(), 64, axis=0)))
    assert np.ptp(varied[:, 0, -1, 0] - varied[:, 0, 0, 0]) > 5  # areas vary


def test_resized_crop_is_seeded_and_works_in_tf_data():
    images = np.random.default_rng(0).uniform(0, 255, (8, 16, 16, 3)).astype("float32")
    first = RandomResizedCrop(size=(8, 8), seed=4)(images)
    second = RandomResizedCrop(size=(8, 8), seed=4)(images)
    np.testing.assert_array_equal(first, second)
    layer = RandomResizedCrop(size=(8, 8), seed=4)
    dataset = tf.data.Dataset.from_tensor_slices(images).batch(4).map(layer)
    assert [tuple(batch.shape) for batch in dataset] == [(4, 8, 8, 3)] * 2


def test_resized_crop_config_round_trip_and_errors():
    layer = RandomResizedCrop(size=(8, 9), scale=(0.5, 1), ratio=(0.5, 2), center_crop=0.875)
    clone = RandomResizedCrop.from_config(layer.get_config())
    assert (clone.size, clone.scale, clone.ratio, clone.center_crop) == (
        (8, 9), (0.5, 1.0), (0.5, 2.0), 0.875
    )  # fmt: skip
    with pytest.raises(ValueError, match=r"scale must be \(min, max\).*scale=\(0.5, 1.5\)"):
        RandomResizedCrop(scale=(0.5, 1.5))
    with pytest.raises(ValueError, match=r"ratio must be .*ratio=\(2, 1\)"):
        RandomResizedCrop(ratio=(2, 1))
    with pytest.raises(
        ValueError, match=r"center_crop must be in \(0, 1\]; received center_crop=0"
    ):
        RandomResizedCrop(center_crop=0)
    with pytest.raises(ValueError, match=r"size must be None or \(height, width\)"):
        RandomResizedCrop(size=32)


# ----- presets ----------------------------------------------------------------------------


@pytest.mark.slow
@pytest.mark.parametrize("preset", sorted(set(PRESETS) - {"none"}))
def test_each_preset_augments_in_training_only_inside_a_model(preset, tmp_path):
    model = lenet5(variant="modern", input_shape=(32, 32, 3), num_classes=3, augmentation=preset)
    images = np.random.default_rng(0).uniform(0, 255, (4, 32, 32, 3)).astype("float32")
    augmentation = model.get_layer("augmentation")
    augmented = keras.ops.convert_to_numpy(augmentation(images, training=True))
    assert augmented.shape == images.shape and not np.allclose(augmented, images)
    np.testing.assert_allclose(
        keras.ops.convert_to_numpy(augmentation(images, training=False)), images, atol=1e-3
    )
    model.compile(optimizer="sgd", loss="sparse_categorical_crossentropy")
    model.fit(images, np.arange(4) % 3, epochs=1, verbose=0)
    clone = keras.models.model_from_json(model.to_json())
    assert [type(layer).__name__ for layer in clone.get_layer("augmentation").layers] == [
        type(layer).__name__ for layer in augmentation.layers
    ]
    model.save(tmp_path / "m.keras")
    reloaded = keras.saving.load_model(tmp_path / "m.keras")
    np.testing.assert_array_equal(
        reloaded.predict(images, verbose=0), model.predict(images, verbose=0)
    )


def test_presets_scale_with_strength_and_are_documented():
    images = np.random.default_rng(0).uniform(0, 255, (64, 8, 8, 3)).astype("float32")

    def change(strength):
        layer = make_augmentation("alexnet", strength=strength, seed=0)
        return float(np.mean(np.abs(keras.ops.convert_to_numpy(layer.layers[-1](images)) - images)))

    assert change(2.0) == pytest.approx(2 * change(1.0), rel=1e-4)
    assert make_augmentation("none") is None
    assert set(describe_presets()) == set(PRESETS) and all(describe_presets().values())


def test_preset_errors_name_the_choices():
    with pytest.raises(
        ValueError, match=r"augment must be a preset name \('none', 'mirror'.*'fancy'"
    ):
        make_augmentation("fancy")
    with pytest.raises(ValueError, match=r"'inception' preset changes colours .*have 1"):
        make_augmentation("inception", channels=1)
    with pytest.raises(ValueError, match=r"'alexnet' preset .*have 1"):
        lenet5(variant="modern", augmentation="alexnet")  # 32x32x1 digits
    with pytest.raises(ValueError, match=r"strength must be a number > 0; received strength=0"):
        make_augmentation("standard", strength=0)
    assert lenet5(variant="modern", augmentation="strong").get_layer("augmentation")


# ----- augmentation grid ------------------------------------------------------------------


def test_augmentation_grid_writes_one_row_per_image(tmp_path):
    digits = load_sample("mnist").train.images[:3]
    path = augmentation_grid(digits, "standard", tmp_path / "grid" / "standard.png", versions=4)
    picture = matplotlib.image.imread(path)
    assert picture.shape[:2] == (3 * 128, 5 * 128)  # 1.6 inches per panel at 80 dpi
    again = augmentation_grid(digits, "standard", tmp_path / "again.png", versions=4)
    np.testing.assert_array_equal(matplotlib.image.imread(again), picture)  # seeded
    plain = matplotlib.image.imread(augmentation_grid(digits, "none", tmp_path / "none.png"))
    assert not np.array_equal(plain, picture)


def test_augmentation_grid_errors():
    with pytest.raises(ValueError, match=r"images must be a batch .*received shape \(28, 28, 1\)"):
        augmentation_grid(np.zeros((28, 28, 1)), "mirror", "x.png")
    with pytest.raises(ValueError, match=r"'alexnet' preset changes colours"):
        augmentation_grid(np.zeros((2, 28, 28, 1)), "alexnet", "x.png")


def test_preset_layers_draw_independent_seeds():
    seeds = [layer.seed for layer in make_augmentation("strong", seed=10).layers]
    assert seeds == list(range(10, 17))
    assert all(layer.seed is None for layer in make_augmentation("strong").layers)
