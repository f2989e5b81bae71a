"""Temperature scaling (Guo et al. 2017): one scalar ``T`` that divides the logits, fitted
on held-out data by minimising the negative log-likelihood. It changes how confident the
model says it is, never which class it picks. The fitted value lives in a run folder's
``calibration.json``, written atomically (:mod:`cnnzoo.files`)."""

from __future__ import annotations

import math
from pathlib import Path

import numpy as np

from cnnzoo.evaluation.metrics import SMALLEST_PROBABILITY, check_predictions
from cnnzoo.files import read_json, write_json

CALIBRATION_FILE = "calibration.json"
# The search interval of fit_temperature: from 20x sharper to 20x softer.
TEMPERATURE_BOUNDS = (0.05, 20.0)
_GOLDEN = (math.sqrt(5) - 1) / 2


def as_logits(scores) -> np.ndarray:
    """Logits from scores: rows that are probability distributions (non-negative, summing
    to 1) become their logs, which differ from the logits only by a constant per row that
    the softmax ignores; other scores are taken to be logits already.

    Example:
        >>> as_logits([[0.5, 0.5]]).tolist(), as_logits([[2.0, -1.0]]).tolist()
        ([[-0.6931471805599453, -0.6931471805599453]], [[2.0, -1.0]])
    """
    scores = np.asarray(scores, dtype="float64")
    if np.all(scores >= 0) and np.allclose(scores.sum(axis=-1), 1.0, atol=1e-3):
        return np.log(np.maximum(scores, SMALLEST_PROBABILITY))
    return scores


def apply_temperature(scores, temperature: float) -> np.ndarray:
    """Probabilities ``softmax(logits / temperature)`` from probabilities or logits (see
    :func:`as_logits`). Above 1 softens the predictions, below 1 sharpens them.

    Raises:
        ValueError: For a temperature that is not a positive finite number.

    Example:
        >>> apply_temperature([[0.8, 0.2]], 2.0).round(4).tolist()
        [[0.6667, 0.3333]]
    """
    _check_temperature(temperature)
    scaled = as_logits(scores) / temperature
    scaled -= scaled.max(axis=-1, keepdims=True)
    exponentials = np.exp(scaled)
    return exponentials / exponentials.sum(axis=-1, keepdims=True)


def fit_temperature(scores, labels, *, bounds: tuple[float, float] = TEMPERATURE_BOUNDS) -> float:
    """The temperature that minimises the negative log-likelihood of ``labels`` under
    ``softmax(logits / T)``: temperature scaling, fitted on held-out data (a validation
    split, never the data it will be judged on).

    The likelihood is convex in ``1 / T``, so a golden-section search over ``1 / T`` in
    ``bounds`` finds the minimum; a result at a bound means the best lies beyond it.

    Args:
        scores: Logits or probabilities ``(n, classes)`` (see :func:`as_logits`).
        labels: True class indices ``(n,)``.
        bounds: ``(lowest, highest)`` temperature searched, positive.

    Returns:
        The temperature ``T`` as a float (1 leaves the predictions as they are).

    Raises:
        ValueError: For no examples, bad bounds, or as
            :func:`~cnnzoo.evaluation.metrics.check_predictions`.

    Example:
        >>> rng = np.random.default_rng(0)
        >>> logits = rng.normal(0, 3, (4000, 5))
        >>> softer = np.exp(logits / 2) / np.exp(logits / 2).sum(axis=1, keepdims=True)
        >>> labels = [rng.choice(5, p=row) for row in softer]  # a model 2x too confident
        >>> round(fit_temperature(logits, labels), 2)  # 2, give or take the sampling
        1.94
    """
    logits, classes = check_predictions(as_logits(scores), labels, name="scores")
    if not len(classes):
        raise ValueError("scores must hold at least one example; received none.")
    low, high = bounds if len(bounds) == 2 else (0, 0)
    if not 0 < low < high < math.inf:
        raise ValueError(f"bounds must be (low, high) with 0 < low < high; received {bounds}.")
    logits = logits - logits.max(axis=1, keepdims=True)
    chosen = logits[np.arange(len(classes)), classes]

    def nll(inverse: float) -> float:  # of softmax(inverse * logits)
        scaled = inverse * logits
        peak = scaled.max(axis=1)
        total = peak + np.log(np.exp(scaled - peak[:, None]).sum(axis=1))
        return float(np.mean(total - inverse * chosen))

    left, right = 1 / high, 1 / low
    inner_left, inner_right = right - _GOLDEN * (right - left), left + _GOLDEN * (right - left)
    left_value, right_value = nll(inner_left), nll(inner_right)
    for _ in range(80):  # the interval shrinks to 0.618**80 of its width: below 1e-16
        if left_value <= right_value:
            right, inner_right, right_value = inner_right, inner_left, left_value
            inner_left = right - _GOLDEN * (right - left)
            left_value = nll(inner_left)
        else:
            left, inner_left, left_value = inner_left, inner_right, right_value
            inner_right = left + _GOLDEN * (right - left)
            right_value = nll(inner_right)
    return float(1 / ((left + right) / 2))


def write_calibration(run: str | Path, temperature: float, **details) -> Path:
    """Writes ``RUN/calibration.json`` atomically: the temperature and ``details`` (what
    it was fitted on, the figures before and after); returns its path."""
    _check_temperature(temperature)
    path = Path(run) / CALIBRATION_FILE
    write_json(path, {"temperature": float(temperature), **details})
    return path


def read_calibration(run: str | Path) -> dict:
    """The contents of ``RUN/calibration.json``.

    Raises:
        ValueError: When the run has no calibration yet (the message says that
            ``cnnzoo evaluate RUN`` fits it), or its file holds no valid temperature.
    """
    path = Path(run) / CALIBRATION_FILE
    calibration = read_json(path)
    if calibration is None:
        raise ValueError(
            f"{run} has no calibration yet ({path.name}): 'cnnzoo evaluate {run}' fits the "
            "temperature on the run's validation split."
        )
    _check_temperature(calibration.get("temperature") if isinstance(calibration, dict) else None)
    return calibration


def _check_temperature(temperature) -> None:
    if (
        not isinstance(temperature, (int, float))
        or isinstance(temperature, bool)
        or not 0 < temperature < math.inf
    ):
        raise ValueError(
            f"temperature must be a positive finite number; received temperature={temperature!r}."
        )
