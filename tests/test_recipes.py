"""Every recipe runs top to bottom with ``--quick`` and writes what it says it writes."""

import json
import os
import subprocess
import sys
from pathlib import Path

import keras
import pytest

from cnnzoo.training import history_rows

RECIPES = Path(__file__).parent.parent / "recipes"


def run_recipe(name: str, *args: str, check: bool = True) -> subprocess.CompletedProcess:
    env = {**os.environ, "TF_CPP_MIN_LOG_LEVEL": "3"}
    result = subprocess.run(
        [sys.executable, str(RECIPES / name), *args],
        capture_output=True, text=True, env=env, timeout=600, check=False,
    )  # fmt: skip
    if check:
        assert result.returncode == 0, result.stdout[-3000:] + result.stderr[-3000:]
    return result


def test_every_recipe_has_a_header_and_a_quick_mode():
    for path in RECIPES.glob("*.py"):
        text = path.read_text()
        assert text.startswith('"""\nTitle: '), path.name
        assert "Description: " in text and "--quick" in text, path.name


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
def test_finetune_folder_makes_its_data_then_fine_tunes_a_saved_model(tmp_path):
    first = tmp_path / "first"
    first_run = run_recipe("finetune_folder.py", "--quick", "--out", str(first))
    class_indices = json.loads((first / "class_indices.json").read_text())
    assert class_indices == {"eight": 0, "five": 1, "nine": 2, "seven": 3, "six": 4}
    assert (first / "data_report.json").exists()
    rows = history_rows(first / "history.csv")
    assert [row["phase"] for row in rows] == [1, 1, 2, 2] and "val_accuracy" in rows[0]
    assert "Phase 2: 2 epochs of the head and the last 2 stages at 0.0001" in first_run.stdout
    assert keras.saving.load_model(first / "model.keras").output_shape == (None, 5)
    second = tmp_path / "second"
    result = run_recipe(
        "finetune_folder.py", "--quick", "--data", str(first / "images"),
        "--weights", str(first / "model.keras"), "--out", str(second),
    )  # fmt: skip
    assert "Validation accuracy: " in result.stdout and (second / "model.keras").exists()
    refused = run_recipe("finetune_folder.py", "--data", str(first / "images"), check=False)
    assert refused.returncode == 2 and "--data needs --weights" in refused.stderr
