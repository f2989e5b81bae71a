"""``find_learning_rate``: the learning-rate range test on the data, batches, optimizer and
loss that :func:`~cnnzoo.training.train` would use (what ``cnnzoo lr-find`` runs)."""

from __future__ import annotations

from pathlib import Path

import keras

from cnnzoo.checks import check_positive_int, check_rate
from cnnzoo.training.coordinator import Coordinator
from cnnzoo.training.lr_sweep import (
    DIVERGE_FACTOR,
    MAX_LR,
    MIN_LR,
    NUM_STEPS,
    SMOOTHING,
    LearningRateSweep,
    check_sweep,
    sweep,
)
from cnnzoo.training.run import make_model, run_batches, run_loss
from cnnzoo.training.sources import check_source
from cnnzoo.training.steps import check_model


def find_learning_rate(
    model: str | keras.Model, data: str | Path = "mnist-sample", *, batch_size: int = 32,
    optimizer: str = "adam", label_smoothing: float = 0.0, augment=None,
    validation_split: float = 0.2, seed: int = 0, model_kwargs: dict | None = None,
    min_lr: float = MIN_LR, max_lr: float = MAX_LR, num_steps: int = NUM_STEPS,
    smoothing: float = SMOOTHING, diverge_factor: float = DIVERGE_FACTOR, rule: str | None = None,
) -> LearningRateSweep:  # fmt: skip
    """Suggests a learning rate by the range test of Smith (2015/2017).

    Trains for ``num_steps`` batches of the training split while the rate grows
    exponentially from ``min_lr`` to ``max_lr`` (one rate per batch), with the batches,
    optimizer and loss :func:`~cnnzoo.training.train` would use for the same arguments;
    records each batch's loss; stops early when the loss's exponential moving average
    (bias-corrected) passes ``diverge_factor`` times its best; and reads a rate off the
    losses smoothed without lag, by ``rule``
    (see :func:`~cnnzoo.training.lr_sweep.suggest_learning_rate`).

    The sweep trains a copy of the model: a ``keras.Model`` passed in keeps its weights,
    its optimizer's state and its compiled state. ``train(learning_rate="auto")`` runs the
    same sweep, with these defaults, before its first epoch.

    Args:
        model: A registered model name (built for the data's classes) or a ``keras.Model``.
        data: ``"mnist-sample"``, a folder of class subfolders, or ``"tfds:NAME"``.
        batch_size: Batch size.
        optimizer: A Keras optimizer name.
        label_smoothing: Label smoothing of the cross-entropy.
        augment: An augmentation preset name or layers, as in training.
        validation_split: Held-out fraction for sources without a validation split (the
            sweep sees the training split only).
        seed: Seed of the weights, the split, the shuffling and the augmentation.
        model_kwargs: Arguments of the model's factory.
        min_lr: The first rate (> 0).
        max_lr: The last rate (> ``min_lr``).
        num_steps: Batches of the sweep (>= 2; the training split is repeated if shorter).
        smoothing: Factor of the moving average the divergence test watches, in [0, 1).
        diverge_factor: Stop when that moving average passes this times its best (> 1).
        rule: ``"minimum/10"`` (the lowest smoothed loss's rate / 10), ``"minimum/4"``,
            ``"valley"`` or ``"steepest"``; ``None``: ``"minimum/4"`` for SGD and
            ``"minimum/10"`` for the other optimizers
            (:func:`~cnnzoo.training.lr_sweep.default_rule`).

    Returns:
        A :class:`~cnnzoo.training.LearningRateSweep`: the rates, losses, smoothed losses,
        the suggestion and why the sweep stopped; ``.plot(path)`` draws it.

    Raises:
        ValueError: For a bad setting, data or model, before any data is read or model
            built where it can tell.

    Example:
        >>> found = find_learning_rate("lenet5", num_steps=30, min_lr=1e-5, max_lr=1.0)
        >>> found.steps <= 30, 1e-5 <= found.suggestion <= 1.0
        (True, True)
    """
    check_sweep(min_lr, max_lr, num_steps, smoothing, diverge_factor, rule)
    check_positive_int("batch_size", batch_size)
    check_rate("label_smoothing", label_smoothing)
    check_rate("validation_split", validation_split)
    try:
        keras.optimizers.get(optimizer)
    except ValueError:
        raise ValueError(
            "optimizer must name a Keras optimizer ('adam', 'sgd', 'adamw', 'rmsprop', ...); "
            f"received optimizer={optimizer!r}."
        ) from None
    check_model(model)
    config = {
        "data": check_source(data), "batch_size": batch_size, "seed": seed,
        "label_smoothing": label_smoothing, "validation_split": validation_split,
        "cache": "auto", "mixed_precision": False,
    }  # fmt: skip
    keras.utils.set_random_seed(seed)
    coordinator = Coordinator()
    run_data = coordinator.read_data(config)
    net = make_model(model, model_kwargs or {}, len(run_data.class_names), coordinator, config)
    batches = run_batches(net, run_data, augment, coordinator, config)[0]
    return sweep(
        net, batches, loss=run_loss(config), optimizer=optimizer, min_lr=min_lr, max_lr=max_lr,
        num_steps=num_steps, smoothing=smoothing, diverge_factor=diverge_factor, rule=rule,
    )  # fmt: skip


__all__ = ["find_learning_rate"]
