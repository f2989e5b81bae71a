"""The run folder of :func:`~cnnzoo.training.train` and :func:`~cnnzoo.training.finetune`:
checked before anything is built, written only once every setting has been accepted."""

from __future__ import annotations

import json
import time
from dataclasses import dataclass
from pathlib import Path

from cnnzoo.data.folder import CLASS_MAP_FILE, REPORT_FILE
from cnnzoo.data.scan import FolderReport
from cnnzoo.files import write_text
from cnnzoo.training.callbacks import history_rows

CONFIG_FILE = "config.json"
METRICS_FILE = "metrics.json"


@dataclass(frozen=True)
class RunFolder:
    """A run folder: :meth:`check` reads it, :meth:`create` writes it.

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
    def finished(self) -> bool:
        """Whether the run ended: its metrics are written last."""
        return (self.path / METRICS_FILE).exists()

    @property
    def epochs_done(self) -> int:
        """Epochs in ``history.csv`` (every one finished and backed up)."""
        return len(history_rows(self.path / "history.csv"))

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
            key for key in config.keys() | stored.keys() if config.get(key) != stored.get(key)
        )
        if changed:
            details = ", ".join(
                f"{key}: {stored.get(key)!r} -> {config.get(key)!r}" for key in changed
            )
            raise ValueError(
                f"The run in {self.path} was started with other settings ({details}); resume "
                "it with the same settings, or start a new run in another folder."
            )

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


__all__ = ["RunFolder"]
