"""The main job (``make demo``): the full run as a real subprocess, and its accuracy."""

import csv
import json
import subprocess
import sys

import keras
import matplotlib.image
import numpy as np
import pytest

from cnnzoo.data import load_sample
from cnnzoo.demo import main as demo_main


@pytest.mark.slow
def test_the_demo_writes_a_readable_run_folder_and_reaches_97_percent(tmp_path):
    """``make demo``'s command as a real subprocess, at its default 20 epochs: one run
    proves both the folder it writes and the accuracy it promises (a quick run of its own
    cost 45 s more)."""
    out = tmp_path / "run"
    result = subprocess.run(
        [sys.executable, "-m", "cnnzoo.demo", "--out", str(out)],
        capture_output=True,
        text=True,
        timeout=600,
        check=True,
    )
    assert "Test accuracy on 1,000 held-out images:" in result.stdout
    assert str(out) in result.stdout
    assert "Epoch 20/20" in result.stdout  # the progress display, at the default epochs

    model = keras.saving.load_model(out / "model.keras")
    digits = load_sample("mnist").test
    pixels = digits.images * 255  # cnnzoo models take pixel values in [0, 255]
    accuracy = np.mean(model.predict(pixels, verbose=0).argmax(axis=1) == digits.labels)
    metrics = json.loads((out / "metrics.json").read_text())
    assert len(digits.labels) == 1000 and abs(metrics["test_accuracy"] - accuracy) < 1e-6
    assert metrics["test_accuracy"] >= 0.97

    with open(out / "history.csv") as file:
        rows = list(csv.DictReader(file))
    assert [row["epoch"] for row in rows] == [str(epoch) for epoch in range(20)]
    assert {"accuracy", "loss", "val_accuracy", "val_loss"} <= set(rows[0])

    image = matplotlib.image.imread(out / "curves.png")
    assert image.ndim == 3 and image.shape[0] > 100


def test_the_demo_refuses_resume_without_a_folder(capsys):
    with pytest.raises(SystemExit) as exit_:
        demo_main(["--resume", "--epochs", "2"])
    assert exit_.value.code == 2 and "--resume needs --out" in capsys.readouterr().err


def test_sample_splits_are_seeded_stratified_and_disjoint():
    first, again, other = load_sample(seed=1), load_sample(seed=1), load_sample(seed=2)
    np.testing.assert_array_equal(first.test.images, again.test.images)
    assert not np.array_equal(first.test.labels, other.test.labels)
    assert np.bincount(first.test.labels).tolist() == [100] * 10
    sizes = [len(split.labels) for split in (first.train, first.validation, first.test)]
    assert sizes == [3600, 400, 1000]
    flat = {tuple(img.ravel()[::7]) for split in first[:3] for img in split.images}
    assert len(flat) > 4900  # no image in two splits (a few MNIST digits may coincide)
    assert first.train.images.dtype == np.float32 and first.train.images.max() <= 1.0


def test_sample_rejects_bad_arguments():
    with pytest.raises(ValueError, match="Unknown sample 'cifar'"):
        load_sample("cifar")
    with pytest.raises(ValueError, match="test_size"):
        load_sample(test_size=4000, validation_size=1000)
