"""Learning curves: loss and metrics per epoch, training beside validation."""

from __future__ import annotations

import csv
import itertools
import math
from collections.abc import Mapping
from pathlib import Path

from matplotlib.figure import Figure
from matplotlib.ticker import MaxNLocator

from cnnzoo.viz.figures import new_figure, save_png

# Columns of a history that are not curves to compare: the CSVLogger's epoch counter and
# the learning rate that Keras logs when a schedule or callback changes it, and the phase
# of a fine-tuning run (drawn as a boundary instead).
NOT_CURVES = ("epoch", "learning_rate", "lr", "phase")


def read_history(history) -> dict[str, list[float]]:
    """The per-epoch values of a training run as ``{metric: [value per epoch]}``.

    Args:
        history: What ``model.fit`` returns (anything with a ``.history`` mapping), a
            ``history.history`` mapping, or the path of a CSV file as
            ``keras.callbacks.CSVLogger`` writes it (``epoch,accuracy,loss,...``).

    Returns:
        A dict from metric name to floats, without the ``epoch`` column.

    Raises:
        ValueError: For a path that does not exist or anything else that is not a history,
            or a history without any values.

    Example:
        >>> import tempfile, pathlib
        >>> log = pathlib.Path(tempfile.mkdtemp()) / "history.csv"
        >>> _ = log.write_text("epoch,accuracy,loss\\n0,0.5,1.2\\n1,0.75,0.8\\n")
        >>> read_history(log)
        {'accuracy': [0.5, 0.75], 'loss': [1.2, 0.8]}
    """
    if isinstance(history, (str, Path)):
        if not Path(history).is_file():
            raise ValueError(f"history names no file; received history={str(history)!r}.")
        with open(history, newline="") as file:
            rows = list(csv.DictReader(file))
        columns = {name: [row[name] for row in rows] for name in (rows[0] if rows else {})}
    elif isinstance(getattr(history, "history", None), Mapping):
        columns = history.history
    elif isinstance(history, Mapping):
        columns = history
    else:
        raise ValueError(
            "history must be a Keras History, a history.history dict or the path of a "
            f"CSVLogger file; received {type(history).__name__}."
        )
    values = {name: [_number(value) for value in column] for name, column in columns.items()}
    if not any(values.values()):
        raise ValueError(f"history holds no epochs; received columns {sorted(values)}.")
    return {name: column for name, column in values.items() if name != "epoch"}


def _number(value) -> float:
    # CSVLogger writes "NA" for a metric missing from an epoch.
    return math.nan if value in ("", "NA") else float(value)


def learning_curves(history, path: str | Path, *, title: str = "") -> Figure:
    """Draws each metric per epoch, training and validation together, into a PNG.

    One panel per metric, loss first: ``loss`` with ``val_loss``, ``accuracy`` with
    ``val_accuracy``, and so on. Validation curves that climb away from the training curves
    are the picture of overfitting. A ``phase`` column (a fine-tuning run's history) is
    drawn as a dashed line where each new phase begins.

    Args:
        history: A Keras History, a ``history.history`` dict, or the path of a
            ``keras.callbacks.CSVLogger`` file (see :func:`read_history`).
        path: Where to write the PNG.
        title: Figure title.

    Returns:
        The matplotlib ``Figure``, one axis per metric.

    Raises:
        ValueError: For something that is not a history (see :func:`read_history`).

    Example:
        >>> import tempfile, pathlib
        >>> out = pathlib.Path(tempfile.mkdtemp()) / "curves.png"
        >>> history = {"loss": [1.0, 0.5], "accuracy": [0.6, 0.8],
        ...            "val_loss": [1.1, 0.7], "val_accuracy": [0.5, 0.7]}
        >>> [axis.get_title() for axis in learning_curves(history, out).axes]
        ['loss', 'accuracy']
    """
    values = read_history(history)
    metrics = [name for name in values if not name.startswith("val_") and name not in NOT_CURVES]
    metrics.sort(key=lambda name: name != "loss")
    if not metrics:
        raise ValueError(f"history has no training metrics to draw; received {sorted(values)}.")
    figure = new_figure(5 * len(metrics), 4)
    axes = figure.subplots(1, len(metrics), squeeze=False)[0]
    for axis, metric in zip(axes, metrics, strict=True):
        epochs = range(1, len(values[metric]) + 1)
        axis.plot(epochs, values[metric], marker="o", label="train")
        if f"val_{metric}" in values:
            axis.plot(epochs, values[f"val_{metric}"], marker="o", label="validation")
        phases = values.get("phase", [])
        for epoch, (before, after) in enumerate(itertools.pairwise(phases), start=1):
            if before != after:  # a new fine-tuning phase starts after this epoch
                axis.axvline(epoch + 0.5, color="gray", linestyle="--", linewidth=1)
        axis.set_xlabel("epoch")
        axis.xaxis.set_major_locator(MaxNLocator(integer=True))
        axis.set_title(metric)
        axis.grid(alpha=0.3)
        axis.legend()
    return save_png(figure, path, title=title)
