"""The run folder of :func:`~cnnzoo.training.train` and :func:`~cnnzoo.training.finetune`:
checked before anything is built, written only once every setting has been accepted,
backed up after every epoch and finished with its metrics. Every file is written
atomically (:mod:`cnnzoo.files`)."""

from __future__ import annotations

import json
import shutil
import time
import warnings
from dataclasses import dataclass
from pathlib import Path

import keras

from cnnzoo.data.folder import CLASS_MAP_FILE, REPORT_FILE
from cnnzoo.data.scan import FolderReport
from cnnzoo.files import write_text, write_with
from cnnzoo.training.callbacks import RunBackup, history_rows
from cnnzoo.training.messages import not_learnt
from cnnzoo.training.state import STATE_FILE, RunState, assign
from cnnzoo.viz import learning_curves

CONFIG_FILE = "config.json"
METRICS_FILE = "metrics.json"
MODEL_FILE = "model.keras"
HISTORY_FILE = "history.csv"
# What a run records in config.json as it starts, beside the settings it was given (the
# rate learning_rate="auto" found, what was chosen for the backend and devices): not a
# setting, so a resume does not compare it (and may run on another backend).
LR_FIND_KEY = "lr_find"
RUNTIME_KEY = "runtime"
RECORDED = (LR_FIND_KEY, RUNTIME_KEY)


@dataclass(frozen=True)
class TrainResult:
    """A finished run: its folder, the best model, the history and the final metrics.

    In a multi-process run only process 0 writes and reads the run folder; the other
    processes get the model as the last epoch left it (the same weights everywhere), the
    history of this session and no metrics.
    """

    run_dir: Path | None
    model: keras.Model | None
    history: dict[str, list[float]]
    metrics: dict[str, float]

    @property
    def epochs(self) -> int:
        return len(self.history.get("loss", []))

    @property
    def warning(self) -> str | None:
        """Why the saved model learnt nothing (accuracy at chance, loss no lower than a
        uniform guess's: :func:`~cnnzoo.training.messages.not_learnt`), else ``None``."""
        if self.model is None:
            return None
        return not_learnt(self.metrics, self.model.outputs[0].shape[-1])


def save_model(model: keras.Model, path: Path) -> None:
    """``model.save`` to a temporary file renamed into place."""
    write_with(path, model.save, suffix=".keras")


def load_run_model(path: Path) -> keras.Model:
    """A run's saved model, compiled as it was trained. With mixed precision, Keras warns
    that the loss-scaling optimizer's saved state does not fit a fresh one; that state is
    only needed to continue training, which resumes from the backup instead."""
    with warnings.catch_warnings():
        warnings.filterwarnings("ignore", "Skipping variable loading for optimizer")
        return keras.saving.load_model(path)


@dataclass(frozen=True)
class RunFolder:
    """A run folder: :meth:`check` reads it, :meth:`create` writes it, :meth:`backup`
    keeps it resumable and :meth:`finish` ends it.

    It holds ``config.json`` (every setting, enough to repeat the run), ``model.keras``
    (the best epoch), ``history.csv``, TensorBoard ``logs/``, ``curves.png``,
    ``class_indices.json`` (and a folder source's ``data_report.json``), ``metrics.json``
    (written last: it marks a finished run) and, while the run is unfinished, ``backup/``.

    A command refused for a bad setting must leave nothing behind, or the corrected
    command would find a folder that "already holds a run"; so the folder is checked
    first (read only), the data read and the model built, and only then created.

    Example:
        >>> import tempfile
        >>> folder = RunFolder.choose(Path(tempfile.mkdtemp()) / "run", "lenet5")
        >>> folder.check({"epochs": 2}, resume=False)  # nothing there: a new run
        >>> folder.path.exists()
        False
        >>> folder.create({"epochs": 2}, ("cat", "dog"))
        >>> sorted(path.name for path in folder.path.iterdir())
        ['class_indices.json', 'config.json']
        >>> folder.check({"epochs": 2}, resume=False)
        Traceback (most recent call last):
        ...
        ValueError: ... already holds a run; pass resume=True (--resume) to continue it, ...
        >>> folder.check({"epochs": 3}, resume=True)
        Traceback (most recent call last):
        ...
        ValueError: The run in ... was started with other settings (epochs: 2 -> 3); ...
    """

    path: Path

    @classmethod
    def choose(cls, out, name: str) -> RunFolder:
        """``out``, or ``runs/<name>-<time>`` when it is ``None``."""
        if out is None:
            return cls(Path("runs") / f"{name}-{time.strftime('%Y%m%d-%H%M%S')}")
        return cls(Path(out))

    @property
    def config_path(self) -> Path:
        return self.path / CONFIG_FILE

    @property
    def history_path(self) -> Path:
        return self.path / HISTORY_FILE

    @property
    def backup_dir(self) -> Path:
        return self.path / "backup"

    @property
    def model_path(self) -> Path:
        return self.path / MODEL_FILE

    @property
    def finished(self) -> bool:
        """Whether the run ended: its metrics are written last."""
        return (self.path / METRICS_FILE).exists()

    @property
    def epochs_done(self) -> int:
        """Epochs in ``history.csv`` (every one finished and backed up)."""
        return len(history_rows(self.history_path))

    def check(self, config: dict, resume: bool) -> None:
        """Refuses a new run in a folder that holds one, and a resume without a run or
        with other settings than those it was started with. Writes nothing.

        Raises:
            ValueError: Naming the folder and, for other settings, each one that differs.
        """
        if not resume:
            if self.config_path.exists():
                raise ValueError(
                    f"{self.path} already holds a run; pass resume=True (--resume) to continue "
                    "it, or choose another folder."
                )
            return
        if not self.config_path.exists():
            raise ValueError(
                f"resume=True (--resume), but {self.path} holds no run (no {CONFIG_FILE}) to "
                "resume."
            )
        stored = json.loads(self.config_path.read_text())
        changed = sorted(
            key
            for key in (config.keys() | stored.keys()) - set(RECORDED)
            if config.get(key) != stored.get(key)
        )
        if changed:
            details = ", ".join(
                f"{key}: {stored.get(key)!r} -> {config.get(key)!r}" for key in changed
            )
            raise ValueError(
                f"The run in {self.path} was started with other settings ({details}); resume "
                "it with the same settings, or start a new run in another folder."
            )

    def recorded(self, key: str):
        """What the run in the folder recorded under ``key`` of its ``config.json`` as it
        started (see ``RECORDED``); ``None`` without a run or such a record."""
        if not self.config_path.exists():
            return None
        return json.loads(self.config_path.read_text()).get(key)

    def create(self, config: dict, class_names, report: FolderReport | None = None) -> None:
        """Writes ``config.json`` (a new run; a resumed run keeps its own), the class map,
        and a folder source's ``data_report.json``. A run killed in between resumes: the
        class map is written again when missing."""
        self.path.mkdir(parents=True, exist_ok=True)
        if not self.config_path.exists():
            write_text(self.config_path, json.dumps(config, indent=2) + "\n")
        class_map = self.path / CLASS_MAP_FILE
        if not class_map.exists():
            indices = {name: index for index, name in enumerate(class_names)}
            write_text(class_map, json.dumps(indices, indent=2) + "\n")
        if report is not None:
            report.save(self.report_path)

    @property
    def report_path(self) -> Path:
        return self.path / REPORT_FILE

    def write(self, name: str, text: str) -> None:
        """Writes the file ``name`` of the folder atomically."""
        write_text(self.path / name, text)

    def backup(self, monitor: str | None = None) -> RunBackup:
        """The callback that backs the run up after every epoch (its ``restore`` resumes
        a model from the last one), keeping the weights of the epoch with the best
        ``monitor``."""
        return RunBackup(self.backup_dir, self.history_path, monitor=monitor)

    def history(self) -> dict[str, list[float]]:
        """``history.csv`` as ``History.history``: metric name to per-epoch values."""
        rows = history_rows(self.history_path)
        keys = [key for key in (rows[0] if rows else {}) if key != "epoch"]
        return {key: [row[key] for row in rows] for key in keys}

    def best_model(self, last: keras.Model) -> keras.Model:
        """Saves the best epoch's model as ``model.keras`` and reloads it: ``last`` (the
        model as training left it) with the best weights of the backup. Without them,
        ``last`` itself, unless a run of cnnzoo 0.x saved its best ``model.keras``
        already."""
        state_path = self.backup_dir / STATE_FILE
        best = RunState.load(state_path).best if state_path.exists() else None
        if best is not None:
            assign(last.weights, best, "The best epoch's weights in the run's backup")
        if best is not None or not self.model_path.exists():
            save_model(last, self.model_path)
        return load_run_model(self.model_path)

    def finish(self, best: keras.Model, metrics: dict[str, float]) -> TrainResult:
        """Draws ``curves.png``, writes ``metrics.json`` (last: it marks the run finished)
        and removes ``backup/``."""
        history = self.history()
        learning_curves(history, self.path / "curves.png", title=f"{best.name}: {self.path.name}")
        self.write(METRICS_FILE, json.dumps(metrics, indent=2) + "\n")
        shutil.rmtree(self.backup_dir, ignore_errors=True)
        return TrainResult(self.path, best, history, metrics)

    def result(self) -> TrainResult:
        """The result of a finished run, read back from the folder."""
        metrics = json.loads((self.path / METRICS_FILE).read_text())
        return TrainResult(self.path, load_run_model(self.model_path), self.history(), metrics)


__all__ = ["RunFolder"]
