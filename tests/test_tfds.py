"""``from_tfds`` through TFDS' real builder code: mocked data for reading (no network, no
download), an empty data_dir for the not-prepared error, and unknown names and versions."""

import numpy as np
import pytest
import tensorflow as tf
import tensorflow_datasets as tfds

from cnnzoo.data import DatasetNotPreparedError, from_tfds, pipeline
from cnnzoo.models import lenet5


def test_reads_supervised_pairs_and_class_names(tmp_path):
    with tfds.testing.mock_data(num_examples=6):
        data = from_tfds("fashion_mnist", split="train", data_dir=tmp_path)
        pairs = list(data.dataset.as_numpy_iterator())
    # The names TFDS' builder declares for the label feature, in index order.
    assert data.class_names[:3] == ("T-shirt/top", "Trouser", "Pullover")
    assert data.class_names[-1] == "Ankle boot" and len(data.class_names) == 10
    assert len(pairs) == 6
    image, label = pairs[0]
    assert image.shape == (28, 28, 1) and image.dtype == np.uint8
    assert 0 <= label < 10
    assert data.info.name == "fashion_mnist"


def test_split_lists_and_feature_dicts(tmp_path):
    with tfds.testing.mock_data(num_examples=3):
        train, test = from_tfds("mnist", split=["train", "test"], data_dir=tmp_path).dataset
        features = from_tfds("mnist", as_supervised=False, data_dir=tmp_path).dataset
        assert isinstance(train, tf.data.Dataset) and isinstance(test, tf.data.Dataset)
        assert {"image", "label"} <= set(features.element_spec)
        # The pipeline takes TFDS' feature dicts as they come.
        images, labels = next(iter(pipeline(features, (28, 28, 1), training=False)))
    assert images.shape == (3, 28, 28, 1) and labels.shape == (3,)


def test_trains_a_model_through_the_pipeline(tmp_path):
    with tfds.testing.mock_data(num_examples=16):
        data = from_tfds("mnist", data_dir=tmp_path)
        model = lenet5(variant="modern", input_shape=(32, 32, 3), num_classes=10)
        model.compile("adam", "categorical_crossentropy")
        train = pipeline(data.dataset, model, batch_size=8, mix="mixup", seed=0)
        history = model.fit(train, epochs=1, verbose=0)
    assert np.isfinite(history.history["loss"][0])
    assert len(data.class_names) == model.output_shape[-1]


def test_offline_error_says_what_is_missing_and_how_to_prepare(tmp_path):
    with pytest.raises(DatasetNotPreparedError) as error:
        from_tfds("mnist", data_dir=tmp_path, download=False)
    message = str(error.value)
    assert isinstance(error.value, ValueError)
    assert "not prepared" in message
    assert str(tmp_path) in message  # where it looked
    assert "download_and_prepare()" in message and "download=True" in message


def test_failed_download_is_a_not_prepared_error(tmp_path, monkeypatch):
    # Offline, TFDS' downloader fails with a connection error; simulated here so that no
    # test ever touches the network.
    def offline(self, *args, **kwargs):
        raise ConnectionError("Failed to resolve 'storage.googleapis.com'")

    monkeypatch.setattr(tfds.core.DatasetBuilder, "download_and_prepare", offline)
    with pytest.raises(DatasetNotPreparedError, match="could not be downloaded") as error:
        from_tfds("mnist", data_dir=tmp_path, download=True)
    assert "storage.googleapis.com" in str(error.value) and str(tmp_path) in str(error.value)


def test_unknown_name_suggests_close_matches():
    with pytest.raises(ValueError, match="name='mnistt'") as error:
        from_tfds("mnistt")
    message = str(error.value)
    assert "'mnist'" in message
    assert len(message) < 400  # not TFDS' list of every dataset


def test_unknown_version_is_a_value_error(tmp_path):
    with pytest.raises(ValueError, match=r"9\.9\.9"):
        from_tfds("mnist:9.9.9", data_dir=tmp_path)


def test_class_names_are_none_without_a_class_label(tmp_path):
    # A regression dataset: its label is a number, so there are no names.
    with tfds.testing.mock_data(num_examples=2):
        data = from_tfds("diamonds", data_dir=tmp_path)
    assert data.class_names is None
