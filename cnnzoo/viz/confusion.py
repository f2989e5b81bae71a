"""Confusion matrices: which classes a classifier mistakes for which."""

from __future__ import annotations

from collections.abc import Sequence
from pathlib import Path

import numpy as np
from matplotlib.figure import Figure

from cnnzoo.checks import check_positive_int
from cnnzoo.viz.figures import new_figure, save_png

# Beyond this many classes the numbers in the cells no longer fit; the colours remain.
MAX_ANNOTATED_CLASSES = 30


def _labels(values, name: str) -> np.ndarray:
    """Class indices from labels ``(n,)`` or ``(n, 1)``, or from scores ``(n, k)``."""
    array = np.asarray(values)
    if array.ndim == 2 and array.shape[1] > 1:
        return array.argmax(axis=-1)
    if array.ndim == 2:  # CIFAR-style labels (n, 1)
        array = array[:, 0]
    if (
        array.ndim != 1
        or not np.issubdtype(array.dtype, np.number)
        or not np.all(np.mod(array, 1) == 0)
    ):
        raise ValueError(
            f"{name} must be class indices (n,) or one score per class (n, classes); "
            f"received shape {array.shape} with values like {array.ravel()[:3].tolist()}."
        )
    return array.astype("int64")


def _class_count(values) -> int | None:
    array = np.asarray(values)
    return array.shape[-1] if array.ndim == 2 and array.shape[-1] > 1 else None


def confusion_counts(
    y_true, y_pred, num_classes: int | None = None, *, normalize: bool = False
) -> np.ndarray:
    """The confusion matrix: row ``i``, column ``j`` counts class ``i`` predicted as ``j``.

    Args:
        y_true: True classes: indices ``(n,)`` or ``(n, 1)``, or one-hot rows
            ``(n, classes)``.
        y_pred: Predicted classes: indices ``(n,)`` or scores ``(n, classes)`` such as
            ``model.predict`` returns (the highest score is the prediction).
        num_classes: Size of the matrix (default: the width of score rows, else the largest
            class seen plus one).
        normalize: Divide each row by its count, giving per-class recall on the diagonal
            (a class that never occurs keeps a row of zeros).

    Returns:
        An ``int64`` array ``(num_classes, num_classes)``, or ``float64`` when normalized.

    Raises:
        ValueError: For labels of different lengths, labels that are not class indices or
            scores, or a class outside ``[0, num_classes)``.

    Example:
        >>> confusion_counts([0, 0, 1, 2, 2], [0, 1, 1, 2, 0])
        array([[1, 1, 0],
               [0, 1, 0],
               [1, 0, 1]])
        >>> confusion_counts([0, 0, 1], [0, 1, 1], normalize=True)
        array([[0.5, 0.5],
               [0. , 1. ]])
    """
    true, predicted = _labels(y_true, "y_true"), _labels(y_pred, "y_pred")
    if len(true) != len(predicted):
        raise ValueError(
            f"y_true and y_pred must hold the same number of examples; received {len(true)} "
            f"and {len(predicted)}."
        )
    if num_classes is None:
        widths = [n for n in (_class_count(y_true), _class_count(y_pred)) if n is not None]
        seen = int(max(true.max(initial=-1), predicted.max(initial=-1))) + 1
        num_classes = max(widths) if widths else max(seen, 1)
    check_positive_int("num_classes", num_classes)
    for name, labels in (("y_true", true), ("y_pred", predicted)):
        outside = labels[(labels < 0) | (labels >= num_classes)]
        if outside.size:
            raise ValueError(
                f"{name} holds classes outside [0, {num_classes}) for num_classes="
                f"{num_classes}; received {sorted(set(outside.tolist()))[:5]}."
            )
    counts = np.zeros((num_classes, num_classes), dtype="int64")
    np.add.at(counts, (true, predicted), 1)
    if not normalize:
        return counts
    totals = counts.sum(axis=1, keepdims=True)
    return np.divide(counts, totals, out=np.zeros(counts.shape), where=totals > 0)


def confusion_matrix(
    y_true,
    y_pred,
    path: str | Path,
    *,
    class_names: Sequence[str] | None = None,
    normalize: bool = False,
    title: str = "",
) -> Figure:
    """Draws the confusion matrix (true class per row, prediction per column) into a PNG.

    Each cell shows its count (or its share of the row when ``normalize``); the title gives
    the accuracy. The matrix itself is :func:`confusion_counts`.

    Args:
        y_true: True classes (indices or one-hot rows).
        y_pred: Predictions (indices or scores, as ``model.predict`` returns).
        path: Where to write the PNG.
        class_names: One name per class (their number sets the matrix size); default the
            class indices.
        normalize: Show each row's shares instead of counts.
        title: Figure title, before the accuracy.

    Returns:
        The matplotlib ``Figure`` (one axis).

    Raises:
        ValueError: As :func:`confusion_counts`, or for an empty ``class_names``.

    Example:
        >>> import tempfile, pathlib
        >>> out = pathlib.Path(tempfile.mkdtemp()) / "confusion.png"
        >>> figure = confusion_matrix([0, 1, 1], [0, 1, 0], out, class_names=["cat", "dog"])
        >>> [text.get_text() for text in figure.axes[0].texts]
        ['1', '0', '1', '1']
    """
    if class_names is not None and len(class_names) == 0:
        raise ValueError("class_names must name at least one class; received [].")
    num_classes = None if class_names is None else len(class_names)
    counts = confusion_counts(y_true, y_pred, num_classes)
    shown = confusion_counts(y_true, y_pred, len(counts), normalize=True) if normalize else counts
    names = [str(index) for index in range(len(counts))] if class_names is None else class_names
    size = min(max(4.0, 0.45 * len(counts) + 2.0), 20.0)
    figure = new_figure(size, size)
    axis = figure.subplots()
    axis.imshow(shown, cmap="Blues", vmin=0)
    if len(counts) <= MAX_ANNOTATED_CLASSES:
        threshold = shown.max() / 2
        for (row, column), value in np.ndenumerate(shown):
            axis.text(
                column,
                row,
                f"{value:.2f}" if normalize else str(value),
                ha="center",
                va="center",
                fontsize=8,
                color="white" if value > threshold else "black",
            )
    ticks = range(len(counts))
    axis.set_xticks(ticks, labels=names, rotation=90 if len(counts) > 10 else 0)
    axis.set_yticks(ticks, labels=names)
    axis.set_xlabel("predicted")
    axis.set_ylabel("true")
    accuracy = np.trace(counts) / max(counts.sum(), 1)
    heading = f"{title}: accuracy {accuracy:.3f}" if title else f"accuracy {accuracy:.3f}"
    return save_png(figure, path, title=heading)
