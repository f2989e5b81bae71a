"""Learning curves: loss and metrics per epoch, training beside validation."""

from __future__ import annotations

import csv
import itertools
import math
from collections.abc import Mapping, Sequence
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


def best_epoch(values: Mapping[str, Sequence[float]], metric: str) -> int | None:
    """The 1-based epoch at which ``metric`` is best, or ``None`` when it has no value.

    A metric with ``loss`` or ``error`` in its name is best at its lowest, any other
    (``accuracy``, ``auc``, ...) at its highest, as ``keras.callbacks.ModelCheckpoint``
    decides in its ``"auto"`` mode. NaN epochs are skipped; a tie goes to the earliest.

    Args:
        values: Per-epoch values by metric name, as :func:`read_history` returns them.
        metric: The name of the metric to judge by.

    Returns:
        The epoch number (counted from 1), or ``None`` for a missing or all-NaN metric.

    Example:
        >>> best_epoch({"val_accuracy": [0.5, 0.9, 0.8], "val_loss": [1.0, 0.4, 0.3]},
        ...            "val_accuracy")
        2
        >>> best_epoch({"val_loss": [1.0, 0.4, 0.3]}, "val_loss")
        3
    """
    column = [math.nan if value is None else float(value) for value in values.get(metric, [])]
    known = [(value, epoch) for epoch, value in enumerate(column, start=1) if not math.isnan(value)]
    if not known:
        return None
    lowest = any(word in metric for word in ("loss", "error"))
    value = (min if lowest else max)(value for value, _ in known)
    return next(epoch for found, epoch in known if found == value)


def _phase_spans(phases: Sequence[float]) -> list[tuple[object, int, int]]:
    """``(phase, first epoch, last epoch)`` for each run of equal values (epochs from 1)."""
    spans = []
    for phase, group in itertools.groupby(enumerate(phases, start=1), key=lambda pair: pair[1]):
        epochs = [epoch for epoch, _ in group]
        spans.append((phase, epochs[0], epochs[-1]))
    return spans


def _phase_name(phase) -> str:
    if isinstance(phase, float) and phase.is_integer():
        phase = int(phase)  # read_history gives floats; history.csv numbers the phases
    return f"phase {phase}"


def _draw_phases(axis, spans) -> None:
    """Shades every other phase, draws a dashed line where each new one begins and names
    the phases along the top of the panel."""
    for index, (_, first, last) in enumerate(spans):
        if index % 2:
            axis.axvspan(first - 0.5, last + 0.5, color="gray", alpha=0.1, linewidth=0)
        if index:
            axis.axvline(first - 0.5, color="gray", linestyle="--", linewidth=1)
    top = axis.secondary_xaxis("top")
    top.set_xticks(
        [(first + last) / 2 for _, first, last in spans],
        labels=[_phase_name(phase) for phase, _, _ in spans],
        fontsize=9,
    )
    top.tick_params(length=0)


def learning_curves(
    history, path: str | Path, *, title: str = "", best: str | None = "auto"
) -> Figure:
    """Draws each metric per epoch, training and validation together, into a PNG.

    One panel per metric, loss first: ``loss`` with ``val_loss``, ``accuracy`` with
    ``val_accuracy``, and so on. Validation curves that climb away from the training curves
    are the picture of overfitting. The best epoch (see ``best``) is marked in every panel
    with a dotted line, and on the curve that decides it with a star. A ``phase`` column (a
    fine-tuning run's history) names each phase along the top of the panels, shades every
    other one and draws a dashed line where each new phase begins.

    Args:
        history: A Keras History, a ``history.history`` dict, or the path of a
            ``keras.callbacks.CSVLogger`` file (see :func:`read_history`).
        path: Where to write the PNG.
        title: Figure title.
        best: The metric whose best epoch is marked (see :func:`best_epoch`): ``"auto"``
            takes ``val_accuracy``, the one ``cnnzoo.training.train`` keeps its model by,
            else ``val_loss``, else nothing; ``None`` marks nothing.

    Returns:
        The matplotlib ``Figure``, one axis per metric.

    Raises:
        ValueError: For something that is not a history (see :func:`read_history`), or a
            ``best`` that names no metric of it.

    Example:
        >>> import tempfile, pathlib
        >>> out = pathlib.Path(tempfile.mkdtemp()) / "curves.png"
        >>> history = {"loss": [1.0, 0.5, 0.4], "accuracy": [0.6, 0.8, 0.9],
        ...            "val_loss": [1.1, 0.7, 0.8], "val_accuracy": [0.5, 0.7, 0.6]}
        >>> figure = learning_curves(history, out)
        >>> [axis.get_title() for axis in figure.axes if axis.get_title()]
        ['loss', 'accuracy']
        >>> figure.axes[0].get_legend_handles_labels()[1]
        ['train', 'validation', 'best val_accuracy: epoch 2']
    """
    values = read_history(history)
    metrics = [name for name in values if not name.startswith("val_") and name not in NOT_CURVES]
    metrics.sort(key=lambda name: name != "loss")
    if not metrics:
        raise ValueError(f"history has no training metrics to draw; received {sorted(values)}.")
    if best == "auto":
        best = next((name for name in ("val_accuracy", "val_loss") if name in values), None)
    elif best is not None and best not in values:
        raise ValueError(
            f"best must name a metric of the history {sorted(values)}; received best={best!r}."
        )
    marked = best_epoch(values, best) if best is not None else None
    spans = _phase_spans(values["phase"]) if values.get("phase") else []
    figure = new_figure(5 * len(metrics), 4.2 if spans else 4)
    axes = figure.subplots(1, len(metrics), squeeze=False)[0]
    for axis, metric in zip(axes, metrics, strict=True):
        epochs = range(1, len(values[metric]) + 1)
        axis.plot(epochs, values[metric], marker="o", label="train")
        if f"val_{metric}" in values:
            axis.plot(epochs, values[f"val_{metric}"], marker="o", label="validation")
        if spans:
            _draw_phases(axis, spans)
        if marked is not None:
            label = f"best {best}: epoch {marked}"
            axis.axvline(marked, color="black", linestyle=":", linewidth=1.2, label=label)
            if best in (metric, f"val_{metric}"):
                star = {"marker": "*", "markersize": 16, "markeredgecolor": "black"}
                axis.plot(marked, values[best][marked - 1], color="gold", zorder=3, **star)
        axis.set_xlim(0.5, len(epochs) + 0.5)  # half an epoch of room at each end
        axis.set_xlabel("epoch")
        axis.set_ylabel(metric)
        axis.xaxis.set_major_locator(MaxNLocator(integer=True))
        axis.set_title(metric)
        axis.grid(alpha=0.3)
        axis.legend()
    return save_png(figure, path, title=title)
