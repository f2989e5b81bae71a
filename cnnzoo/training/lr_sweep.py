"""The learning-rate range test (Smith, "Cyclical Learning Rates for Training Neural
Networks", 2015/2017): train for a few dozen batches while the learning rate grows
exponentially, watch the loss, and read a good rate off the curve.

:func:`sweep` runs the test on a copy of a model; :func:`suggest_learning_rate` reads the
curve; :class:`LearningRateSweep` holds both and draws them.
:func:`~cnnzoo.training.find_learning_rate` and ``train(learning_rate="auto")`` are built
on them.
"""

from __future__ import annotations

import csv
import io
import math
from dataclasses import dataclass
from pathlib import Path

import keras
import numpy as np
from matplotlib.figure import Figure

from cnnzoo.checks import check_choice, is_int
from cnnzoo.files import write_text
from cnnzoo.viz.figures import new_figure, save_png

RULES = ("minimum/10", "minimum/4", "valley", "steepest")
# fastai's lr_find defaults (start_lr, end_lr, num_it, the recorder's beta, and the 4x
# divergence test): a range wide enough for SGD and Adam alike.
MIN_LR, MAX_LR, NUM_STEPS, SMOOTHING, DIVERGE_FACTOR = 1e-7, 10.0, 100, 0.98, 4.0
PLOT_FILE = "lr_find.png"


def sweep_rates(min_lr: float, max_lr: float, num_steps: int) -> np.ndarray:
    """The rate of each batch: ``min_lr`` to ``max_lr``, evenly spaced in log scale.

    Example:
        >>> sweep_rates(1e-4, 1.0, 5).tolist()
        [0.0001, 0.001, 0.01, 0.1, 1.0]
    """
    return min_lr * (max_lr / min_lr) ** (np.arange(num_steps) / (num_steps - 1))


def smoothing_window(num_steps: int) -> int:
    """The batches :func:`smooth_losses` averages for a sweep of ``num_steps``: about a
    tenth of them, odd so that the window is centred, at least 3.

    Example:
        >>> smoothing_window(100), smoothing_window(30), smoothing_window(10)
        (11, 3, 3)
    """
    return max(3, (num_steps // 10) | 1)


def smooth_losses(losses, window: int) -> np.ndarray:
    """The mean of the ``window`` losses centred on each batch (fewer at the ends).

    A centred mean does not lag: the smoothed curve turns where the losses turn. An
    exponential moving average, what the divergence test watches, trails by up to
    ``smoothing / (1 - smoothing)`` batches (49 at fastai's 0.98: four decades of a
    100-batch sweep from 1e-7 to 10), which moves the minimum of the curve, and every
    rate read off it, far to the right of where the loss really turned.

    Example:
        >>> smooth_losses([3.0, 2.0, 1.0, 4.0], 3).tolist()
        [2.5, 2.0, 2.3333333333333335, 2.5]
    """
    losses = np.asarray(losses, dtype="float64")
    sums = np.concatenate([[0.0], np.cumsum(losses)])
    index = np.arange(len(losses))
    low = np.maximum(index - window // 2, 0)
    high = np.minimum(index + window // 2 + 1, len(losses))
    return (sums[high] - sums[low]) / (high - low)


def default_rule(optimizer) -> str:
    """The rule a sweep with ``optimizer`` reads its suggestion by when none is given:
    ``"minimum/4"`` for SGD, ``"minimum/10"`` for every other (adaptive) optimizer, the
    ones that trained at least as well as Keras' default rate in the measurements of
    docs/guides/learning-rate.md (with Adam, a quarter of the minimum's rate was 1 to 3
    points worse on ResNet-20; with SGD, a tenth was 17 points worse).

    Example:
        >>> default_rule("adam"), default_rule("sgd"), default_rule(keras.optimizers.SGD())
        ('minimum/10', 'minimum/4', 'minimum/4')
    """
    name = optimizer if isinstance(optimizer, str) else type(optimizer).__name__
    return "minimum/4" if name.lower() == "sgd" else "minimum/10"


def suggest_learning_rate(rates, smoothed, rule: str = "minimum/10") -> tuple[float, int]:
    """The suggested rate of a sweep, and the index of the batch it comes from.

    As fastai does, the first tenth of the curve (where the loss is still settling) and
    its last five points (the divergence) are left out first when the curve is long
    enough. Then, on the smoothed curve (:func:`smooth_losses`: no lag):

    - ``"minimum/10"`` (the default; a sweep's for every optimizer but SGD, see
      :func:`default_rule`): the rate of the lowest smoothed loss, divided by 10 (fastai's
      ``lr_min``). The rate at the minimum is already on the edge of divergence.
    - ``"minimum/4"`` (a sweep's with SGD): the same rate divided by 4, the low end of
      the good range by Smith (2017), who puts it at a third to a quarter of that rate.
    - ``"valley"`` (fastai's default since 2021): the longest stretch over which the
      smoothed loss keeps falling (its longest decreasing subsequence), and the rate
      halfway down it. On a sweep that starts with a long flat stretch (Adam from 1e-7)
      the stretch starts in the flat part, and the rate is a cautious one.
    - ``"steepest"``: the rate where the smoothed loss falls fastest per decade; a noisy
      curve can put it anywhere.

    Every rule is deterministic: the same curve gives the same rate.

    Args:
        rates: The learning rate of each batch.
        smoothed: The smoothed loss of each batch.
        rule: One of :data:`RULES`.

    Returns:
        ``(rate, index)``: the rate, and the index of the batch whose point the plot marks.

    Raises:
        ValueError: For an unknown rule, or curves of different lengths or under 2 points.

    Example:
        >>> rates = [1e-4, 1e-3, 1e-2, 1e-1, 1.0, 10.0]
        >>> smoothed = [2.3, 2.0, 1.2, 0.9, 1.5, 9.0]
        >>> suggest_learning_rate(rates, smoothed)
        (0.01, 3)
        >>> suggest_learning_rate(rates, smoothed, "minimum/4")
        (0.025, 3)
        >>> suggest_learning_rate(rates, smoothed, "valley")
        (0.001, 1)
        >>> suggest_learning_rate(rates, smoothed, "steepest")
        (0.01, 2)
    """
    check_choice("rule", rule, RULES)
    rates, smoothed = np.asarray(rates, dtype="float64"), np.asarray(smoothed, dtype="float64")
    if rates.shape != smoothed.shape or rates.ndim != 1 or len(rates) < 2:
        raise ValueError(
            "rates and smoothed must be curves of the same length, at least 2 points; "
            f"received {len(rates)} rates and {len(smoothed)} losses."
        )
    start, stop = (len(rates) // 10, len(rates) - 5) if len(rates) >= 20 else (0, len(rates))
    losses = smoothed[start:stop]
    if rule.startswith("minimum/"):
        index = int(np.argmin(losses))
        return float(rates[start + index] / int(rule.split("/")[1])), start + index
    if rule == "steepest":
        slopes = np.gradient(losses, np.log10(rates[start:stop]))
        index = int(np.argmin(slopes))
    else:
        index = _valley(losses)
    return float(rates[start + index]), start + index


def _valley(losses: np.ndarray) -> int:
    """fastai's ``valley``: the index halfway down the longest decreasing subsequence."""
    lengths = np.ones(len(losses), dtype=int)  # of the longest one ending at each point
    best_end = 0
    for i in range(1, len(losses)):
        earlier = lengths[:i][losses[:i] > losses[i]]
        if len(earlier):
            lengths[i] = earlier.max() + 1
        if lengths[i] > lengths[best_end]:
            best_end = i
    best_start = best_end - lengths[best_end] + 1
    third = (best_end - best_start) / 3
    return int(best_start + int(third) + int(third / 2))  # fastai's arithmetic


@dataclass(frozen=True)
class LearningRateSweep:
    """What a learning-rate sweep saw and suggests.

    Attributes:
        learning_rates: The rate of each batch trained, exponentially spaced.
        losses: The loss of each batch (before that batch's update).
        smoothed: ``losses`` smoothed by :func:`smooth_losses` (a centred mean over a
            tenth of ``num_steps``): the curve the suggestion is read off.
        suggestion: The suggested learning rate.
        suggestion_index: The batch the suggestion comes from (marked on the plot).
        rule: The rule that made the suggestion (see :func:`suggest_learning_rate`).
        stop_reason: ``"completed"`` (every step ran), ``"diverged"`` (the loss's moving
            average passed ``diverge_factor`` times its best) or ``"non-finite loss"``.
        min_lr: The first rate of the sweep.
        max_lr: The last rate it would have reached.
        num_steps: The batches it would have run.
    """

    learning_rates: tuple[float, ...]
    losses: tuple[float, ...]
    smoothed: tuple[float, ...]
    suggestion: float
    suggestion_index: int
    rule: str
    stop_reason: str
    min_lr: float
    max_lr: float
    num_steps: int

    @property
    def steps(self) -> int:
        """Batches trained before the sweep ended."""
        return len(self.losses)

    def describe(self) -> str:
        """One line: the suggestion and how the sweep went.

        Example:
            >>> print(LearningRateSweep((1e-3, 1e-2), (2.0, 1.0), (2.0, 1.5), 1e-3, 0,
            ...                         "valley", "completed", 1e-3, 1e-2, 2).describe())
            suggested learning rate 0.001 (valley rule; 2 of 2 steps from 0.001 to 0.01, completed)
        """
        return (
            f"suggested learning rate {self.suggestion:.3g} ({self.rule} rule; {self.steps} "
            f"of {self.num_steps} steps from {self.min_lr:g} to {self.max_lr:g}, "
            f"{self.stop_reason})"
        )

    def record(self) -> dict:
        """The suggestion and the sweep's settings, as ``config.json`` keeps them."""
        return {
            "learning_rate": self.suggestion, "rule": self.rule, "min_lr": self.min_lr,
            "max_lr": self.max_lr, "num_steps": self.num_steps, "steps": self.steps,
            "stop_reason": self.stop_reason,
        }  # fmt: skip

    def plot(self, path: str | Path, *, title: str = "") -> Figure:
        """Draws the loss against the learning rate (log scale), raw and smoothed, with
        the suggestion (a dashed line) and the point of the curve it was read off (a dot:
        for the ``"minimum/N"`` rules, N times the suggestion) marked, into a PNG.

        Returns:
            The matplotlib ``Figure``.
        """
        figure = new_figure(6.5, 4.2)
        axis = figure.subplots()
        rates, smoothed = np.asarray(self.learning_rates), np.asarray(self.smoothed)
        axis.plot(rates, self.losses, color="tab:blue", alpha=0.3, label="loss per batch")
        axis.plot(rates, smoothed, color="tab:blue", label="smoothed loss")
        point = rates[self.suggestion_index], smoothed[self.suggestion_index]
        label = f"suggested: {self.suggestion:.3g} ({self.rule})"
        axis.axvline(self.suggestion, color="tab:red", linestyle="--", linewidth=1.2, label=label)
        where = self.rule
        if self.rule.startswith("minimum/"):
            where = f"lowest smoothed loss (rate / {self.rule.split('/')[1]} suggested)"
        axis.plot(*point, marker="o", color="tab:red", markersize=8, zorder=3, linestyle="",
                  label=where)  # fmt: skip
        # From the lowest batch to the start's level, with room for the climb: a diverged
        # tail would otherwise squash the part of the curve worth reading.
        start = float(np.max(smoothed[: len(smoothed) // 10 + 1]))
        low = float(min(np.min(self.losses), np.min(smoothed)))
        high = min(float(np.max(smoothed)), start + 0.5 * abs(start))
        margin = 0.05 * (high - low) or 0.05 * abs(high) or 0.05
        axis.set_ylim(low - margin, high + margin)
        axis.set_xscale("log")
        axis.set_xlabel("learning rate")
        axis.set_ylabel("loss")
        axis.grid(alpha=0.3, which="both")
        axis.legend()
        return save_png(figure, path, title=title or f"Learning-rate sweep ({self.stop_reason})")

    def save(self, folder: str | Path, *, stem: str = "lr_find") -> None:
        """Writes ``{stem}.png`` (the plot) and ``{stem}.csv`` (rate, loss and smoothed
        loss per batch) into ``folder``."""
        folder = Path(folder)
        self.plot(folder / f"{stem}.png")
        text = io.StringIO()
        writer = csv.writer(text, lineterminator="\n")
        writer.writerow(["step", "learning_rate", "loss", "smoothed_loss"])
        rows = zip(self.learning_rates, self.losses, self.smoothed, strict=True)
        for step, row in enumerate(rows):
            writer.writerow([step, *(repr(float(value)) for value in row)])
        write_text(folder / f"{stem}.csv", text.getvalue())


def check_sweep(
    min_lr=MIN_LR, max_lr=MAX_LR, num_steps=NUM_STEPS, smoothing=SMOOTHING,
    diverge_factor=DIVERGE_FACTOR, rule=None,
) -> None:  # fmt: skip
    """Refuses bad sweep settings, naming the argument, the value and what is allowed.

    Example:
        >>> check_sweep(max_lr=-1.0)
        Traceback (most recent call last):
        ...
        ValueError: max_lr must be a number above min_lr (1e-07); received max_lr=-1.0.
    """

    def number(value) -> bool:
        return isinstance(value, (int, float)) and not isinstance(value, bool)

    if not number(min_lr) or not 0 < min_lr < math.inf:
        raise ValueError(f"min_lr must be a number > 0; received min_lr={min_lr!r}.")
    if not number(max_lr) or not min_lr < max_lr < math.inf:
        raise ValueError(
            f"max_lr must be a number above min_lr ({min_lr:g}); received max_lr={max_lr!r}."
        )
    if not is_int(num_steps) or num_steps < 2:
        raise ValueError(f"num_steps must be an int >= 2; received num_steps={num_steps!r}.")
    if not number(smoothing) or not 0 <= smoothing < 1:
        raise ValueError(f"smoothing must be a number in [0, 1); received smoothing={smoothing!r}.")
    if not number(diverge_factor) or not diverge_factor > 1:
        raise ValueError(
            f"diverge_factor must be a number > 1; received diverge_factor={diverge_factor!r}."
        )
    if rule is not None:
        check_choice("rule", rule, RULES)


class _Recorder(keras.callbacks.Callback):
    """Each batch's loss (Keras logs the mean so far: undone here), and the stop when its
    exponential moving average (bias-corrected, as in Adam) runs away: a causal average,
    since it decides while the sweep runs."""

    def __init__(self, smoothing: float, diverge_factor: float):
        super().__init__()
        self.smoothing, self.diverge_factor = smoothing, diverge_factor
        self.losses = []
        self.stop_reason = "completed"
        self._mean, self._average, self._best = 0.0, 0.0, math.inf

    def on_train_batch_end(self, batch, logs=None):
        mean = float(keras.ops.convert_to_numpy((logs or {})["loss"]))
        count = len(self.losses) + 1
        loss = count * mean - (count - 1) * self._mean  # this batch's, from the running mean
        self._mean = mean
        if not math.isfinite(loss):
            self.stop_reason = "non-finite loss"
            self.model.stop_training = True
            return
        beta = self.smoothing
        self._average = beta * self._average + (1 - beta) * loss
        smoothed = self._average / (1 - beta**count)
        self.losses.append(loss)
        if smoothed > self.diverge_factor * self._best:
            self.stop_reason = "diverged"
            self.model.stop_training = True
        self._best = min(self._best, smoothed)


def sweep(
    model: keras.Model, batches, *, loss, optimizer: str = "adam", min_lr: float = MIN_LR,
    max_lr: float = MAX_LR, num_steps: int = NUM_STEPS, smoothing: float = SMOOTHING,
    diverge_factor: float = DIVERGE_FACTOR, rule: str | None = None, jit_compile="auto",
) -> LearningRateSweep:  # fmt: skip
    """Runs the range test on a copy of ``model``: ``num_steps`` batches of ``batches``
    (repeated if it is shorter) at rates growing from ``min_lr`` to ``max_lr``, each a
    step of a fresh ``optimizer``; stops early when the loss's exponential moving average
    passes ``diverge_factor`` times its best, or a loss is NaN or infinite. The
    suggestion is read off the losses smoothed without lag (:func:`smooth_losses`).

    The copy (``keras.models.clone_model`` with the same weights, trainable flags and
    dtype policies) takes every update, so ``model``, its weights, batch-norm statistics,
    optimizer and compiled state are left as they were.

    Args:
        model: The model, with the head and the trainable layers it will train with.
        batches: A ``tf.data.Dataset`` of ``(images, labels)`` batches (or
            :class:`~cnnzoo.training.batches.ArrayBatches`).
        loss: The loss it will train with.
        optimizer: A Keras optimizer name.
        min_lr: The first rate.
        max_lr: The last rate.
        num_steps: Batches of the sweep.
        smoothing: Factor of the moving average the divergence test watches (0: none).
        diverge_factor: Stop when that average exceeds this times its best.
        rule: How to suggest a rate (see :func:`suggest_learning_rate`); ``None``: the
            optimizer's :func:`default_rule`.
        jit_compile: As ``Model.compile`` takes it.

    Returns:
        A :class:`LearningRateSweep`.

    Raises:
        ValueError: For bad settings, or a sweep that diverged before two batches.
    """
    check_sweep(min_lr, max_lr, num_steps, smoothing, diverge_factor, rule)
    copy = keras.models.clone_model(model)
    copy.set_weights(model.get_weights())
    rates = sweep_rates(min_lr, max_lr, num_steps)
    # lr(step) = min_lr * (max_lr / min_lr) ** (step / (num_steps - 1)): rates[step] exactly.
    schedule = keras.optimizers.schedules.ExponentialDecay(
        min_lr, decay_steps=num_steps - 1, decay_rate=max_lr / min_lr
    )
    rated = {"class_name": optimizer, "config": {"learning_rate": schedule}}
    copy.compile(
        optimizer=keras.optimizers.get(rated),
        loss=loss,
        steps_per_execution=1,
        jit_compile=jit_compile,
    )
    recorder = _Recorder(smoothing, diverge_factor)
    if hasattr(batches, "as_dataset"):  # ArrayBatches: fit cannot repeat them
        batches = batches.as_dataset()
    copy.fit(batches.repeat(), steps_per_epoch=num_steps, epochs=1, verbose=0, callbacks=[recorder],
             shuffle=False)  # fmt: skip
    if len(recorder.losses) < 2:
        raise ValueError(
            f"The sweep's loss ran away within {len(recorder.losses) + 1} batch(es) from "
            f"min_lr={min_lr:g}; start it lower."
        )
    taken = rates[: len(recorder.losses)]
    smoothed = smooth_losses(recorder.losses, smoothing_window(num_steps))
    rule = rule or default_rule(optimizer)
    suggestion, index = suggest_learning_rate(taken, smoothed, rule)
    return LearningRateSweep(
        tuple(float(rate) for rate in taken), tuple(recorder.losses),
        tuple(float(loss) for loss in smoothed),
        suggestion, index, rule, recorder.stop_reason, float(min_lr), float(max_lr), num_steps,
    )  # fmt: skip


__all__ = [
    "RULES", "LearningRateSweep", "default_rule", "smooth_losses", "smoothing_window",
    "suggest_learning_rate", "sweep", "sweep_rates",
]  # fmt: skip
