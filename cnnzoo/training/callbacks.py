"""Callbacks of a training run: a backup that also keeps the history file consistent,
and a NaN stop that keeps the last good backup."""

from __future__ import annotations

import csv
import io
import json
import math
from pathlib import Path

import keras


class TrainingDivergedError(RuntimeError):
    """The loss became NaN or infinite; the last good backup is kept."""


class RunBackup(keras.callbacks.Callback):
    """Backs up a run after every epoch, and keeps ``history.csv`` in step with it.

    After each epoch the history row is written, then the weights (optimizer state
    included) and the epoch number, each to a temporary file renamed into place, so a run
    killed at any moment leaves complete files. :meth:`restore` loads the backup into a
    compiled model and drops the history rows from the restored epoch on, so a resumed
    run has every epoch exactly once.
    """

    def __init__(self, backup_dir: str | Path, history_path: str | Path, columns=None):
        super().__init__()
        self.backup_dir = Path(backup_dir)
        self.history_path = Path(history_path)
        self.columns = dict(columns or {})  # fixed values added to every row, e.g. the phase
        self.rows: list[dict[str, float]] = []

    @property
    def weights_path(self) -> Path:
        return self.backup_dir / "latest.weights.h5"

    @property
    def epoch_path(self) -> Path:
        return self.backup_dir / "epoch.json"

    def restore(self, model: keras.Model, start_epoch: int = 0) -> int:
        """Loads the backup into ``model`` and returns the epoch to continue from:
        ``start_epoch`` when there is no backup of a later epoch. History rows from that
        epoch on are dropped."""
        epoch = start_epoch
        if self.epoch_path.exists() and self.weights_path.exists():
            backed_up = json.loads(self.epoch_path.read_text())["epoch"]
            if backed_up > start_epoch:
                if model.optimizer is not None and not model.optimizer.built:
                    model.optimizer.build(model.trainable_variables)  # its state is in the file
                model.load_weights(self.weights_path)
                epoch = backed_up
        self.rows = [row for row in history_rows(self.history_path) if row["epoch"] < epoch]
        self._write_history()
        return epoch

    def on_epoch_end(self, epoch, logs=None):
        row = {"epoch": epoch, **self.columns}
        for key, value in (logs or {}).items():
            row[key] = float(keras.ops.convert_to_numpy(value))
        self.rows.append(row)
        self._write_history()
        self.backup_dir.mkdir(parents=True, exist_ok=True)
        save_weights_atomically(self.model, self.weights_path)
        write_atomically(self.epoch_path, json.dumps({"epoch": epoch + 1}))

    def _write_history(self):
        keys = sorted({key for row in self.rows for key in row} - {"epoch"})
        text = io.StringIO()
        writer = csv.DictWriter(text, ["epoch", *keys], lineterminator="\n")
        writer.writeheader()
        writer.writerows(self.rows)
        write_atomically(self.history_path, text.getvalue())


class PhaseBackup(RunBackup):
    """A :class:`RunBackup` for one phase of a longer run, e.g. a fine-tuning phase
    compiled inside :func:`~cnnzoo.transfer.fine_tune`: it restores itself when training
    begins (as ``keras.callbacks.BackupAndRestore`` does), from a backup of this phase
    only, and tags every history row with the phase number.
    """

    def __init__(self, backup_dir, history_path, *, phase: int, start_epoch: int):
        super().__init__(backup_dir, history_path, columns={"phase": phase})
        self.start_epoch = start_epoch

    def on_train_begin(self, logs=None):
        epoch = self.restore(self.model, self.start_epoch)
        if epoch > self.start_epoch:  # fit starts here; Keras' own backup sets the same field
            self.model._initial_epoch = epoch

    def on_train_end(self, logs=None):
        self.model._initial_epoch = None

    @property
    def next_epoch(self) -> int:
        """The epoch after the last one in the history."""
        return self.rows[-1]["epoch"] + 1 if self.rows else self.start_epoch


def save_weights_atomically(model: keras.Model, path: Path) -> None:
    """Saves ``model``'s weights to a temporary file renamed into place: a run killed
    meanwhile leaves the previous file whole."""
    partial = path.with_name("partial.weights.h5")
    model.save_weights(partial, overwrite=True)
    partial.replace(path)


def write_atomically(path: Path, text: str) -> None:
    partial = path.with_name(path.name + ".partial")
    partial.write_text(text)
    partial.replace(path)


INT_COLUMNS = ("epoch", "phase")


def history_rows(path: str | Path) -> list[dict[str, float]]:
    """The rows of a ``history.csv`` (``epoch`` and a fine-tuning run's ``phase`` as
    ints); none when there is no file."""
    path = Path(path)
    if not path.exists():
        return []
    with path.open(newline="") as file:
        return [
            {key: int(value) if key in INT_COLUMNS else float(value) for key, value in row.items()}
            for row in csv.DictReader(file)
        ]


class StopOnNaN(keras.callbacks.Callback):
    """Raises :class:`TrainingDivergedError` at the first NaN or infinite loss.

    Raising (rather than ``stop_training``) ends ``fit`` before any end-of-training
    callback, so the backup of the last finished epoch stays as it was.
    """

    def __init__(self, learning_rate: float, backup_dir: str | Path):
        super().__init__()
        self.learning_rate = learning_rate
        self.backup_dir = backup_dir
        self.epoch = 0

    def on_epoch_begin(self, epoch, logs=None):
        self.epoch = epoch

    def on_train_batch_end(self, batch, logs=None):
        loss = (logs or {}).get("loss")
        if loss is not None and not math.isfinite(float(keras.ops.convert_to_numpy(loss))):
            raise TrainingDivergedError(
                f"The loss became {float(keras.ops.convert_to_numpy(loss))} in epoch "
                f"{self.epoch + 1}, batch {batch + 1}: training diverged. Try a lower learning "
                f"rate than {self.learning_rate:g} (for example {self.learning_rate / 10:g}). "
                f"The backup of the last finished epoch is kept in {self.backup_dir}."
            )
