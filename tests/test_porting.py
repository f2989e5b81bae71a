"""Weight porting: keras.applications' ImageNet files and saved cnnzoo models.

No download: keras.applications models are built with ``weights=None`` and random weights
(batch-norm statistics included), saved in keras' legacy ``.h5`` layout (that of its
ImageNet files) or as Keras 3 ``.weights.h5``, and loaded into the cnnzoo model, whose
outputs must then match keras'. Every architecture's logits against keras', at two input
sizes, are tests/test_keras_parity.py's.
"""

import keras
import numpy as np
import pytest
from conftest import (
    eager_outputs,
    random_images,
    random_keras_application,
    save_weights_file,
)

import cnnzoo
from cnnzoo import inception_v3, resnet, resnet18, resnet50, resnet50v2, vgg16
from cnnzoo.pretrained import WeightsDownloadError
from cnnzoo.transfer.imagenet import MissingWeightsError, keras_cache_folder, load_imagenet_weights
from cnnzoo.transfer.weights import WeightsMismatchError, load_weights

TOLERANCE = 1e-4


def _keras_file(application, path, shape, include_top=True, **kwargs):
    """Saves a random keras.applications model; returns its outputs on ``random_images``."""
    return eager_outputs(
        random_keras_application(application, path, shape, include_top, **kwargs),
        random_images(shape, low=-1),
    )


def _max_difference(model, expected, shape):
    return float(np.abs(eager_outputs(model, random_images(shape, low=-1)) - expected).max())


def _cache(tmp_path, monkeypatch):
    monkeypatch.setenv("KERAS_HOME", str(tmp_path / "keras_home"))
    return tmp_path / "keras_home" / "models"


@pytest.fixture(scope="module")
def vgg16_notop(tmp_path_factory):
    """keras' VGG16 without the top, at 32x32, saved under keras' own file name."""
    path = tmp_path_factory.mktemp("vgg") / "vgg16_weights_tf_dim_ordering_tf_kernels_notop.h5"
    return path, _keras_file(keras.applications.VGG16, path, (32, 32, 3), include_top=False)


@pytest.fixture(scope="module")
def resnet50_top(tmp_path_factory):
    """keras' ResNet50 with the top, at 64x64, as a Keras 3 ``.weights.h5``."""
    path = tmp_path_factory.mktemp("resnet") / "resnet50.weights.h5"
    model = random_keras_application(keras.applications.ResNet50, path, (64, 64, 3))
    return path, eager_outputs(model, random_images((64, 64, 3), low=-1)), model


def test_vgg16_without_the_top_from_the_keras_cache(tmp_path, monkeypatch, vgg16_notop):
    path, expected = vgg16_notop
    cache = _cache(tmp_path, monkeypatch)
    cache.mkdir(parents=True)
    (cache / path.name).write_bytes(path.read_bytes())
    assert keras_cache_folder() == str(cache)
    model = vgg16(input_shape=(32, 32, 3), include_top=False)
    report = load_imagenet_weights(model)
    assert _max_difference(model, expected, (32, 32, 3)) < TOLERANCE
    assert report.source == path.name and len(report.loaded) == 13
    built = cnnzoo.create_model(
        "vgg16", input_shape=(32, 32, 3), include_top=False, weights="imagenet"
    )
    assert _max_difference(built, expected, (32, 32, 3)) < TOLERANCE
    from_path = vgg16(input_shape=(32, 32, 3), include_top=False, weights=path)
    assert _max_difference(from_path, expected, (32, 32, 3)) < TOLERANCE


@pytest.mark.slow
def test_resnet50_v1_matches_keras_from_both_file_formats(tmp_path, monkeypatch, resnet50_top):
    path, expected, keras_model = resnet50_top
    model = resnet(50, variant="v1", input_shape=(64, 64, 3), classifier_activation=None)
    report = load_imagenet_weights(model, path)
    assert _max_difference(model, expected, (64, 64, 3)) < TOLERANCE
    assert len(report.loaded) == 107 and report.preprocessing == "caffe"

    cache = _cache(tmp_path, monkeypatch)
    legacy = cache / "resnet50_weights_tf_dim_ordering_tf_kernels.h5"  # keras' legacy layout
    save_weights_file(keras_model, legacy)
    again = resnet(
        50, variant="v1", input_shape=(64, 64, 3), classifier_activation=None, weights="imagenet"
    )
    assert _max_difference(again, expected, (64, 64, 3)) < TOLERANCE
    # The tag builds the layout its weights need (variant="v1") and reads keras' cached file.
    tagged = resnet50(input_shape=(64, 64, 3), classifier_activation=None,
                      weights="resnet50.keras_in1k")  # fmt: skip
    assert tagged.name == "resnet50_v1"
    assert _max_difference(tagged, expected, (64, 64, 3)) < TOLERANCE
    asked = resnet50(input_shape=(64, 64, 3), classifier_activation=None, variant="v1",
                     weights="imagenet")  # fmt: skip
    assert _max_difference(asked, expected, (64, 64, 3)) < TOLERANCE


def test_resnet50_v1_backbone_with_another_head(resnet50_top):
    path, _, keras_model = resnet50_top
    keras_features = keras.Model(keras_model.input, keras_model.get_layer("avg_pool").output)
    model = resnet(50, variant="v1", input_shape=(64, 64, 3), num_classes=10)
    report = load_imagenet_weights(model, path)
    assert [name for name, _ in report.skipped] == ["predictions"]
    assert "(2048, 1000)" in report.skipped[0][1] and "(2048, 10)" in report.skipped[0][1]
    assert "Skipped 1 (predictions" in str(report) and "\n" not in str(report)
    features = keras.Model(model.input, model.get_layer("head_avg_pool").output)
    x = random_images((64, 64, 3), low=-1)
    difference = np.abs(eager_outputs(features, x) - eager_outputs(keras_features, x))
    assert difference.max() < TOLERANCE


@pytest.mark.slow
def test_inception_v3_with_and_without_the_top(tmp_path, monkeypatch):
    shape = (75, 75, 3)
    cache = _cache(tmp_path, monkeypatch)
    path = cache / "inception_v3_weights_tf_dim_ordering_tf_kernels.h5"
    keras_model = random_keras_application(keras.applications.InceptionV3, path, shape)
    x = random_images(shape, low=-1)
    model = inception_v3(input_shape=shape, classifier_activation=None, weights="imagenet")
    assert _max_difference(model, eager_outputs(keras_model, x), shape) < TOLERANCE

    # The full file also serves a model without the top.
    features = inception_v3(input_shape=shape, include_top=False, pooling="avg")
    report = load_imagenet_weights(features)
    expected = eager_outputs(
        keras.Model(keras_model.input, keras_model.get_layer("avg_pool").output), x
    )
    assert _max_difference(features, expected, shape) < TOLERANCE
    assert len(report.loaded) == 188 and report.preprocessing == "tf"
    assert report.preprocess_input == "keras.applications.inception_v3.preprocess_input"


@pytest.mark.slow
def test_resnet50v2_with_and_without_the_top(tmp_path):
    shape = (64, 64, 3)
    path = tmp_path / "resnet50v2_weights_tf_dim_ordering_tf_kernels.h5"
    keras_model = random_keras_application(keras.applications.ResNet50V2, path, shape)
    model = resnet50v2(input_shape=shape, classifier_activation=None)
    report = load_imagenet_weights(model, path)
    assert (
        _max_difference(model, eager_outputs(keras_model, random_images(shape, low=-1)), shape)
        < TOLERANCE
    )
    assert report.preprocessing == "tf" and not report.skipped
    features = resnet50v2(input_shape=shape, include_top=False)
    load_imagenet_weights(features, path)
    post = keras.Model(keras_model.input, keras_model.get_layer("post_relu").output)
    assert (
        _max_difference(features, eager_outputs(post, random_images(shape, low=-1)), shape)
        < TOLERANCE
    )


def test_resnet_v2_of_the_paper_layout_is_rejected_with_the_keras_one_to_use(tmp_path):
    path = tmp_path / "resnet50v2_weights_tf_dim_ordering_tf_kernels_notop.h5"
    _keras_file(keras.applications.ResNet50V2, path, (64, 64, 3), include_top=False)
    model = resnet(50, variant="v2", downsample="first", input_shape=(64, 64, 3))
    before = model.get_weights()
    with pytest.raises(ValueError, match=r"strides \(2, 2\) in the source, \(1, 1\) here") as error:
        load_imagenet_weights(model, path)
    assert "'conv2_block3_2_conv'" in str(error.value)
    assert "downsample='last'" in str(error.value)
    assert all(np.array_equal(a, b) for a, b in zip(before, model.get_weights(), strict=True))


def test_default_resnet50_v1_5_is_rejected_with_the_variant_to_use(resnet50_top):
    path, _, _ = resnet50_top
    with pytest.raises(WeightsMismatchError, match=r'resnet\(50, variant="v1"\)') as error:
        load_imagenet_weights(resnet50(input_shape=(64, 64, 3)), path)
    assert "'stem_conv'" in str(error.value) and "(64,)" in str(error.value)


def test_missing_file_names_the_file_the_folder_and_the_url(tmp_path, monkeypatch):
    cache = _cache(tmp_path, monkeypatch)
    with pytest.raises(MissingWeightsError) as error:
        load_imagenet_weights(cnnzoo.vgg19(input_shape=(32, 32, 3), include_top=False))
    message = str(error.value)
    assert isinstance(error.value, FileNotFoundError)
    assert "vgg19_weights_tf_dim_ordering_tf_kernels_notop.h5" in message
    assert str(cache) in message
    assert (
        "https://storage.googleapis.com/tensorflow/keras-applications/vgg19/"
        "vgg19_weights_tf_dim_ordering_tf_kernels_notop.h5" in message
    )
    # The factory downloads it instead: from a mirror on 127.0.0.1 that is not there.
    monkeypatch.setenv("CNNZOO_WEIGHTS_MIRROR", "http://127.0.0.1:9")  # nothing listens
    with pytest.raises(WeightsDownloadError) as error:
        cnnzoo.vgg19(input_shape=(32, 32, 3), include_top=False, weights="imagenet")
    assert "vgg19_weights_tf_dim_ordering_tf_kernels_notop.h5" in str(error.value)  # no top
    assert str(cache) in str(error.value) and not cache.exists()  # nothing left behind
    with pytest.raises(MissingWeightsError, match=r"nowhere\.h5"):
        load_imagenet_weights(vgg16(input_shape=(32, 32, 3)), tmp_path / "nowhere.h5")


def test_unsupported_architectures_are_value_errors_listing_the_supported(vgg16_notop):
    path, _ = vgg16_notop
    with pytest.raises(ValueError, match=r"Supported architectures: .*resnet50, .*vgg16, vgg19"):
        cnnzoo.alexnet(input_shape=(67, 67, 3), weights="imagenet")
    with pytest.raises(ValueError, match="vgg16_bn"):
        cnnzoo.vgg16_bn(input_shape=(32, 32, 3), weights=path)
    with pytest.raises(ValueError, match="architecture='vgg12'"):
        load_imagenet_weights(vgg16(input_shape=(32, 32, 3)), path, architecture="vgg12")
    with pytest.raises(ValueError, match=r"unknown argument 'wieghts'.*'weights'"):
        vgg16(wieghts="imagenet")
    with pytest.raises(ValueError, match="weights must be None, 'imagenet'"):
        vgg16(input_shape=(32, 32, 3), weights=3)
    # A model of another name says which architecture it is.
    model = vgg16(input_shape=(32, 32, 3), include_top=False, name="backbone")
    assert len(load_imagenet_weights(model, path, architecture="vgg16").loaded) == 13


def test_gray_and_four_channel_models_from_rgb_weights(vgg16_notop):
    path, _ = vgg16_notop
    rgb = vgg16(input_shape=(32, 32, 3), include_top=False)
    gray = vgg16(input_shape=(32, 32, 1), include_top=False)
    load_imagenet_weights(rgb, path)
    report = load_imagenet_weights(gray, path)
    assert report.adapted == (
        ("stage1_block1_conv", "kernel summed over 3 input channels to 1"),
    )  # fmt: skip
    image = random_images((32, 32, 1), low=-1)
    expected = eager_outputs(rgb, np.repeat(image, 3, axis=-1))
    assert np.abs(eager_outputs(gray, image) - expected).max() < TOLERANCE

    four = vgg16(input_shape=(32, 32, 4), include_top=False)
    assert "rescaled" in str(load_imagenet_weights(four, path))
    kernel = rgb.get_layer("stage1_block1_conv").kernel.numpy()
    np.testing.assert_allclose(
        four.get_layer("stage1_block1_conv").kernel.numpy(),
        kernel[:, :, [0, 1, 2, 0]] * 0.75,
        rtol=1e-6,
    )
    assert np.isfinite(eager_outputs(four, random_images((32, 32, 4), low=-1))).all()


def test_load_weights_from_a_saved_model_with_another_head(tmp_path):
    pretrained = resnet18(input_shape=(32, 32, 3), num_classes=10)
    pretrained.save(tmp_path / "pretrained.keras")
    model = resnet18(input_shape=(32, 32, 3), num_classes=5)
    report = load_weights(model, tmp_path / "pretrained.keras")
    assert report.skipped == (
        ("predictions", "weight shapes [(512, 10), (10,)] in the source, [(512, 5), (5,)] here"),
    )  # fmt: skip
    assert len(report.loaded) == 40 and report.preprocessing is None
    probe = keras.Model(model.input, model.get_layer("stage4_out").output)
    source = keras.Model(pretrained.input, pretrained.get_layer("stage4_out").output)
    x = random_images((32, 32, 3), low=-1)
    np.testing.assert_allclose(eager_outputs(probe, x), eager_outputs(source, x), atol=1e-5)
    assert not np.allclose(
        model.get_layer("predictions").kernel.numpy()[:, :5],
        pretrained.get_layer("predictions").kernel.numpy()[:, :5],
    )
    with pytest.raises(WeightsMismatchError, match=r"'predictions'.*head"):
        load_weights(model, pretrained, skip_head_mismatch=False)


def test_load_weights_same_model_weights_file_and_gray_copy(tmp_path):
    pretrained = resnet18(input_shape=(32, 32, 3), num_classes=4)
    pretrained.save_weights(tmp_path / "pretrained.weights.h5")
    model = resnet18(
        input_shape=(32, 32, 3), num_classes=4, weights=tmp_path / "pretrained.weights.h5"
    )
    x = random_images((32, 32, 3), low=-1)
    np.testing.assert_allclose(eager_outputs(model, x), eager_outputs(pretrained, x), atol=1e-6)

    gray = resnet18(input_shape=(32, 32, 1), num_classes=4)
    assert load_weights(gray, pretrained).adapted[0][0] == "stem_conv"
    image = random_images((32, 32, 1), low=-1)
    np.testing.assert_allclose(
        eager_outputs(gray, image),
        eager_outputs(pretrained, np.repeat(image, 3, axis=-1)),
        atol=1e-5,
    )


def test_backbone_mismatch_is_an_error_naming_the_layer_and_both_shapes():
    narrow = resnet18(input_shape=(32, 32, 3), width=0.5)
    model = resnet18(input_shape=(32, 32, 3))
    before = model.get_weights()
    with pytest.raises(WeightsMismatchError) as error:
        load_weights(model, narrow)
    message = str(error.value)
    assert "'stage1_block1_1_conv'" in message and "backbone" in message
    assert "(3, 3, 64, 32)" in message and "(3, 3, 64, 64)" in message
    assert all(np.array_equal(a, b) for a, b in zip(before, model.get_weights(), strict=True))
    with pytest.raises(WeightsMismatchError, match="strides"):
        load_weights(model, resnet18(input_shape=(32, 32, 3), strides=(1, 2, 2, 1)))
    with pytest.raises(ValueError, match=r"source must be a keras\.Model"):
        load_weights(model, "weights.h5")
