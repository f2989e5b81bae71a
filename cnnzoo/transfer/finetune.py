"""Two-phase fine-tuning in one call, in memory (:func:`fit_in_phases`): train the new head
on a frozen backbone, then unfreeze the top of the backbone and continue at a lower learning
rate. :func:`cnnzoo.training.finetune` runs the same phases as a resumable run folder."""

from __future__ import annotations

import dataclasses
from collections.abc import Mapping, Sequence
from dataclasses import dataclass, field

import keras

from cnnzoo.checks import check_positive_int, is_int
from cnnzoo.transfer.freezing import FreezeSummary, unfreeze
from cnnzoo.transfer.layer_decay import (
    check_layer_decay,
    layer_decay_optimizer,
    layer_groups,
    learning_rates,
)


@dataclass(frozen=True)
class Phase:
    """One phase of :func:`fit_in_phases`.

    Attributes:
        epochs: Most epochs of the phase (early stopping may end it sooner).
        learning_rate: Learning rate of the phase's fresh optimizer.
        trainable_stages: Number of last stages trained besides the head; 0 trains the
            head alone, ``None`` the whole model. Ignored when ``until`` is given.
        until: Freeze this layer and everything it depends on; train the rest.
        optimizer: Name of a Keras optimizer.
        patience: Early-stopping patience on the validation loss (the training loss
            without validation data); the best epoch's weights are restored. ``None``
            turns early stopping off.
        keep_batchnorm_frozen: Keep batch norm in inference mode in trained stages too.
    """

    epochs: int = 5
    learning_rate: float = 1e-3
    trainable_stages: int | None = 0
    until: str | None = None
    optimizer: str = "adam"
    patience: int | None = 3
    keep_batchnorm_frozen: bool = True


DEFAULT_PHASES = (Phase(), Phase(learning_rate=1e-4, trainable_stages=2))
FIELDS = tuple(f.name for f in dataclasses.fields(Phase))


@dataclass
class FineTuneHistory:
    """The combined history of every phase, epoch by epoch.

    Attributes:
        history: Metric name to per-epoch values over all phases, as ``History.history``.
        phase: The phase (1, 2, ...) of each epoch.
        summaries: What each phase froze and trained.
        phases: The phases as run, defaults filled in.
        learning_rates: Each phase's learning rate per layer group (``{"all": rate}``
            without layer decay), as its optimizer started.
    """

    history: dict[str, list[float]] = field(default_factory=dict)
    phase: list[int] = field(default_factory=list)
    summaries: list[FreezeSummary] = field(default_factory=list)
    phases: list[Phase] = field(default_factory=list)
    learning_rates: list[dict[str, float]] = field(default_factory=list)

    @property
    def epochs(self) -> int:
        return len(self.phase)


def resolve_phases(phases) -> list[Phase]:
    """``phases`` as :class:`Phase` objects, defaults filled in; ``None`` gives the two
    default phases. Raises ``ValueError`` naming a bad phase and setting."""
    if phases is None:
        return list(DEFAULT_PHASES)
    if isinstance(phases, (Phase, Mapping)) or not isinstance(phases, Sequence) or not phases:
        raise ValueError(
            "phases must be a non-empty list of Phase objects or dicts of Phase fields; "
            f"received phases={phases!r}."
        )
    resolved = []
    for index, phase in enumerate(phases):
        if isinstance(phase, Mapping):
            unknown = sorted(set(phase) - set(FIELDS))
            if unknown:
                raise ValueError(
                    f"phases[{index}] has unknown settings {unknown}; known: {', '.join(FIELDS)}."
                )
            phase = dataclasses.replace(DEFAULT_PHASES[min(index, 1)], **phase)
        if not isinstance(phase, Phase):
            raise ValueError(f"phases[{index}] must be a Phase or a dict; received {phase!r}.")
        _check_phase(index, phase)
        resolved.append(phase)
    return resolved


def _check_phase(index: int, phase: Phase) -> None:
    def bad(setting, allowed):
        value = getattr(phase, setting)
        return ValueError(f"phases[{index}].{setting} must be {allowed}; received {value!r}.")

    check_positive_int(f"phases[{index}].epochs", phase.epochs)
    if not isinstance(phase.learning_rate, (int, float)) or phase.learning_rate < 0:
        raise bad("learning_rate", "a number >= 0")
    if phase.patience is not None and (not is_int(phase.patience) or phase.patience < 0):
        raise bad("patience", "None or an int >= 0")
    try:
        keras.optimizers.get(phase.optimizer)
    except ValueError:
        raise bad("optimizer", "the name of a Keras optimizer such as 'adam' or 'sgd'") from None


def _default_loss(model: keras.Model):
    """Sparse categorical cross-entropy, from logits when ``predictions`` has no softmax."""
    try:
        activation = model.get_layer("predictions").activation
    except ValueError:
        activation = None
    from_logits = getattr(activation, "__name__", "") == "linear"
    return keras.losses.SparseCategoricalCrossentropy(from_logits=from_logits)


def fit_in_phases(
    model: keras.Model,
    train,
    validation=None,
    *,
    phases: Sequence[Phase | Mapping] | None = None,
    loss=None,
    metrics: Sequence = ("accuracy",),
    callbacks: Sequence[keras.callbacks.Callback] = (),
    batch_size: int | None = None,
    initial_epoch: int = 0,
    layer_decay: float = 1.0,
    steps_per_execution: int = 1,
    jit_compile: bool | str = "auto",
    verbose: int | str = "auto",
) -> FineTuneHistory:
    """Fine-tunes ``model`` in phases, in memory, by default the two-phase recipe.

    Phase 1 trains the head on a frozen backbone (5 epochs at 1e-3); phase 2 unfreezes
    the last two stages and continues at 1e-4 (5 epochs). Each phase sets what trains
    with :func:`unfreeze` (batch norm kept in inference mode), compiles with a fresh
    optimizer, and stops early when the validation loss stops improving, restoring its
    best weights. Epochs are numbered on across phases, so callbacks such as
    TensorBoard see one run.

    With ``layer_decay`` below 1 each phase's learning rate is the head's, and every
    stage below learns ``layer_decay`` times slower than the one above it (the stem the
    slowest; see :func:`~cnnzoo.transfer.layer_decay_optimizer`): discriminative
    fine-tuning, as in ULMFiT and timm's ``layer_decay``.

    Args:
        model: A model whose head fits the task, e.g. from :func:`replace_head`.
        train: Training data as ``model.fit`` takes it: a ``tf.data.Dataset`` of
            ``(images, labels)`` batches, or an ``(images, labels)`` tuple of arrays.
        validation: Validation data in the same form, or ``None``.
        phases: The phases, as :class:`Phase` objects or dicts that override the
            default phase of the same position (``[{"epochs": 2}, {"epochs": 3}]``).
        loss: Loss; default sparse categorical cross-entropy, from logits when the
            ``predictions`` layer has no activation.
        metrics: Metrics to compile with.
        callbacks: Extra callbacks, given to every phase.
        batch_size: Batch size for array data.
        initial_epoch: Number of the first epoch, for a run that continues earlier ones.
        layer_decay: Factor between the learning rates of successive stages, in (0, 1];
            1 trains every layer at the phase's rate.
        steps_per_execution: Batches per compiled call, as ``Model.compile`` takes it.
        jit_compile: XLA compilation, as ``Model.compile`` takes it.
        verbose: ``model.fit`` verbosity.

    Returns:
        A :class:`FineTuneHistory` with the history of all phases.

    Raises:
        ValueError: For bad phases or ``layer_decay``; as :func:`unfreeze` for bad
            selectors.

    Example:
        >>> import numpy as np
        >>> from cnnzoo import lenet5
        >>> from cnnzoo.transfer import replace_head
        >>> model = replace_head(lenet5(), 3)
        >>> images = np.random.default_rng(0).uniform(0, 1, (8, 32, 32, 1))
        >>> labels = np.arange(8) % 3
        >>> result = fit_in_phases(model, (images, labels), verbose=0,
        ...                        phases=[{"epochs": 1}, {"epochs": 1}])
        >>> result.phase, sorted(result.history)
        ([1, 2], ['accuracy', 'loss'])
    """
    if not isinstance(model, keras.Model):
        raise ValueError(f"model must be a keras.Model; received model={model!r}.")
    if not is_int(initial_epoch) or initial_epoch < 0:
        raise ValueError(f"initial_epoch must be an int >= 0; received {initial_epoch=!r}.")
    check_positive_int("steps_per_execution", steps_per_execution)
    resolved = resolve_phases(phases)
    if check_layer_decay(layer_decay) < 1:
        layer_groups(model)  # a model without stages is refused before any training
    x, y = train if isinstance(train, tuple) else (train, None)
    result = FineTuneHistory(phases=resolved)
    for number, phase in enumerate(resolved, start=1):
        result.summaries.append(
            unfreeze(
                model,
                until=phase.until,
                trainable_stages=None if phase.until else phase.trainable_stages,
                keep_batchnorm_frozen=phase.keep_batchnorm_frozen,
            )
        )
        optimizer = keras.optimizers.get(
            {"class_name": phase.optimizer, "config": {"learning_rate": phase.learning_rate}}
        )
        optimizer = layer_decay_optimizer(model, optimizer, layer_decay)
        result.learning_rates.append(learning_rates(optimizer))
        model.compile(
            optimizer=optimizer,
            loss=loss if loss is not None else _default_loss(model),
            metrics=list(metrics),
            steps_per_execution=steps_per_execution,
            jit_compile=jit_compile,
        )
        stopping = []
        if phase.patience is not None:
            monitor = "val_loss" if validation is not None else "loss"
            stopping.append(
                keras.callbacks.EarlyStopping(
                    monitor, patience=phase.patience, restore_best_weights=True
                )
            )
        history = model.fit(
            x,
            y,
            batch_size=batch_size,
            validation_data=validation,
            initial_epoch=initial_epoch + result.epochs,
            epochs=initial_epoch + result.epochs + phase.epochs,
            callbacks=[*stopping, *callbacks],
            shuffle=y is not None,  # arrays; a dataset shuffles itself
            verbose=verbose,
        )
        for metric, values in history.history.items():
            result.history.setdefault(metric, []).extend(values)
        result.phase.extend([number] * len(history.epoch))
    return result
