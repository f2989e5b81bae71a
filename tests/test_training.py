"""Training runs: the run folder, resume after SIGKILL, NaN stops, settings and errors."""

import json
import sys

import keras
import numpy as np
import pytest
from conftest import kill_after_epochs, quiet_env, run_command

from cnnzoo.training import TrainingDivergedError, history_rows, train
from cnnzoo.training.callbacks import RunBackup, StopOnNaN
from cnnzoo.training.run import _learning_rate

LENET = {"variant": "modern"}


def quick(folder, out, **kwargs):
    """A one-epoch run on the digits folder."""
    settings = {"epochs": 1, "batch_size": 8, "model_kwargs": LENET, "verbose": 0, **kwargs}
    return train("lenet5", folder, out=out, **settings)


@pytest.mark.slow
def test_a_run_folder_has_everything_to_reproduce_and_inspect_it(tmp_path):
    result = train("lenet5", epochs=2, out=tmp_path / "run", model_kwargs=LENET, verbose=0)
    run = result.run_dir
    config = json.loads((run / "config.json").read_text())
    assert config["model"] == "lenet5" and config["model_kwargs"] == LENET
    assert config["data"] == "mnist-sample" and config["epochs"] == 2 and config["seed"] == 0
    rows = history_rows(run / "history.csv")
    assert [row["epoch"] for row in rows] == [0, 1]
    assert {"loss", "accuracy", "val_loss", "val_accuracy"} <= set(rows[0])
    assert result.history["val_accuracy"] == [row["val_accuracy"] for row in rows]
    assert json.loads((run / "class_indices.json").read_text())["7"] == 7
    assert (run / "curves.png").read_bytes()[:8] == b"\x89PNG\r\n\x1a\n"
    assert any((run / "logs").rglob("events.out.tfevents.*"))
    assert not (run / "backup").exists()  # finished
    metrics = json.loads((run / "metrics.json").read_text())
    best = max(result.history["val_accuracy"])
    assert metrics["validation_accuracy"] == pytest.approx(best, abs=1e-6)  # the best epoch
    assert metrics["test_accuracy"] > 0.8 and result.warning is None
    reloaded = keras.saving.load_model(run / "model.keras")
    assert reloaded.output_shape == (None, 10)


def test_a_run_is_not_overwritten_and_resumes_only_with_its_settings(tmp_path, digits_folder):
    first = quick(digits_folder, tmp_path)
    with pytest.raises(ValueError, match=r"already holds a run; pass resume=True"):
        quick(digits_folder, tmp_path)
    with pytest.raises(ValueError, match=r"other settings \(epochs: 1 -> 3\)"):
        quick(digits_folder, tmp_path, epochs=3, resume=True)
    again = quick(digits_folder, tmp_path, resume=True)
    assert again.metrics == first.metrics and again.epochs == 1  # finished: nothing retrained
    with pytest.raises(ValueError, match=r"holds no run \(no config.json\) to resume"):
        train("lenet5", out=tmp_path / "empty", resume=True)


def _train_command(run, *extra):
    """``cnnzoo train`` as a user types it: 4 epochs of LeNet-5 on the bundled sample."""
    command = ["train", "lenet5", "--epochs", "4", "--out", str(run), "--set", "variant=modern"]
    return [sys.executable, "-m", "cnnzoo", *command, *extra]


@pytest.mark.slow
def test_a_run_killed_after_its_second_epoch_resumes_to_a_complete_history(tmp_path):
    run = tmp_path / "run"
    env = quiet_env()
    done = len(kill_after_epochs(_train_command(run), run / "history.csv", 2, env))
    assert 2 <= done < 4 and (run / "backup").exists() and not (run / "metrics.json").exists()
    resumed = run_command(_train_command(run, "--resume"), env=env, timeout=300)
    assert resumed.returncode == 0, resumed.stderr[-2000:]
    assert "Epoch 1/4" not in resumed.stdout and "Epoch 4/4" in resumed.stdout  # continued
    assert [row["epoch"] for row in history_rows(run / "history.csv")] == [0, 1, 2, 3]
    assert (run / "metrics.json").exists() and not (run / "backup").exists()


def test_a_nan_loss_raises_and_keeps_the_last_good_backup(tmp_path):
    model = keras.Sequential([keras.Input((8,)), keras.layers.Dense(2, activation="softmax")])
    model.compile("sgd", "sparse_categorical_crossentropy")
    poison = keras.callbacks.LambdaCallback(  # after the first epoch's backup: NaN weights
        on_epoch_end=lambda epoch, logs: model.layers[0].kernel.assign(
            np.full((8, 2), np.nan, "float32")
        )
    )
    callbacks = [
        StopOnNaN(0.01, tmp_path / "backup"),
        RunBackup(tmp_path / "backup", tmp_path / "h.csv"),
        poison,
    ]
    x, y = np.random.default_rng(0).uniform(0, 1, (8, 8)), np.arange(8) % 2
    with pytest.raises(
        TrainingDivergedError, match=r"epoch 2, batch 1.*lower learning rate than 0.01"
    ) as error:
        model.fit(x, y, batch_size=4, epochs=3, callbacks=callbacks, verbose=0)
    assert f"The backup of the last finished epoch (1) is kept in {tmp_path / 'backup'}." in str(
        error.value
    )
    assert json.loads((tmp_path / "backup" / "epoch.json").read_text()) == {"epoch": 1}
    assert len(history_rows(tmp_path / "h.csv")) == 1
    fresh = keras.Sequential([keras.Input((8,)), keras.layers.Dense(2, activation="softmax")])
    fresh.compile("sgd", "sparse_categorical_crossentropy")
    assert RunBackup(tmp_path / "backup", tmp_path / "h.csv").restore(fresh) == 1
    assert np.isfinite(fresh.layers[0].kernel.numpy()).all()  # the last good weights


def test_an_absurd_learning_rate_stops_the_run_with_advice(tmp_path):
    with pytest.raises(
        TrainingDivergedError, match=r"training diverged. Try a lower learning rate"
    ) as error:
        train("lenet5", epochs=2, out=tmp_path, optimizer="sgd", learning_rate=1e12, verbose=0,
              model_kwargs={"variant": "modern"})  # fmt: skip
    assert (tmp_path / "config.json").exists() and not (tmp_path / "metrics.json").exists()
    # NaN in the first epoch: no backup, and the message does not claim one.
    assert "in epoch 1, batch " in str(error.value) and not (tmp_path / "backup").exists()
    assert "No epoch finished, so nothing was backed up" in str(error.value)
    assert "backup/" not in str(error.value) and "is kept in" not in str(error.value)


def test_a_run_that_learnt_nothing_says_so_and_what_to_try(tmp_path, capsys):
    """Adam at 1.0 leaves LeNet-5 guessing (a finite loss: no NaN stop): the run finishes,
    and its last line and its result say that the saved model did not learn, on the first
    run and when the finished run is opened again."""
    settings = dict(epochs=1, learning_rate=1.0, model_kwargs=LENET, verbose=1)
    result = train("lenet5", out=tmp_path / "run", **settings)
    assert result.metrics["validation_accuracy"] <= 0.15
    assert result.warning.startswith("the saved model did not learn: its validation accuracy")
    assert "--set norm=batch" in result.warning and "--lr" in result.warning
    printed = capsys.readouterr().out.strip().splitlines()
    assert printed[-1] == f"Warning: {result.warning}"
    again = train("lenet5", out=tmp_path / "run", resume=True, **settings)
    assert again.warning == result.warning
    assert capsys.readouterr().out.strip().splitlines()[-1] == f"Warning: {result.warning}"


def test_only_chance_accuracy_with_a_uniform_guess_loss_is_called_not_learnt():
    from cnnzoo.training.messages import not_learnt

    assert not_learnt({"validation_accuracy": 0.12, "validation_loss": 2.2}, 10)
    assert not_learnt({"test_accuracy": 0.5, "test_loss": 0.7}, 2).startswith(
        "the saved model did not learn: its test accuracy (0.500)"
    )
    assert not_learnt({"validation_accuracy": 0.3, "validation_loss": 2.2}, 10) is None
    assert not_learnt({"validation_accuracy": 0.1, "validation_loss": 1.5}, 10) is None
    assert not_learnt({"validation_accuracy": 0.1}, 10) is None  # no loss: cannot be told
    assert not_learnt({"validation_accuracy": 0.1, "validation_loss": 2.3}, None) is None


def test_the_nan_stop_counts_true_batches_with_steps_per_execution(tmp_path):
    """With steps_per_execution 8, Keras reports batch 8 of a 3-batch epoch."""
    model = keras.Sequential([keras.Input((8,)), keras.layers.Dense(2, activation="softmax")])
    model.compile("sgd", "sparse_categorical_crossentropy", steps_per_execution=8)
    model.layers[0].kernel.assign(np.full((8, 2), np.nan, "float32"))
    x, y = np.random.default_rng(0).uniform(0, 1, (12, 8)), np.arange(12) % 2
    stop = StopOnNaN(0.01, tmp_path / "backup")
    with pytest.raises(TrainingDivergedError, match=r"in epoch 1, batch 3: .*No epoch finished"):
        model.fit(x, y, batch_size=4, epochs=2, callbacks=[stop], verbose=0)


def test_schedules_decay_over_the_run():
    cosine = _learning_rate("cosine", 0.1, 100)
    step = _learning_rate("step", 0.1, 100)
    assert float(cosine(0)) == pytest.approx(0.1) and float(cosine(100)) == pytest.approx(0.0)
    assert [float(step(s)) for s in (0, 51, 76)] == pytest.approx([0.1, 0.01, 0.001])
    assert _learning_rate("constant", 0.1, 100) == 0.1


def test_folder_data_label_smoothing_and_plateau(tmp_path, digits_folder):
    result = quick(digits_folder, tmp_path, epochs=2, label_smoothing=0.1, schedule="plateau")
    run = result.run_dir
    assert json.loads((run / "class_indices.json").read_text()) == {"d3": 0, "d8": 1}
    assert json.loads((run / "data_report.json").read_text())
    assert set(result.metrics) == {"validation_loss", "validation_accuracy"}  # no test split
    assert result.model.output_shape == (None, 2) and result.epochs == 2


@pytest.mark.slow
def test_seeded_runs_repeat(tmp_path, digits_folder):
    runs = [quick(digits_folder, tmp_path / str(i), epochs=2, seed=3) for i in range(2)]
    assert runs[0].history == runs[1].history


@pytest.mark.parametrize(
    ("kwargs", "message"),
    [
        ({"epochs": 0}, r"epochs must be a positive int; received epochs=0"),
        ({"schedule": "linear"}, r"schedule must be one of .*received schedule='linear'"),
        ({"optimizer": "adamm"}, r"optimizer must name a Keras optimizer.*'adamm'"),
        ({"learning_rate": -1}, r"learning_rate must be a number > 0"),
        ({"patience": -2}, r"patience must be None or an int >= 0"),
        (
            {"data": "no/such/folder"},
            r"data must be 'mnist-sample' .*'no/such/folder'.*not a folder",
        ),
    ],
)
def test_bad_settings_name_themselves(tmp_path, kwargs, message):
    with pytest.raises(ValueError, match=message):
        train("lenet5", out=tmp_path / "run", **kwargs)
    assert not (tmp_path / "run").exists()


@pytest.fixture(scope="module")
def one_class_folder(tmp_path_factory, digits_folder):
    """The digits folder's 3s alone, and an empty folder for the 8s."""
    root = tmp_path_factory.mktemp("one_class")
    (root / "d3").mkdir()
    (root / "d8").mkdir()
    for path in (digits_folder / "d3").iterdir():
        (root / "d3" / path.name).write_bytes(path.read_bytes())
    return root


def test_a_refused_run_writes_nothing_and_the_corrected_call_starts_there(
    tmp_path, digits_folder, one_class_folder
):
    run = tmp_path / "run"
    refusals = [
        ("lenet55", digits_folder, {}, r"Unknown model name 'lenet55'. Closest .*: lenet5"),
        ("lenet5", digits_folder, {"bogus": 1}, r"unknown argument 'bogus'"),
        ("lenet5", digits_folder, {"dropout": 5}, r"dropout must be"),
        ("vgg11", digits_folder, {"input_shape": (8, 8, 3)}, r"too small"),
        ("lenet5", one_class_folder, {}, r"at least 2 classes.*only \['d3'\] \(empty: d8/\)"),
    ]
    for model, data, kwargs, message in refusals:
        with pytest.raises(ValueError, match=message):
            train(model, data, out=run, epochs=1, model_kwargs=kwargs, verbose=0)
        assert not run.exists(), f"{model} {kwargs} left {sorted(p.name for p in run.iterdir())}"
    assert quick(digits_folder, run).epochs == 1  # not "already holds a run"


def test_extra_callbacks_run_with_the_run_own(tmp_path, digits_folder):
    seen = []
    counter = keras.callbacks.LambdaCallback(on_epoch_end=lambda epoch, logs: seen.append(logs))
    quick(digits_folder, tmp_path / "run", epochs=2, callbacks=[counter])
    assert len(seen) == 2 and "val_accuracy" in seen[0]
    assert len(history_rows(tmp_path / "run" / "history.csv")) == 2
