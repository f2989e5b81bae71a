"""``pipeline``: conversions (size, channels, dtype, range), augmentation in training only,
seeded shuffling and batching, MixUp and CutMix labels, numpy and dataset inputs, and a
model trained on its output."""

import math

import keras
import numpy as np
import pytest
import tensorflow as tf

from cnnzoo.data import from_folder, load_sample, pipeline
from cnnzoo.models import lenet5

RNG = np.random.default_rng(0)


def digits(count: int = 12):
    """Real MNIST digits as ``uint8`` (count, 28, 28, 1), labels 0..9."""
    sample = load_sample("mnist").train
    images = (sample.images[:count] * 255).round().astype("uint8")
    return images, sample.labels[:count]


def collect(dataset):
    """All batches of a dataset, concatenated: (images, labels)."""
    xs, ys = zip(*dataset.as_numpy_iterator(), strict=True)
    return np.concatenate(xs), np.concatenate(ys)


def test_resizes_converts_channels_casts_and_keeps_0_255():
    images, labels = digits(6)
    x, y = collect(pipeline((images, labels), (32, 32, 3), training=False, batch_size=6))
    assert x.shape == (6, 32, 32, 3) and x.dtype == np.float32
    np.testing.assert_array_equal(x[..., 0], x[..., 2])  # grayscale repeated
    assert x.min() >= 0 and x.max() <= 255 and x.max() > 200  # raw pixel values
    np.testing.assert_array_equal(y, labels)  # evaluation keeps the order

    same, _ = collect(pipeline((images, labels), (28, 28, 1), training=False))
    np.testing.assert_array_equal(same, images.astype("float32"))  # nothing to change


@pytest.mark.parametrize(
    ("value_range", "input_range", "expected"),
    [
        ((0, 1), None, lambda u8: u8 / 255),
        ((-1, 1), None, lambda u8: u8 / 127.5 - 1),
        (None, None, lambda u8: u8),
        ((0, 255), (0, 1), lambda u8: u8 * 255.0),  # float input in [0, 1], declared
    ],
)
def test_value_ranges(value_range, input_range, expected):
    images, labels = digits(4)
    data = images if input_range is None else images.astype("float32")
    x, _ = collect(
        pipeline(
            (data, labels),
            (28, 28, 1),
            training=False,
            value_range=value_range,
            input_range=input_range,
        )
    )
    np.testing.assert_allclose(x, expected(images.astype("float32")), rtol=1e-6, atol=1e-5)


def test_integer_input_range_follows_the_dtype():
    images = np.full((2, 4, 4, 1), 65535, "uint16")
    x, _ = collect(pipeline((images, [0, 1]), (4, 4, 1), value_range=(0, 1), training=False))
    np.testing.assert_allclose(x, 1.0)


def test_rgb_to_grayscale_uses_luma_and_alpha_is_dropped():
    primaries = np.zeros((3, 2, 2, 3), "uint8")
    for i in range(3):
        primaries[i, ..., i] = 255
    x, _ = collect(pipeline((primaries, [0, 1, 2]), (2, 2, 1), training=False))
    np.testing.assert_allclose(x[:, 0, 0, 0], [76.245, 149.685, 29.07], rtol=1e-5)

    rgba = np.concatenate([primaries, np.full((3, 2, 2, 1), 7, "uint8")], axis=-1)
    x, _ = collect(pipeline((rgba, [0, 1, 2]), (2, 2, 3), training=False))
    np.testing.assert_array_equal(x, primaries)


def test_impossible_channel_conversion_is_refused_early():
    images = np.zeros((2, 8, 8, 3), "uint8")
    with pytest.raises(ValueError, match="3 channels to 4"):
        pipeline((images, [0, 1]), (8, 8, 4))


def test_takes_the_input_shape_and_class_count_from_a_model():
    model = lenet5(variant="modern", input_shape=(32, 32, 3), num_classes=5)
    images, labels = digits(8)
    x, y = next(iter(pipeline((images, labels % 5), model, batch_size=8, mix="mixup", seed=0)))
    assert x.shape == (8, 32, 32, 3) and y.shape == (8, 5)


def asymmetric_images(count=8):
    return RNG.integers(0, 256, (count, 6, 6, 3)).astype("uint8"), np.arange(count)


def test_augmentation_runs_in_training_only():
    images, labels = asymmetric_images()
    flip = [keras.layers.RandomFlip("horizontal")]
    options = {"shuffle": False, "seed": 0}
    plain = collect(pipeline((images, labels), (6, 6, 3), training=False, **options))[0]
    evaluation = collect(
        pipeline((images, labels), (6, 6, 3), training=False, augment=flip, **options)
    )[0]
    training = collect(pipeline((images, labels), (6, 6, 3), augment=flip, **options))[0]
    np.testing.assert_array_equal(evaluation, plain)
    flipped = [np.array_equal(t, p[:, ::-1]) for t, p in zip(training, plain, strict=True)]
    kept = [np.array_equal(t, p) for t, p in zip(training, plain, strict=True)]
    assert all(f or k for f, k in zip(flipped, kept, strict=True))  # only mirrored
    assert any(flipped) and any(kept)


def test_augmentation_presets_resolve_by_name():
    images, labels = asymmetric_images(16)
    plain = images.astype("float32")
    options = {"shuffle": False, "seed": 1}
    x, _ = collect(pipeline((images, labels), (6, 6, 3), augment="mirror", **options))
    assert any(np.array_equal(a, p[:, ::-1]) for a, p in zip(x, plain, strict=True))
    with pytest.raises(ValueError, match="augment"):
        pipeline((images, labels), (6, 6, 3), augment="no-such-preset")


def test_seeded_shuffle_and_augmentation_reproduce_and_reshuffle_each_epoch():
    images, labels = asymmetric_images(32)

    def run(seed):  # a preset builds new layers, seeded from the pipeline's seed
        return pipeline((images, labels), (6, 6, 3), batch_size=8, augment="mirror", seed=seed)

    first = run(3)
    epoch1, epoch2 = collect(first), collect(first)
    again = collect(run(3))
    np.testing.assert_array_equal(epoch1[0], again[0])
    np.testing.assert_array_equal(epoch1[1], again[1])
    assert sorted(epoch1[1]) == list(range(32))  # a permutation: nothing lost or repeated
    assert not np.array_equal(epoch1[1], labels)
    assert not np.array_equal(epoch1[1], epoch2[1])  # a new order every epoch
    assert not np.array_equal(collect(run(4))[1], epoch1[1])
    kept = collect(pipeline((images, labels), (6, 6, 3), batch_size=8, shuffle=False))
    np.testing.assert_array_equal(kept[1], labels)


def test_batched_input_is_detected_and_rebatched():
    images, labels = digits(12)
    batched = tf.data.Dataset.from_tensor_slices((images, labels)).batch(5)
    dataset = pipeline(batched, (28, 28, 1), batch_size=4, training=False)
    sizes = [len(y) for _, y in dataset]
    assert sizes == [4, 4, 4]
    np.testing.assert_array_equal(collect(dataset)[1], labels)
    dropped = pipeline(batched, (28, 28, 1), batch_size=5, drop_remainder=True, training=False)
    assert [len(y) for _, y in dropped] == [5, 5]
    assert dropped.element_spec[0].shape == (5, 28, 28, 1)


def test_folder_batches_keep_their_count_known(tmp_path):
    images, labels = digits(10)
    for i, (image, label) in enumerate(zip(images, labels, strict=True)):
        (tmp_path / str(label)).mkdir(exist_ok=True)
        keras.utils.save_img(tmp_path / str(label) / f"{i}.png", image, scale=False)
    data = from_folder(tmp_path, batch_size=3, verbose=False)
    dataset = pipeline(data.train, (28, 28, 1), batch_size=4, seed=0)
    assert int(dataset.cardinality()) == 3  # Keras knows an epoch's length from the start
    assert sum(len(y) for _, y in dataset) == 10


@pytest.mark.parametrize("mix", ["mixup", "cutmix"])
def test_mixing_gives_soft_labels(mix):
    images, labels = digits(16)
    dataset = pipeline((images, labels), (28, 28, 1), batch_size=16, mix=mix, num_classes=10)
    x, y = next(iter(dataset))
    assert x.shape == (16, 28, 28, 1) and y.shape == (16, 10) and y.dtype == tf.float32
    np.testing.assert_allclose(tf.reduce_sum(y, axis=1), 1.0, rtol=1e-5)
    assert float(tf.reduce_min(tf.reduce_max(y, axis=1))) < 0.999  # some labels are mixed

    evaluation = pipeline((images, labels), (28, 28, 1), mix=mix, num_classes=10, training=False)
    _, hard = collect(evaluation)
    np.testing.assert_array_equal(hard, np.eye(10)[labels])  # same format, not mixed


def test_numpy_images_without_labels_or_channel_axis():
    images = digits(5)[0][..., 0]  # (5, 28, 28)
    dataset = pipeline(images, (28, 28, 3), training=False)
    assert isinstance(dataset.element_spec, tf.TensorSpec)
    assert dataset.element_spec.shape == (None, 28, 28, 3)
    assert next(iter(dataset)).shape == (5, 28, 28, 3)


def test_cache_keeps_conversions_and_augmentation_still_changes():
    images, labels = asymmetric_images(16)
    flip = [keras.layers.RandomFlip("horizontal", seed=2)]
    options = {"cache": True, "shuffle": False, "batch_size": 16}
    dataset = pipeline((images, labels), (12, 12, 3), augment=flip, seed=0, **options)
    first, second = collect(dataset)[0], collect(dataset)[0]
    assert first.shape == (16, 12, 12, 3)
    assert not np.array_equal(first, second)  # a cached input, a new augmentation
    evaluation = pipeline((images, labels), (12, 12, 3), training=False, **options)
    np.testing.assert_array_equal(collect(evaluation)[0], collect(evaluation)[0])


def test_a_model_trains_one_epoch_on_the_output():
    sample = load_sample("mnist")
    model = lenet5(variant="modern", input_shape=(32, 32, 3), num_classes=10)
    model.compile("adam", "categorical_crossentropy", metrics=["accuracy"])
    train_data = (sample.train.images[:64], sample.train.labels[:64])
    options = {"mix": "cutmix", "input_range": (0, 1)}  # load_sample gives [0, 1] floats
    augment = [keras.layers.RandomTranslation(0.1, 0.1)]
    train = pipeline(train_data, model, batch_size=16, augment=augment, seed=0, **options)
    validation = pipeline(tuple(sample.validation), model, training=False, **options)
    history = model.fit(train, validation_data=validation, epochs=1, verbose=0)
    assert math.isfinite(history.history["loss"][0])
    assert math.isfinite(history.history["val_loss"][0])


@pytest.mark.parametrize(
    ("kwargs", "argument"),
    [
        ({"model_or_input_shape": (32, 32)}, "model_or_input_shape"),
        ({"mix": "mixer", "num_classes": 10}, "mix"),
        ({"mix": "mixup"}, "num_classes"),
        ({"mix": "mixup", "num_classes": 10, "batch_size": None}, "batch_size"),
        ({"shuffle": -1}, "shuffle"),
        ({"value_range": (1, 0)}, "value_range"),
        ({"resize": "squash"}, "resize"),
        ({"batch_size": 0}, "batch_size"),
        ({"cache": 1}, "cache"),
    ],
)
def test_bad_arguments_name_themselves(kwargs, argument):
    kwargs = {"model_or_input_shape": (28, 28, 1), **kwargs}
    with pytest.raises(ValueError, match=argument):
        pipeline(digits(4), **kwargs)
