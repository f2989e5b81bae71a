"""What a search leaves in its project folder: the trial table (CSV and JSON), the best
hyperparameters and the plot of score per trial, read from the trial files on disk so
that a chief, a worker and a resumed run all see the same table."""

from __future__ import annotations

import csv
import itertools
import json
import time
from pathlib import Path
from typing import Any

from keras_tuner.src.engine.trial import Trial

TRIAL_RECORD = "cnnzoo_trial.json"  # per trial folder: seconds, epochs, worker
COLUMNS = ("trial_id", "status", "score", "epochs", "seconds", "worker", "reason")


def write_json(path: Path, data: Any) -> None:
    """Writes ``data`` as JSON atomically (a kill mid-write leaves the old file)."""
    path.parent.mkdir(parents=True, exist_ok=True)
    partial = path.with_name(path.name + ".partial")
    partial.write_text(json.dumps(data, indent=2, default=str))
    partial.replace(path)


def record_trial(trial_dir: Path, *, seconds: float, epochs: int, worker: str) -> None:
    """Notes how long a trial ran, for how many epochs and on which worker."""
    write_json(
        Path(trial_dir) / TRIAL_RECORD,
        {"seconds": round(seconds, 3), "epochs": epochs, "worker": worker, "ended": time.time()},
    )


def _reason(trial: Trial) -> str:
    """The last line of a failed trial's traceback: the error itself."""
    lines = [line for line in (trial.message or "").strip().splitlines() if line.strip()]
    return lines[-1] if lines else ""


def trial_rows(project_dir: str | Path) -> list[dict[str, Any]]:
    """One row per trial of the project, in trial order: id, status, score, epochs run,
    seconds, worker, failure reason, then the hyperparameters (``tuner/...`` bookkeeping
    of Hyperband kept as ``budget`` and ``continues``)."""
    rows = []
    for path in sorted(Path(project_dir).glob("trial_*/trial.json")):
        trial = Trial.load(str(path))
        record_path = path.parent / TRIAL_RECORD
        record = json.loads(record_path.read_text()) if record_path.exists() else {}
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
    with open(csv_path, "w", newline="") as file:
        writer = csv.DictWriter(file, fieldnames=columns)
        writer.writeheader()
        writer.writerows(rows)
    json_path = project_dir / "trials.json"
    write_json(json_path, rows)
    return csv_path, json_path


def plot_scores(rows: list[dict[str, Any]], path: Path, objective: str, direction: str = "max"):
    """Score per trial (failed trials marked on the axis), best so far as a line (the
    objective's ``direction``: ``"max"`` or ``"min"``); writes a PNG, returns the figure."""
    from cnnzoo.viz.figures import new_figure, save_png

    figure = new_figure(7, 4)
    axes = figure.add_subplot()
    done = [(i, row["score"]) for i, row in enumerate(rows) if row["score"] is not None]
    failed = [i for i, row in enumerate(rows) if row["status"] == "FAILED"]
    if done:
        xs, ys = zip(*done, strict=True)
        axes.plot(xs, ys, "o", label=objective)
        better = max if direction == "max" else min
        best_so_far = list(itertools.accumulate(ys, better))
        axes.step(xs, best_so_far, where="post", label="best so far")
    if failed:
        low = min((y for _, y in done), default=0.0)
        axes.plot(failed, [low] * len(failed), "x", color="red", label="failed")
    axes.set_xlabel("trial")
    axes.set_ylabel(objective)
    axes.set_title(f"{len(rows)} trials, {len(failed)} failed")
    if done or failed:
        axes.legend()
    return save_png(figure, path)
