"""Numbers about a classifier's predictions: top-k accuracy, per-class precision, recall
and F1, the negative log-likelihood and the expected calibration error. Plain numpy; the
predictions are probabilities ``(n, classes)`` as a softmax head gives them."""

from __future__ import annotations

import numpy as np

from cnnzoo.checks import check_positive_int

# Guo et al. (2017), "On Calibration of Modern Neural Networks": 15 equal-width bins.
ECE_BINS = 15
# A float32 softmax underflows to 0 for classes far below the best; their log stays finite.
SMALLEST_PROBABILITY = float(np.finfo(np.float32).tiny)


def check_predictions(probabilities, labels, *, name: str = "probabilities"):
    """``(probabilities, labels)`` as float64 ``(n, classes)`` and int64 ``(n,)`` arrays.

    Raises:
        ValueError: For scores that are not one row per example, labels that are not class
            indices inside the rows, or different lengths.
    """
    scores = np.asarray(probabilities, dtype="float64")
    classes = np.asarray(labels)
    if scores.ndim != 2 or scores.shape[1] < 2 or not np.all(np.isfinite(scores)):
        raise ValueError(
            f"{name} must be finite scores, one row of at least 2 classes per example; "
            f"received shape {scores.shape}."
        )
    if classes.ndim == 2 and classes.shape[1] == 1:  # CIFAR-style labels (n, 1)
        classes = classes[:, 0]
    if classes.ndim != 1 or len(classes) != len(scores):
        raise ValueError(
            f"labels must be one class index per row of {name} ({len(scores)}); received "
            f"shape {classes.shape}."
        )
    if not np.issubdtype(classes.dtype, np.integer) or (
        classes.size and (classes.min() < 0 or classes.max() >= scores.shape[1])
    ):
        raise ValueError(
            f"labels must be class indices in [0, {scores.shape[1]}); received values like "
            f"{classes[:5].tolist()}."
        )
    return scores, classes.astype("int64")


def top_k_accuracy(probabilities, labels, k: int = 5) -> float:
    """The share of examples whose true class is among the ``k`` highest scores.

    Args:
        probabilities: Scores ``(n, classes)``: probabilities or logits.
        labels: True class indices ``(n,)``.
        k: How many of the best classes count, from 1 to the number of classes.

    Returns:
        A float in [0, 1] (top-1 is the plain accuracy).

    Raises:
        ValueError: For ``k`` outside [1, classes], or as :func:`check_predictions`.

    Example:
        >>> scores = [[0.5, 0.3, 0.2], [0.1, 0.3, 0.6], [0.2, 0.7, 0.1]]
        >>> top_k_accuracy(scores, [1, 2, 0], k=1), top_k_accuracy(scores, [1, 2, 0], k=2)
        (0.3333333333333333, 1.0)
    """
    scores, classes = check_predictions(probabilities, labels)
    check_positive_int("k", k)
    if k > scores.shape[1]:
        raise ValueError(
            f"k must be at most the number of classes ({scores.shape[1]}); received k={k}."
        )
    # Ranked by how many classes score strictly higher: a tie never pushes the class out.
    higher = (scores > scores[np.arange(len(classes)), classes][:, None]).sum(axis=1)
    return float(np.mean(higher < k)) if len(classes) else 0.0


def classification_scores(counts) -> dict[str, np.ndarray]:
    """Per-class ``precision``, ``recall``, ``f1`` and ``support`` from a confusion matrix
    (row: true class, column: predicted, as :func:`cnnzoo.viz.confusion_counts` gives it).

    A class never predicted has precision 0, one never present recall 0, and F1 is 0 where
    both are.

    Example:
        >>> scores = classification_scores([[3, 1], [0, 2]])
        >>> [round(float(v), 3) for v in scores["precision"]], scores["recall"].tolist()
        ([1.0, 0.667], [0.75, 1.0])
        >>> [round(float(v), 3) for v in scores["f1"]]
        [0.857, 0.8]
    """
    counts = np.asarray(counts, dtype="float64")
    if counts.ndim != 2 or counts.shape[0] != counts.shape[1]:
        raise ValueError(f"counts must be a square confusion matrix; received {counts.shape}.")
    hits = np.diag(counts)
    precision = hits / np.maximum(counts.sum(axis=0), 1)
    recall = hits / np.maximum(counts.sum(axis=1), 1)
    total = precision + recall
    f1 = np.divide(2 * precision * recall, total, out=np.zeros_like(total), where=total > 0)
    support = counts.sum(axis=1).astype("int64")
    return {"precision": precision, "recall": recall, "f1": f1, "support": support}


def negative_log_likelihood(probabilities, labels) -> float:
    """The mean of ``-log p(true class)``: what cross-entropy training minimises, and what
    temperature scaling minimises on held-out data.

    Example:
        >>> round(negative_log_likelihood([[0.5, 0.5], [0.9, 0.1]], [0, 0]), 4)
        0.3993
    """
    scores, classes = check_predictions(probabilities, labels)
    chosen = np.maximum(scores[np.arange(len(classes)), classes], SMALLEST_PROBABILITY)
    return float(-np.mean(np.log(chosen))) if len(classes) else 0.0


def reliability_bins(probabilities, labels, bins: int = ECE_BINS) -> dict[str, np.ndarray]:
    """Examples grouped by confidence (the highest probability) into ``bins`` equal-width
    bins over (0, 1], the ``m``-th holding confidences in ``((m-1)/bins, m/bins]``.

    Returns:
        ``edges`` (``bins + 1``), and per bin ``count``, ``accuracy`` (share of correct
        predictions) and ``confidence`` (mean confidence); an empty bin has 0 for both.

    Example:
        >>> table = reliability_bins([[0.9, 0.1], [0.2, 0.8], [0.6, 0.4]], [0, 0, 0], bins=5)
        >>> table["count"].tolist(), table["accuracy"].tolist()
        ([0, 0, 1, 1, 1], [0.0, 0.0, 1.0, 0.0, 1.0])
    """
    scores, classes = check_predictions(probabilities, labels)
    check_positive_int("bins", bins)
    confidence = scores.max(axis=1)
    correct = (scores.argmax(axis=1) == classes).astype("float64")
    # ceil(c * bins) - 1 puts a confidence on an edge into the bin below it, as (a, b].
    index = np.clip(np.ceil(confidence * bins).astype("int64") - 1, 0, bins - 1)
    count = np.bincount(index, minlength=bins)
    sums = {
        "accuracy": np.bincount(index, weights=correct, minlength=bins),
        "confidence": np.bincount(index, weights=confidence, minlength=bins),
    }
    means = {key: value / np.maximum(count, 1) for key, value in sums.items()}
    return {"edges": np.linspace(0.0, 1.0, bins + 1), "count": count, **means}


def expected_calibration_error(probabilities, labels, bins: int = ECE_BINS) -> float:
    """How far confidence is from accuracy: ``sum_m |B_m| / n * |acc(B_m) - conf(B_m)|``
    over the :func:`reliability_bins` (Guo et al. 2017 use 15).

    0 for a perfectly calibrated classifier (of those that say 80%, 80% are right); a
    classifier that always says 95% and is right half the time has 0.45.

    Args:
        probabilities: Probabilities ``(n, classes)`` (each row sums to 1).
        labels: True class indices ``(n,)``.
        bins: Number of equal-width confidence bins.

    Returns:
        A float in [0, 1].

    Raises:
        ValueError: For ``bins`` < 1, or as :func:`check_predictions`.

    Example:
        >>> round(expected_calibration_error([[0.95, 0.05], [0.95, 0.05]], [0, 1]), 6)
        0.45
    """
    table = reliability_bins(probabilities, labels, bins)
    total = max(int(table["count"].sum()), 1)
    gaps = np.abs(table["accuracy"] - table["confidence"]) * table["count"] / total
    return float(gaps.sum())
