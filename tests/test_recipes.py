"""Every recipe runs top to bottom with ``--quick`` and writes what it says it writes."""

import csv
import json
import signal
import subprocess
import sys
import time
from pathlib import Path

import keras
import numpy as np
import pytest
from conftest import quiet_env, run_command

from cnnzoo.training import history_rows

RECIPES = Path(__file__).parent.parent / "recipes"
ENV = quiet_env()


def run_recipe(
    name: str, *args: str, check: bool = True, env: dict | None = None
) -> subprocess.CompletedProcess:
    result = run_command([sys.executable, RECIPES / name, *args], env={**ENV, **(env or {})})
    if check:
        assert result.returncode == 0, result.stdout[-3000:] + result.stderr[-3000:]
    return result


def test_every_recipe_has_a_header_and_a_quick_mode():
    for path in RECIPES.glob("*.py"):
        text = path.read_text()
        assert text.startswith('"""\nTitle: '), path.name
        assert "Description: " in text and "--quick" in text, path.name


def test_every_recipe_has_a_test():
    tests = Path(__file__).read_text()
    untested = [path.name for path in RECIPES.glob("*.py") if f'"{path.name}"' not in tests]
    assert not untested


@pytest.mark.slow
def test_transfer_digits(tmp_path):
    result = run_recipe("transfer_digits.py", "--quick", "--out", str(tmp_path))
    report = json.loads((tmp_path / "results.json").read_text())
    accuracies = report["test_accuracy"]
    assert list(accuracies) == ["scratch", "frozen", "two-phase"]
    assert all(0 <= value <= 1 for value in accuracies.values())
    assert accuracies["two-phase"] > 0.4  # five classes: chance is 0.2
    assert report["train_images"] == 100
    assert "Test accuracy on" in result.stdout and "phase 2: Frozen: " in result.stdout


@pytest.mark.slow
def test_lenet5_mnist_trains_both_variants(tmp_path):
    result = run_recipe("lenet5_mnist.py", "--quick", "--out", str(tmp_path))
    variants = json.loads((tmp_path / "results.json").read_text())["variants"]
    assert list(variants) == ["original", "modern"]
    original, modern = variants["original"], variants["modern"]
    # The paper's partial C3 table saves 856 parameters (tests/test_reference.py's counts).
    assert (original["parameters"], modern["parameters"]) == (60850, 61706)
    assert (original["c3"], modern["c3"]) == ("ConnectionTableConv", "Conv2D")
    assert (original["activation"], modern["activation"]) == ("scaled_tanh", "relu")
    for name, run in variants.items():
        assert 0.5 < run["test_accuracy"] <= 1, name  # ten classes: chance is 0.1
        assert run["epochs"] == 3 and run["seconds"] > 0
        assert len(history_rows(tmp_path / name / "history.csv")) == 3
        assert (tmp_path / name / "model.keras").exists()
    assert (tmp_path / "curves.png").stat().st_size > 0
    assert "original        60,850" in result.stdout


@pytest.mark.slow
def test_alexnet_small_images_shows_the_gap_with_and_without_augmentation(tmp_path):
    result = run_recipe("alexnet_small_images.py", "--quick", "--out", str(tmp_path))
    report = json.loads((tmp_path / "results.json").read_text())
    plain, augmented = report["runs"]["without augmentation"], report["runs"]["with augmentation"]
    assert report["augmentation"] == ["RandomResizedCrop", "PCAColorAugmentation"]  # no flips
    assert plain["parameters"] == augmented["parameters"]
    assert report["train_images"] == 200 and report["validation_images"] == 400
    for run in (plain, augmented):
        assert len(run["history"]["train"]) == len(run["history"]["validation"]) == 12
        assert 0.5 < run["validation_accuracy"] <= 1
        assert run["gap"] == pytest.approx(run["train_accuracy"] - run["validation_accuracy"])
    assert plain["history"]["train"] != augmented["history"]["train"]  # augmentation acted
    assert plain["train_accuracy"] > 0.9 and plain["gap"] > 0.05  # over-fitting, visibly
    assert (tmp_path / "overfitting.png").stat().st_size > 0
    assert (tmp_path / "augmentation.png").stat().st_size > 0
    assert "without augmentation" in result.stdout and "gap" in result.stdout


@pytest.mark.slow
def test_vgg16_finetune_folder_makes_its_data_then_fine_tunes_a_saved_model(tmp_path):
    first = tmp_path / "first"
    first_run = run_recipe("vgg16_finetune_folder.py", "--quick", "--out", str(first))
    class_indices = json.loads((first / "class_indices.json").read_text())
    assert class_indices == {"eight": 0, "five": 1, "nine": 2, "seven": 3, "six": 4}
    assert (first / "data_report.json").exists()
    rows = history_rows(first / "history.csv")
    assert [row["phase"] for row in rows] == [1, 1, 1, 2, 2, 2] and "val_accuracy" in rows[0]
    assert "Phase 2: 3 epochs of the head and the last 2 stages at 0.0001" in first_run.stdout
    summary = json.loads((first / "results.json").read_text())
    assert summary["widths"] == [8, 16, 32, 64, 64]  # VGG16's widths / 8 in the quick run
    assert summary["validation_accuracy"] >= 0.3  # five classes: chance is 0.2
    model = keras.saving.load_model(first / "model.keras")
    assert model.output_shape == (None, 5)
    convolutions = [layer.name for layer in model.layers if layer.name.endswith("_conv")]
    assert len(convolutions) == 13  # VGG16: configuration D
    assert json.loads((first / "config.json").read_text())["model"] == "vgg16"

    second = tmp_path / "second"
    result = run_recipe(
        "vgg16_finetune_folder.py", "--quick", "--data", str(first / "images"),
        "--weights", str(first / "model.keras"), "--out", str(second),
    )  # fmt: skip
    assert "Loaded 13 layers" in result.stdout and "Validation accuracy: " in result.stdout
    assert json.loads((second / "results.json").read_text())["widths"] == [8, 16, 32, 64, 64]

    refused = run_recipe("vgg16_finetune_folder.py", "--data", str(first / "images"), check=False)
    assert refused.returncode == 2 and "--data needs --weights" in refused.stderr


@pytest.mark.slow
def test_vgg16_finetune_folder_offline_names_the_imagenet_file_and_folder(tmp_path, digits_folder):
    file_name = "vgg16_weights_tf_dim_ordering_tf_kernels_notop.h5"
    if (Path("/tmp/.keras/models") / file_name).exists():  # Keras' fallback cache
        pytest.skip("the ImageNet weights are in /tmp/.keras/models")
    offline = {"KERAS_HOME": str(tmp_path), "CNNZOO_WEIGHTS_MIRROR": "http://127.0.0.1:9"}
    result = run_recipe(
        "vgg16_finetune_folder.py", "--weights", "imagenet", "--data", str(digits_folder),
        "--out", str(tmp_path / "run"), check=False, env=offline,
    )  # fmt: skip
    assert result.returncode == 1, result.stderr[-3000:]
    assert file_name in result.stderr and str(tmp_path / "models") in result.stderr
    assert "Traceback" not in result.stderr


@pytest.mark.slow
def test_resnet_cifar_style_trains_with_the_papers_optimizer(tmp_path):
    result = run_recipe("resnet_cifar_style.py", "--quick", "--out", str(tmp_path))
    report = json.loads((tmp_path / "results.json").read_text())
    resnet20, resnet56 = report["depths"]["20"], report["depths"]["56"]
    assert resnet20["trained"] and not resnet56["trained"]  # the quick run trains depth 20
    assert 0.26e6 < resnet20["parameters"] < 0.28e6  # the paper's Table 6: 0.27M
    assert 0.84e6 < resnet56["parameters"] < 0.86e6  # and 0.85M
    assert 0.15 < resnet20["test_accuracy"] <= 1  # ten classes: chance is 0.1
    assert resnet20["steps"] == 24  # 768 images in batches of 64, two epochs
    model = keras.saving.load_model(tmp_path / "resnet20.keras")
    assert model.input_shape == (None, 32, 32, 3)
    assert model.get_layer("stem_conv").kernel_size == (3, 3)  # the CIFAR stem
    optimizer = model.optimizer
    assert isinstance(optimizer, keras.optimizers.SGD) and optimizer.momentum == 0.9
    schedule = optimizer.get_config()["learning_rate"]  # /10 at 50% and 75% of the steps
    assert schedule["class_name"] == "PiecewiseConstantDecay"
    assert schedule["config"]["boundaries"] == [12, 18]
    assert schedule["config"]["values"] == pytest.approx([0.1, 0.01, 0.001])
    assert (tmp_path / "resnet20_curves.png").exists()
    assert "(not trained)" in result.stdout
    missing = run_recipe(
        "resnet_cifar_style.py", "--quick", "--data", "tfds:cifar10", "--out", str(tmp_path),
        check=False, env={"TFDS_DATA_DIR": str(tmp_path / "tfds")},
    )  # fmt: skip
    assert missing.returncode == 1 and "'cifar10' is not prepared" in missing.stderr
    assert "Traceback" not in missing.stderr


@pytest.mark.slow
def test_googlenet_aux_exports_a_one_output_model_that_matches(tmp_path):
    result = run_recipe("googlenet_aux.py", "--quick", "--out", str(tmp_path))
    report = json.loads((tmp_path / "results.json").read_text())
    assert report["training_outputs"] == ["predictions", "aux1_predictions", "aux2_predictions"]
    assert report["inference_outputs"] == ["predictions"]
    assert report["inference_parameters"] < report["training_parameters"]
    assert {"aux1_predictions_loss", "aux2_predictions_loss"} <= set(report["history"])
    exported = keras.saving.load_model(tmp_path / "googlenet_inference.keras")
    assert len(exported.outputs) == 1 and exported.output_shape == (None, 10)
    assert exported.count_params() == report["inference_parameters"]
    check = np.load(tmp_path / "check.npz")
    predictions = exported.predict(check["images"], verbose=0)
    np.testing.assert_allclose(predictions, check["main_output"], atol=1e-5)
    assert not np.allclose(predictions, predictions[:1])  # not a constant output
    assert "it reloads and matches the training model's main output" in result.stdout


def trials_table(project: Path) -> list[dict]:
    with open(project / "trials.csv") as file:
        return list(csv.DictReader(file))


@pytest.mark.slow
def test_tune_hyperband_resumes_after_a_kill(tmp_path):
    lenet = ["--quick", "--out", str(tmp_path), "--models", "lenet5_modern"]
    project = tmp_path / "lenet5_modern-quick"
    first_record = project / "trial_0000" / "cnnzoo_trial.json"
    process = subprocess.Popen(
        [sys.executable, str(RECIPES / "tune_hyperband.py"), *lenet],
        env=ENV, stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL,
    )  # fmt: skip
    second_trial = project / "trial_0001" / "trial.json"  # there once the first has ended
    deadline = time.monotonic() + 300
    while not (first_record.exists() and second_trial.exists()) and process.poll() is None:
        assert time.monotonic() < deadline, "the search never finished a trial"
        time.sleep(0.05)
    process.send_signal(signal.SIGKILL)  # a real interruption, mid-search
    process.wait()
    first_trial = json.loads(first_record.read_text())
    assert not (project / "trials.csv").exists(), "killed before the end"

    resumed = run_recipe("tune_hyperband.py", *lenet)
    assert "resuming; trials finished before (kept): " in resumed.stdout
    assert "0000  kept" in resumed.stdout and "0005  new" in resumed.stdout
    rows = trials_table(project)
    assert [row["trial_id"] for row in rows] == ["0000", "0001", "0002", "0003", "0004", "0005"]
    assert all(row["status"] == "COMPLETED" for row in rows)
    assert json.loads(first_record.read_text()) == first_trial  # not trained again
    assert {row["budget"] for row in rows} == {"1", "3"}  # Hyperband's brackets

    # The whole command: LeNet's finished search is kept as it is, ResNet's runs.
    both = run_recipe("tune_hyperband.py", "--quick", "--out", str(tmp_path))
    assert "lenet5_modern-quick: resuming; trials finished before (kept): 6" in both.stdout
    assert trials_table(project) == rows
    report = json.loads((tmp_path / "results.json").read_text())
    assert report["lenet5_modern"]["kept"] == [row["trial_id"] for row in rows]
    resnet = report["resnet20"]
    assert resnet["trials"] == resnet["completed"] == 2 and resnet["kept"] == []
    assert resnet["best_hyperparameters"]["width"] in (0.25, 0.5)
    assert {"depth", "optimizer", "learning_rate"} <= set(resnet["best_hyperparameters"])
    best = json.loads((tmp_path / "resnet20-quick" / "best_hyperparameters.json").read_text())
    assert best == resnet["best_hyperparameters"]
    for name in ("best_model.keras", "scores.png", "trials.json"):
        assert (tmp_path / "resnet20-quick" / name).exists(), name
