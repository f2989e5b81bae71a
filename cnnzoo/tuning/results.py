"""What a search leaves in its project folder: the trial table (CSV and JSON), the best
hyperparameters and the plot of score per trial, read from the trial files on disk so
that a chief, a worker and a resumed run all see the same table."""

from __future__ import annotations

import csv
import io
import itertools
import time
from pathlib import Path
from typing import Any

from cnnzoo._compat import keras_tuner_trial
from cnnzoo.files import read_json, write_json, write_text
from cnnzoo.tuning.state import TRIAL_RECORD

COLUMNS = ("trial_id", "status", "score", "epochs", "seconds", "worker", "reason")


def record_trial(trial_dir: Path, *, seconds: float, epochs: int, worker: str) -> None:
    """Notes how long a trial ran, for how many epochs and on which worker."""
    write_json(
        Path(trial_dir) / TRIAL_RECORD,
        {"seconds": round(seconds, 3), "epochs": epochs, "worker": worker, "ended": time.time()},
    )


def _short(value: Any) -> str:
    """A hyperparameter value as a person reads it: ``0.003``, ``relu``, ``[3, 3]``."""
    if isinstance(value, float):
        return f"{value:.3g}"
    return str(value)


def differing(values: dict[str, Any], defaults: dict[str, Any]) -> dict[str, Any]:
    """The hyperparameters of ``values`` that are not at their default (KerasTuner's own
    ``tuner/...`` bookkeeping left out).

    Example:
        >>> differing({"lr": 0.01, "width": 1.0, "tuner/epochs": 3}, {"lr": 1e-3, "width": 1.0})
        {'lr': 0.01}
    """
    return {
        name: value
        for name, value in values.items()
        if not name.startswith("tuner/") and defaults.get(name, object()) != value
    }


def trial_line(trial, summary: dict[str, Any], *, objective: str, defaults: dict[str, Any],
               total: int | None = None) -> str:  # fmt: skip
    """One line for a trial that ended: its number (1-based), score, epochs, time, and the
    hyperparameters that differ from the defaults (or why it failed).

    Example:
        >>> import keras_tuner
        >>> hp = keras_tuner.HyperParameters()
        >>> _ = hp.Float("learning_rate", 1e-4, 1e-2, default=1e-3)
        >>> hp.values["learning_rate"] = 0.0031
        >>> trial = keras_tuner.engine.trial.Trial(hp, trial_id="2", status="COMPLETED")
        >>> trial_line(trial, {"score": 0.95312, "epochs": 3, "seconds": 4.21},
        ...            objective="val_accuracy", defaults={"learning_rate": 1e-3}, total=10)
        'Trial 3/10: val_accuracy 0.9531, 3 epochs, 4.2 s; learning_rate=0.0031'
    """
    trial_id = trial.trial_id
    number = f"{int(trial_id) + 1}" if str(trial_id).isdigit() else str(trial_id)
    head = f"Trial {number}{f'/{total}' if total else ''}: "
    values = dict(trial.hyperparameters.values)
    changed = differing(values, defaults)
    settings = " ".join(f"{name}={_short(value)}" for name, value in changed.items())
    settings = settings or "the defaults"
    continues = values.get("tuner/trial_id")
    if continues is not None and str(continues).isdigit():
        settings += f" (continues trial {int(continues) + 1})"
    timing = f"{summary.get('epochs', 0)} epochs, {summary.get('seconds', 0.0):.1f} s"
    if trial.status != "COMPLETED" or summary.get("score") is None:
        return f"{head}failed after {timing}: {_reason(trial) or trial.status}; {settings}"
    return f"{head}{objective} {summary['score']:.4f}, {timing}; {settings}"


def best_table(row: dict[str, Any], values: dict[str, Any], defaults: dict[str, Any],
               objective: str, trials: int) -> str:  # fmt: skip
    """The best trial as a small table: its score, then each hyperparameter's value and
    default, the changed ones marked.

    Example:
        >>> row = {"trial_id": "4", "score": 0.96, "epochs": 3, "seconds": 8.0}
        >>> print(best_table(row, {"learning_rate": 0.003, "activation": "relu"},
        ...                  {"learning_rate": 0.001, "activation": "relu"}, "val_accuracy", 6))
        Best trial: 5 of 6, val_accuracy 0.9600 after 3 epochs (8.0 s)
          hyperparameter  value  default
          activation      relu   relu
          learning_rate   0.003  0.001    *
    """
    trial_id = row["trial_id"]
    number = int(trial_id) + 1 if str(trial_id).isdigit() else trial_id
    seconds = "" if row.get("seconds") is None else f" ({row['seconds']:.1f} s)"
    lines = [
        f"Best trial: {number} of {trials}, {objective} {row['score']:.4f} after "
        f"{row.get('epochs')} epochs{seconds}"
    ]
    table = [("hyperparameter", "value", "default", "")] + [
        (name, _short(value), _short(defaults[name]) if name in defaults else "",
         "*" if name in differing({name: value}, defaults) else "")
        for name, value in sorted(values.items()) if not name.startswith("tuner/")
    ]  # fmt: skip
    widths = [max(len(cells[i]) for cells in table) for i in range(4)]
    for cells in table:
        lines.append("  " + "  ".join(c.ljust(w) for c, w in zip(cells, widths, strict=True)))
    return "\n".join(line.rstrip() for line in lines)


def _reason(trial) -> str:
    """The last line of a failed trial's traceback: the error itself."""
    lines = [line for line in (trial.message or "").strip().splitlines() if line.strip()]
    return lines[-1] if lines else ""


def trial_rows(project_dir: str | Path) -> list[dict[str, Any]]:
    """One row per trial of the project, in trial order: id, status, score, epochs run,
    seconds, worker, failure reason, then the hyperparameters (``tuner/...`` bookkeeping
    of Hyperband kept as ``budget`` and ``continues``)."""
    trial_class, _ = keras_tuner_trial()
    rows = []
    for path in sorted(Path(project_dir).glob("trial_*/trial.json")):
        trial = trial_class.load(str(path))
        record = read_json(path.parent / TRIAL_RECORD)
        record = record if isinstance(record, dict) else {}
        values = dict(trial.hyperparameters.values)
        row = {
            "trial_id": trial.trial_id,
            "status": trial.status,
            "score": trial.score,
            "epochs": record.get("epochs"),
            "seconds": record.get("seconds"),
            "worker": record.get("worker"),
            "reason": _reason(trial) if trial.status in ("FAILED", "INVALID") else "",
        }
        if "tuner/epochs" in values:
            row["budget"] = values.pop("tuner/epochs")
            row["continues"] = values.pop("tuner/trial_id", "")
        row.update({k: v for k, v in values.items() if not k.startswith("tuner/")})
        rows.append(row)
    return rows


def write_table(project_dir: Path, rows: list[dict[str, Any]]) -> tuple[Path, Path]:
    """``trials.csv`` and ``trials.json`` in ``project_dir``."""
    columns = list(COLUMNS)
    for row in rows:
        columns += [key for key in row if key not in columns]
    csv_path = project_dir / "trials.csv"
    text = io.StringIO(newline="")
    writer = csv.DictWriter(text, fieldnames=columns)
    writer.writeheader()
    writer.writerows(rows)
    write_text(csv_path, text.getvalue())
    json_path = project_dir / "trials.json"
    write_json(json_path, rows)
    return csv_path, json_path


def plot_scores(rows: list[dict[str, Any]], path: Path, objective: str, direction: str = "max"):
    """Score per trial (failed trials marked on the axis), best so far as a line (the
    objective's ``direction``: ``"max"`` or ``"min"``); writes a PNG, returns the figure.

    Trials are numbered from 1, as the search's lines number them (``Trial 3/10`` is
    ``trial_id`` ``"2"``; :func:`trial_line`), with a tick at each whole number."""
    from matplotlib.ticker import MaxNLocator

    from cnnzoo.viz.figures import new_figure, save_png

    def number(position: int, row: dict[str, Any]) -> int:
        trial_id = str(row.get("trial_id", ""))
        return int(trial_id) + 1 if trial_id.isdigit() else position

    numbered = [(number(i, row), row) for i, row in enumerate(rows, start=1)]
    figure = new_figure(7, 4)
    axes = figure.add_subplot()
    done = [(i, row["score"]) for i, row in numbered if row["score"] is not None]
    failed = [i for i, row in numbered if row["status"] == "FAILED"]
    if done:
        xs, ys = zip(*done, strict=True)
        axes.plot(xs, ys, "o", label=objective)
        better = max if direction == "max" else min
        best_so_far = list(itertools.accumulate(ys, better))
        axes.step(xs, best_so_far, where="post", label="best so far")
    if failed:
        low = min((y for _, y in done), default=0.0)
        axes.plot(failed, [low] * len(failed), "x", color="red", label="failed")
    axes.set_xlim(0.5, max((i for i, _ in numbered), default=1) + 0.5)
    axes.xaxis.set_major_locator(MaxNLocator(integer=True, min_n_ticks=1))
    axes.set_xlabel("trial")
    axes.set_ylabel(objective)
    axes.set_title(f"{len(rows)} trials, {len(failed)} failed")
    axes.grid(alpha=0.3)
    if done or failed:
        axes.legend()
    return save_png(figure, path)
