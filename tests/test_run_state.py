"""A run's backup (``backup/state.npz``: weights, optimizer state, epoch and the best
epoch's weights), its reading of backups from before it, the NaN check that Keras may run
in threads, and what ``config.json`` records of the backend's choices."""

import json
import math

import keras
import numpy as np
import pytest

from cnnzoo.training import TrainingDivergedError, train
from cnnzoo.training.callbacks import RunBackup, StopOnNaN
from cnnzoo.training.run_folder import RunFolder
from cnnzoo.training.state import LEGACY_FILE, STATE_FILE, RunState


def _tiny(units: int = 2) -> keras.Model:
    model = keras.Sequential([keras.Input((8,)), keras.layers.Dense(units, activation="softmax")])
    model.compile("adam", "sparse_categorical_crossentropy", metrics=["accuracy"])
    return model


DATA = np.random.default_rng(0).uniform(0, 1, (16, 8)), np.arange(16) % 2


class PlantScores(keras.callbacks.Callback):
    """Sets the epoch's ``val_accuracy`` (before the backup sees it) and keeps the weights
    each epoch ended with."""

    def __init__(self, scores):
        super().__init__()
        self.scores, self.weights = scores, []

    def on_epoch_end(self, epoch, logs=None):
        logs["val_accuracy"] = self.scores[epoch]
        self.weights.append([np.array(w) for w in self.model.get_weights()])


def test_the_backup_keeps_the_best_epochs_weights_and_the_run_saves_them(tmp_path):
    model, plant = _tiny(), PlantScores([0.5, 0.9, 0.7])
    backup = RunBackup(tmp_path / "backup", tmp_path / "history.csv", monitor="val_accuracy")
    model.fit(*DATA, batch_size=4, epochs=3, callbacks=[plant, backup], verbose=0)
    state = RunState.load(tmp_path / "backup" / STATE_FILE)
    assert (state.epoch, state.best_epoch, state.best_score) == (3, 2, 0.9)
    for saved, kept in zip(state.best, plant.weights[1], strict=True):  # epoch 2's, not the last
        np.testing.assert_array_equal(saved, kept)
    assert len(state.values) == len(model.weights) + len(model.optimizer.variables)
    best = RunFolder(tmp_path).best_model(model)
    assert (tmp_path / "model.keras").exists()
    for saved, kept in zip(best.get_weights(), plant.weights[1], strict=True):
        np.testing.assert_array_equal(saved, kept)


def test_a_resumed_backup_continues_with_the_same_optimizer_state_and_best(tmp_path):
    model, plant = _tiny(), PlantScores([0.8, 0.6])
    backup = RunBackup(tmp_path / "backup", tmp_path / "history.csv", monitor="val_accuracy")
    model.fit(*DATA, batch_size=4, epochs=2, callbacks=[plant, backup], verbose=0)
    fresh = _tiny()
    again = RunBackup(tmp_path / "backup", tmp_path / "history.csv", monitor="val_accuracy")
    assert again.restore(fresh) == 2
    restored = fresh.weights + fresh.optimizer.variables
    for mine, theirs in zip(restored, model.weights + model.optimizer.variables, strict=True):
        np.testing.assert_array_equal(keras.ops.convert_to_numpy(mine), np.array(theirs))
    assert (again.best_epoch, again.best_score) == (1, 0.8)
    np.testing.assert_array_equal(again.best_weights[0], plant.weights[0][0])


def test_a_backup_written_by_cnnzoo_0x_resumes(tmp_path):
    """0.x backed up with ``save_weights`` to latest.weights.h5 beside epoch.json, and kept
    its best model in model.keras; its history holds the best score so far."""
    model = _tiny()
    model.fit(*DATA, batch_size=4, epochs=1, verbose=0)
    (tmp_path / "backup").mkdir()
    model.save_weights(tmp_path / "backup" / LEGACY_FILE)
    (tmp_path / "backup" / "epoch.json").write_text('{"epoch": 1}')
    (tmp_path / "history.csv").write_text("epoch,loss,val_accuracy\n0,0.7,0.75\n")
    fresh = _tiny()
    backup = RunBackup(tmp_path / "backup", tmp_path / "history.csv", monitor="val_accuracy")
    assert backup.restore(fresh) == 1
    np.testing.assert_array_equal(fresh.get_weights()[0], model.get_weights()[0])
    assert backup.best_score == 0.75 and backup.best_weights is None
    model.save(tmp_path / "model.keras")  # its best model: kept when no epoch beats it
    assert RunFolder(tmp_path).best_model(_tiny()).get_weights()[0].tolist() == (
        model.get_weights()[0].tolist()
    )


def test_a_backup_of_another_model_is_refused_with_a_clear_error(tmp_path):
    model = _tiny()
    model.fit(*DATA, batch_size=4, epochs=1, verbose=0,
              callbacks=[RunBackup(tmp_path / "backup", tmp_path / "history.csv")])  # fmt: skip
    with pytest.raises(ValueError, match=r"The run's backup does not fit this model.*changed"):
        RunBackup(tmp_path / "backup", tmp_path / "history.csv").restore(_tiny(units=3))


def _nan_check(calls) -> StopOnNaN:
    check = StopOnNaN(0.01, None)
    check.set_params({"steps": 10})
    check.on_epoch_begin(1)
    for call in calls:
        call(check)
    return check


def _begin(batch):
    return lambda check: check.on_train_batch_begin(batch)


def _end(batch, loss):
    return lambda check: check.on_train_batch_end(batch, {"loss": loss})


def test_the_nan_check_names_the_first_bad_batch_whatever_order_its_threads_ran():
    # Batches 0-2 dispatched; the check of batch 1 (NaN) finishes before those of 0 and
    # 2: nothing is known yet at batch 3, and batch 0, NaN too, is the one named.
    check = _nan_check([_begin(0), _begin(1), _begin(2), _end(1, math.nan)])
    check.on_train_batch_begin(3)  # batches 0 and 2 still being checked: no error yet
    for batch, loss in ((0, math.inf), (2, 1.0), (3, math.nan)):
        _end(batch, loss)(check)
    with pytest.raises(TrainingDivergedError, match=r"became inf in epoch 2, batch 1:"):
        check.on_train_batch_begin(4)


def test_the_nan_check_raises_at_the_epochs_end_at_the_latest():
    check = _nan_check([_begin(0), _end(0, 1.0), _begin(1), _end(1, math.nan)])
    with pytest.raises(TrainingDivergedError, match=r"epoch 2, batch 2:"):
        check.on_epoch_end(1)
    _nan_check([_begin(0), _end(0, 1.0)]).on_epoch_end(1)  # finite: nothing raised


def test_config_records_the_backends_choices_and_a_resume_does_not_compare_them(
    tmp_path, digits_folder
):
    settings = {"epochs": 1, "batch_size": 8, "verbose": 0, "model_kwargs": {"variant": "modern"}}
    train("lenet5", digits_folder, out=tmp_path, **settings)
    config = json.loads((tmp_path / "config.json").read_text())
    backend = keras.backend.backend()
    devices = config["runtime"].pop("devices")
    assert "cpu" in devices or "gpu" in devices or "cuda" in devices, devices
    assert config["runtime"] | {"jit_compile": None} == {
        "backend": backend, "jit_compile": None,
        "steps_per_execution": 1 if backend == "torch" else 8,  # 8 where Keras allows it
    }  # fmt: skip
    if devices == ["cpu"]:  # Keras' choice on CPUs: XLA for JAX only
        assert config["runtime"]["jit_compile"] == (backend == "jax")
    config["runtime"]["backend"] = "another"  # as if started on another backend
    (tmp_path / "config.json").write_text(json.dumps(config))
    resumed = train("lenet5", digits_folder, out=tmp_path, resume=True, **settings)
    assert resumed.epochs == 1


def test_a_nan_loss_in_fit_names_its_first_batch_and_keeps_the_last_backup(tmp_path):
    """On JAX and PyTorch, Keras runs the check in threads (every callback here allows it)."""
    model = _tiny()
    poison = keras.callbacks.LambdaCallback(  # after the first epoch's backup: NaN weights
        on_epoch_end=lambda epoch, logs: (
            epoch == 0 and model.layers[0].kernel.assign(np.full((8, 2), np.nan, "float32"))
        )
    )
    callbacks = [
        StopOnNaN(0.01, tmp_path / "backup"),
        RunBackup(tmp_path / "backup", tmp_path / "history.csv"),
        poison,
    ]
    with pytest.raises(TrainingDivergedError, match=r"epoch 2, batch 1: .* epoch \(1\) is kept"):
        model.fit(*DATA, batch_size=2, epochs=3, callbacks=callbacks, verbose=0)
    assert RunState.load(tmp_path / "backup" / STATE_FILE).epoch == 1
