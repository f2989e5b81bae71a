"""Callbacks of a training run: a backup that also keeps the history file consistent, a
NaN stop that keeps the last good backup, a progress bar that counts true steps, and a
fine-tuning phase's header."""

from __future__ import annotations

import csv
import io
import json
import math
import threading
from pathlib import Path

import keras

from cnnzoo import _compat
from cnnzoo.files import write_text, write_with
from cnnzoo.training.messages import phase_header
from cnnzoo.training.state import LEGACY_FILE, STATE_FILE, RunState, state_variables, values_of


class TrainingDivergedError(RuntimeError):
    """The loss became NaN or infinite; the last good backup is kept."""


class RunBackup(keras.callbacks.Callback):
    """Backs up a run after every epoch, and keeps ``history.csv`` in step with it.

    After each epoch the history row is written, then the run's state
    (:class:`~cnnzoo.training.state.RunState`: weights, optimizer state, the epoch and,
    with ``monitor``, the best epoch's weights) to ``state.npz``, then ``epoch.json``, each
    to a temporary file renamed into place, so a run killed at any moment leaves complete
    files. :meth:`restore` loads the backup into a compiled model and drops the history
    rows from the restored epoch on, so a resumed run has every epoch exactly once.

    Args:
        backup_dir: The run's ``backup/`` folder.
        history_path: Its ``history.csv``.
        columns: Fixed values added to every history row, e.g. the phase.
        monitor: A metric whose highest value marks the best epoch (``"val_accuracy"``),
            whose weights the state keeps; ``None``: no best epoch kept.
    """

    def __init__(self, backup_dir, history_path, columns=None, monitor: str | None = None):
        super().__init__()
        self.backup_dir = Path(backup_dir)
        self.history_path = Path(history_path)
        self.columns = dict(columns or {})
        self.monitor = monitor
        self.rows: list[dict[str, float]] = []
        # The best epoch so far (numbered from 1), its score and weights.
        self.best_epoch, self.best_score, self.best_weights = None, -math.inf, None

    @property
    def state_path(self) -> Path:
        return self.backup_dir / STATE_FILE

    @property
    def epoch_path(self) -> Path:
        return self.backup_dir / "epoch.json"

    def restore(self, model: keras.Model, start_epoch: int = 0) -> int:
        """Loads the backup into ``model`` and returns the epoch to continue from:
        ``start_epoch`` when there is no backup of a later epoch. History rows from that
        epoch on are dropped. A backup written by cnnzoo 0.x (``latest.weights.h5``) is
        read too.

        Raises:
            ValueError: When the backup does not fit ``model``.
        """
        epoch = start_epoch
        if self.state_path.exists():
            state = RunState.load(self.state_path)
            if state.epoch > start_epoch:
                state.assign_to(model)
                epoch = state.epoch
                self.best_epoch, self.best_score = state.best_epoch, state.best_score
                self.best_weights = state.best
        elif (self.backup_dir / LEGACY_FILE).exists() and self.epoch_path.exists():
            backed_up = json.loads(self.epoch_path.read_text())["epoch"]
            if backed_up > start_epoch:
                state_variables(model)  # the optimizer built: its state is in the file
                model.load_weights(self.backup_dir / LEGACY_FILE)
                epoch = backed_up
        self.rows = [row for row in history_rows(self.history_path) if row["epoch"] < epoch]
        if self.monitor and self.best_weights is None:  # 0.x kept its best in model.keras
            scores = [row[self.monitor] for row in self.rows if self.monitor in row]
            self.best_score = max(scores, default=-math.inf)
        self._write_history()
        return epoch

    def on_epoch_end(self, epoch, logs=None):
        logs = logs or {}
        row = {"epoch": epoch, **self.columns}
        for key, value in logs.items():
            row[key] = float(keras.ops.convert_to_numpy(value))
        self.rows.append(row)
        self._write_history()
        score = row.get(self.monitor, math.nan) if self.monitor else math.nan
        if score > self.best_score:  # as ModelCheckpoint(mode="max"): NaN never is
            self.best_epoch, self.best_score = epoch + 1, score
            self.best_weights = values_of(self.model.weights)
        RunState(
            epoch + 1, values_of(state_variables(self.model)), self.best_weights,
            best_epoch=self.best_epoch, best_score=self.best_score,
        ).save(self.state_path)  # fmt: skip
        write_text(self.epoch_path, json.dumps({"epoch": epoch + 1}))

    def _write_history(self):
        keys = sorted({key for row in self.rows for key in row} - {"epoch"})
        text = io.StringIO()
        writer = csv.DictWriter(text, ["epoch", *keys], lineterminator="\n")
        writer.writeheader()
        writer.writerows(self.rows)
        write_text(self.history_path, text.getvalue())


class PhaseBackup(RunBackup):
    """A :class:`RunBackup` for one phase of a longer run, e.g. a fine-tuning phase
    compiled inside :func:`~cnnzoo.transfer.fit_in_phases`: it restores itself when training
    begins (as ``keras.callbacks.BackupAndRestore`` does), from a backup of this phase
    only, and tags every history row with the phase number.
    """

    def __init__(self, backup_dir, history_path, *, phase: int, start_epoch: int):
        super().__init__(backup_dir, history_path, columns={"phase": phase})
        self.start_epoch = start_epoch

    def on_train_begin(self, logs=None):
        epoch = self.restore(self.model, self.start_epoch)
        if epoch > self.start_epoch:  # fit starts here; Keras' own backup sets the same field
            _compat.set_initial_epoch(self.model, epoch)

    def on_train_end(self, logs=None):
        _compat.set_initial_epoch(self.model, None)

    @property
    def next_epoch(self) -> int:
        """The epoch after the last one in the history."""
        return self.rows[-1]["epoch"] + 1 if self.rows else self.start_epoch


def save_weights_atomically(model: keras.Model, path: Path) -> None:
    """Saves ``model``'s weights to a temporary file renamed into place: a run killed
    meanwhile leaves the previous file whole."""
    write_with(path, model.save_weights, suffix=".weights.h5")


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
    callback, so the backup of the last finished epoch stays as it was. The message
    mentions that backup only when there is one: a loss that is NaN in the first epoch
    leaves none.

    Args:
        learning_rate: The run's learning rate, for the advice.
        backup_dir: The run's ``backup/`` folder; ``None`` in a process that does not
            write the run folder.
    """

    # Keras runs batch-end hooks in threads beside the training loop when every callback
    # allows it (JAX, PyTorch), so that the loop need not wait for each loss. The check
    # there only notes a bad loss; the error is raised in the loop's own thread, at the
    # next batch once every check dispatched so far is done (so the batch it names is
    # the first bad one, however the threads ran), or at the epoch's end at the latest,
    # after Keras has waited for them all and before any epoch-end callback (the backup).
    async_safe = True

    def __init__(self, learning_rate: float, backup_dir: str | Path | None):
        super().__init__()
        self.learning_rate = learning_rate
        self.backup_dir = None if backup_dir is None else Path(backup_dir)
        self.epoch = 0
        self._lock = threading.Lock()
        self._dispatched = self._checked = 0
        self._diverged: tuple[int, float] | None = None  # the first bad (batch, loss)

    def on_epoch_begin(self, epoch, logs=None):
        self.epoch = epoch
        self._dispatched = self._checked = 0
        self._diverged = None

    def on_train_batch_begin(self, batch, logs=None):
        self._raise_when_known()
        self._dispatched += 1

    def on_train_batch_end(self, batch, logs=None):  # in a thread of Keras' or the loop's
        loss = (logs or {}).get("loss")
        loss = None if loss is None else float(keras.ops.convert_to_numpy(loss))
        with self._lock:
            self._checked += 1
            bad = loss is not None and not math.isfinite(loss)
            if bad and (self._diverged is None or batch < self._diverged[0]):
                self._diverged = (batch, loss)

    def on_epoch_end(self, epoch, logs=None):
        self._raise_when_known()  # every check is done: Keras waits for them first

    def _raise_when_known(self):
        with self._lock:
            if self._diverged is None or self._checked < self._dispatched:
                return
            batch, loss = self._diverged
        raise TrainingDivergedError(
            f"The loss became {loss} in epoch {self.epoch + 1}, batch "
            f"{true_step(batch, self.params) + 1}: training diverged. Try a lower learning "
            f"rate than {self.learning_rate:g} (for example {self.learning_rate / 10:g}). "
            + self._kept()
        )

    def _kept(self) -> str:
        if self.backup_dir is None:
            return "Process 0 keeps the run folder."
        epoch_path = self.backup_dir / "epoch.json"
        if not epoch_path.exists():
            run_dir = self.backup_dir.parent
            return (
                f"No epoch finished, so nothing was backed up: start again in another folder, "
                f"or delete {run_dir}."
            )
        done = json.loads(epoch_path.read_text())["epoch"]
        return f"The backup of the last finished epoch ({done}) is kept in {self.backup_dir}."


def true_step(batch: int, params: dict | None) -> int:
    """The last batch run so far, counted from 0. With ``steps_per_execution`` ``k``,
    Keras reports ``k - 1`` past the start of each call, also when the epoch's last call
    runs fewer than ``k`` batches (so 120 of 113, or 8 of 1: Keras issue 20861).

    Example:
        >>> true_step(119, {"steps": 113}), true_step(7, {"steps": 1}), true_step(7, {})
        (112, 0, 7)
    """
    steps = (params or {}).get("steps")
    return min(batch, steps - 1) if steps else batch


class TrueStepsProgbar(keras.callbacks.ProgbarLogger):
    """Keras' progress bar, counting the batches that ran: never more than the epoch has
    (see :func:`true_step`). Given to ``fit`` among the callbacks, it replaces Keras'
    own."""

    async_safe = True  # as Keras' own, which Keras runs in a thread beside the loop

    def set_params(self, params):
        super().set_params(params)
        self.params = params  # Keras' ProgbarLogger keeps only what it needs

    def on_train_batch_end(self, batch, logs=None):
        super().on_train_batch_end(true_step(batch, self.params), logs)


class EpochTensorBoard(keras.callbacks.TensorBoard):
    """Keras' TensorBoard callback writing what cnnzoo asks of it: the metrics of every
    epoch (and on TensorFlow the training graph). Keras' own hooks each batch to write the
    graph and per-batch metrics, which makes ``fit`` wait for every batch; on JAX and
    PyTorch, where there is no graph to write, this one does nothing per batch and lets
    ``fit`` run the batches ahead (``async_safe``)."""

    async_safe = True

    def __init__(self, log_dir):
        super().__init__(log_dir, update_freq="epoch", profile_batch=0)

    def on_train_batch_end(self, batch, logs=None):
        if keras.backend.backend() == "tensorflow":  # never asynchronous there
            super().on_train_batch_end(batch, logs)


class PhaseHeader(keras.callbacks.Callback):
    """Prints the line a fine-tuning phase starts with, once the phase has set what
    trains (see :func:`~cnnzoo.training.messages.phase_header`), and with layer decay
    below 1 the learning rate of each layer group."""

    def __init__(self, number: int, count: int, phase, first_epoch: int, layer_decay=1.0):
        super().__init__()
        self.number, self.count, self.phase = number, count, phase
        self.first_epoch, self.layer_decay = first_epoch, layer_decay

    def on_train_begin(self, logs=None):
        print(phase_header(self.number, self.count, self.phase, self.first_epoch, self.model))
        if self.layer_decay < 1:
            from cnnzoo.transfer.layer_decay import layer_decay_factors, rates_table

            factors = layer_decay_factors(self.model, self.layer_decay)
            print(rates_table(factors, self.phase.learning_rate))
