"""Fine-tuning runs (``cnnzoo.training.finetune`` and ``cnnzoo finetune``): the run folder,
what each phase trains, ImageNet preprocessing, resume after SIGKILL, and bad settings."""

import json
import sys

import h5py
import keras
import numpy as np
import pytest
from conftest import kill_after_epochs, quiet_env, run_command
from keras.src.legacy.saving.legacy_h5_format import save_weights_to_hdf5_group

from cnnzoo import create_model
from cnnzoo.data import pipeline
from cnnzoo.training import finetune, history_rows, load_run_data
from cnnzoo.transfer import imagenet_preprocessing

LENET = {"variant": "modern"}


@pytest.fixture(scope="module")
def source_model(tmp_path_factory):
    """A saved LeNet-5 with a 10-class head: the weights every test starts from."""
    path = tmp_path_factory.mktemp("source") / "source.keras"
    create_model("lenet5", num_classes=10, **LENET).save(path)
    return path


def conv_kernels(model):
    return {
        layer.name: layer.kernel.numpy()
        for layer in model.layers
        if isinstance(layer, keras.layers.Conv2D)
    }


def test_a_finetune_run_folder_and_its_phases(tmp_path, digits_folder, source_model):
    result = finetune(
        "lenet5", digits_folder, weights=source_model, out=tmp_path / "run", verbose=0,
        model_kwargs=LENET, batch_size=8, phases=[{"epochs": 2, "patience": None}, {"epochs": 1}],
    )  # fmt: skip
    run = result.run_dir
    assert {path.name for path in run.iterdir()} >= {
        "config.json", "model.keras", "history.csv", "curves.png", "logs", "metrics.json",
        "class_indices.json", "data_report.json", "weights_report.txt",
    }  # fmt: skip
    assert not (run / "backup").exists()
    rows = history_rows(run / "history.csv")
    assert [(row["epoch"], row["phase"]) for row in rows] == [(0, 1), (1, 1), (2, 2)]
    config = json.loads((run / "config.json").read_text())
    assert config["weights"] == str(source_model) and config["phases"][1]["trainable_stages"] == 2
    # what Keras chose, as train() records it: 8 steps a call (one on PyTorch) by default
    chosen = config["runtime"]
    assert chosen["steps_per_execution"] == (1 if keras.backend.backend() == "torch" else 8)
    assert chosen["jit_compile"] == result.model.jit_compile
    # and the phases compiled with it (the saved model keeps its last compile)
    assert result.model.steps_per_execution == chosen["steps_per_execution"]
    assert "Loaded 3 layers from source.keras" in (run / "weights_report.txt").read_text()
    model = keras.saving.load_model(run / "model.keras")
    assert model.output_shape == (None, 2)  # a fresh head for the folder's two classes
    assert set(result.metrics) == {"validation_accuracy", "validation_loss"}  # no test split


def test_phase_one_trains_the_head_alone_and_the_whole_model_trains_when_asked(
    tmp_path, digits_folder, source_model
):
    pretrained = conv_kernels(keras.saving.load_model(source_model))

    def run(name, phases):
        return finetune(
            "lenet5", digits_folder, weights=source_model, out=tmp_path / name, verbose=0,
            model_kwargs=LENET, batch_size=8, phases=phases,
        ).model  # fmt: skip

    head_only = conv_kernels(run("head", [{"epochs": 2, "learning_rate": 1e-2}]))
    for name, kernel in pretrained.items():
        np.testing.assert_array_equal(head_only[name], kernel)  # the backbone as loaded
    everything = conv_kernels(
        run("all", [{"epochs": 1}, {"epochs": 2, "trainable_stages": None, "patience": None}])
    )
    assert all(not np.array_equal(everything[name], kernel) for name, kernel in pretrained.items())


def test_imagenet_weights_bring_their_preprocessing(tmp_path, digits_folder, monkeypatch):
    """keras.applications' VGG16 file (random weights: no download) in the Keras cache, into
    a cnnzoo vgg16 on the digits: the run records 'caffe' and its metrics are measured on
    preprocessed images."""
    monkeypatch.setenv("KERAS_HOME", str(tmp_path / "keras_home"))
    cache = tmp_path / "keras_home" / "models"
    cache.mkdir(parents=True)
    applications = keras.applications.VGG16(weights=None, include_top=False)
    with h5py.File(cache / "vgg16_weights_tf_dim_ordering_tf_kernels_notop.h5", "w") as file:
        save_weights_to_hdf5_group(file, applications)  # keras.applications' own layout
    result = finetune(
        "vgg16", digits_folder, weights="imagenet", out=tmp_path / "run", verbose=0,
        batch_size=8, model_kwargs={"input_shape": (32, 32, 3)}, phases=[{"epochs": 1}],
    )  # fmt: skip
    config = json.loads((result.run_dir / "config.json").read_text())
    assert config["preprocessing"] == "caffe"
    assert (
        "keras.applications.vgg16.preprocess_input"
        in (result.run_dir / "weights_report.txt").read_text()
    )
    data = load_run_data(str(digits_folder), seed=0, validation_split=0.2)
    plain = pipeline(data.validation, result.model, training=False)
    preprocessed = plain.map(lambda x, y: (imagenet_preprocessing(x, "caffe"), y))
    loss = result.model.evaluate(preprocessed, verbose=0, return_dict=True)["loss"]
    unprocessed = result.model.evaluate(plain, verbose=0, return_dict=True)["loss"]
    assert loss == pytest.approx(result.metrics["validation_loss"], rel=1e-5)
    assert abs(unprocessed - loss) > 1e-4  # the images the run measured were preprocessed


@pytest.mark.parametrize("mode", ["caffe", "tf", "torch"])
def test_imagenet_preprocessing_matches_keras_on_arrays_and_in_tf_data(mode):
    """The same numbers as keras.applications' preprocess_input, on a NumPy array and
    inside a tf.data map (where Keras' own function fails on JAX and PyTorch)."""
    import tensorflow as tf

    images = np.random.default_rng(0).uniform(0, 255, (2, 4, 4, 3)).astype("float32")
    expected = keras.ops.convert_to_numpy(
        keras.applications.imagenet_utils.preprocess_input(images.copy(), mode=mode)
    )
    np.testing.assert_allclose(imagenet_preprocessing(images.copy(), mode), expected, rtol=1e-6)
    mapped = tf.data.Dataset.from_tensors(images).map(lambda x: imagenet_preprocessing(x, mode))
    np.testing.assert_allclose(next(iter(mapped)).numpy(), expected, rtol=1e-6)


def test_imagenet_preprocessing_of_other_channels_uses_the_mean_colour():
    gray = np.random.default_rng(0).uniform(0, 255, (2, 4, 4, 1)).astype("float32")
    np.testing.assert_allclose(imagenet_preprocessing(gray, "caffe"), gray - 114.799, atol=1e-3)
    np.testing.assert_allclose(
        imagenet_preprocessing(gray, "torch"), (gray / 255 - 0.449) / 0.226, rtol=1e-5
    )
    assert imagenet_preprocessing(gray, None) is gray


def _finetune_command(run, weights, *extra):
    """``cnnzoo finetune`` on the bundled sample: 2 head epochs, then 3 of the whole model."""
    command = [
        "finetune", "lenet5", "--weights", str(weights), "--out", str(run),
        "--set", "variant=modern", "--patience", "-1",
        "--phases", "epochs=2", "epochs=3,trainable_stages=all,learning_rate=1e-4",
    ]  # fmt: skip
    return [sys.executable, "-m", "cnnzoo", *command, *extra]


@pytest.mark.slow
def test_a_finetune_run_killed_in_phase_two_resumes_there(tmp_path, source_model):
    run = tmp_path / "run"
    env = quiet_env()
    done = kill_after_epochs(_finetune_command(run, source_model), run / "history.csv", 3, env)
    assert 3 <= len(done) < 5 and not (run / "metrics.json").exists()
    resumed = run_command(_finetune_command(run, source_model, "--resume"), env=env, timeout=300)
    assert resumed.returncode == 0, resumed.stderr[-2000:]
    assert "Epoch 1/2" not in resumed.stdout and "Epoch 5/5" in resumed.stdout  # in phase 2
    rows = history_rows(run / "history.csv")
    assert [(row["epoch"], row["phase"]) for row in rows] == [
        (0, 1), (1, 1), (2, 2), (3, 2), (4, 2)
    ]  # fmt: skip
    assert rows[:2] == done[:2]  # phase 1 is not repeated
    assert "test_accuracy: " in resumed.stdout and not (run / "backup").exists()


@pytest.mark.parametrize(
    "kwargs, message",
    [
        ({"weights": None}, r"needs weights to start from.*To train from scratch use train"),
        ({"weights": "missing.keras"}, r"weights names no file; received weights='missing.keras'"),
        ({"phases": [{"epoch": 2}]}, r"phases\[0\] has unknown settings \['epoch'\]"),
        ({"pooling": "mean"}, r"pooling must be one of"),
        ({"dropout": 1.5}, r"dropout"),
        (
            {"steps_per_execution": 0},
            r"steps_per_execution must be a positive int; received steps_per_execution=0",
        ),
        ({"model_kwargs": {"bogus": 1}}, r"unknown argument 'bogus'"),
        ({"data": "one class"}, r"at least 2 classes, .* classes with images: only \['d3'\]"),
    ],
)
def test_bad_settings_name_themselves(tmp_path, source_model, digits_folder, kwargs, message):
    if kwargs.get("data") == "one class":  # the digits folder's 3s alone
        (tmp_path / "one" / "d3").mkdir(parents=True)
        for path in (digits_folder / "d3").iterdir():
            (tmp_path / "one" / "d3" / path.name).write_bytes(path.read_bytes())
        kwargs = {"data": tmp_path / "one", "model_kwargs": LENET}
    settings = {"weights": source_model, "out": tmp_path / "run", **kwargs}
    with pytest.raises(ValueError, match=message):
        finetune("lenet5", **settings)
    assert not (tmp_path / "run").exists()  # checked before anything is written
