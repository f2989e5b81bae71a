"""``train``: one call from a model and a data source to a complete run folder."""

from __future__ import annotations

from collections.abc import Sequence
from pathlib import Path
from typing import Any

import keras

from cnnzoo.checks import check_choice, check_positive_int, check_rate
from cnnzoo.data import pipeline
from cnnzoo.registry import create_model
from cnnzoo.training.batches import ArrayBatches, wanted
from cnnzoo.training.callbacks import (
    EpochTensorBoard,
    StopOnNaN,
    TrainingDivergedError,
    TrueStepsProgbar,
)
from cnnzoo.training.cluster import DATA_PARALLEL
from cnnzoo.training.coordinator import Coordinator, coordinate
from cnnzoo.training.lr_sweep import MAX_LR, MIN_LR, NUM_STEPS, PLOT_FILE, sweep
from cnnzoo.training.messages import announce, resume_line, talks, tell_end
from cnnzoo.training.run_folder import LR_FIND_KEY, RUNTIME_KEY, RunFolder, TrainResult
from cnnzoo.training.sources import RunData, check_source
from cnnzoo.training.steps import cached, check_model, runtime, steps_per_call, stored

SCHEDULES = ("constant", "cosine", "step", "plateau")
MONITOR = "val_accuracy"  # the best model is the one with the best validation accuracy


def train(
    model: str | keras.Model, data: str | Path = "mnist-sample", *, out: str | Path | None = None,
    resume: bool = False, epochs: int = 10, batch_size: int = 32, optimizer: str = "adam",
    learning_rate: float | str = 1e-3, schedule: str = "constant", label_smoothing: float = 0.0,
    augment=None, patience: int | None = 5, validation_split: float = 0.2, seed: int = 0,
    steps_per_execution: int | None = None, cache: bool | str = "auto",
    jit_compile: bool | str = "auto", mixed_precision: bool = False,
    model_kwargs: dict | None = None, callbacks: Sequence[keras.callbacks.Callback] = (),
    distribution=None, verbose: int | str = "auto",
) -> TrainResult:  # fmt: skip
    """Trains a model on a data source and writes a complete run folder.

    The folder holds what :class:`~cnnzoo.training.run_folder.RunFolder` lists. A run
    killed at any point continues from its last finished epoch with ``resume=True`` and
    the same settings. Unless ``verbose=0``, it prints a summary line, the files a
    folder's scan skipped, and where a resumed run continues (or that it is finished).

    Args:
        model: A registered model name (built for the data's classes) or a ``keras.Model``.
        data: ``"mnist-sample"``, a folder of class subfolders, or ``"tfds:NAME"``.
        out: The run folder (default ``runs/<model>-<time>``).
        resume: Continue the run in ``out``.
        epochs: Epochs of the whole run.
        batch_size: Batch size (the global batch with ``distribution``).
        optimizer: A Keras optimizer name.
        learning_rate: Initial learning rate, or ``"auto"``: the rate
            :func:`~cnnzoo.training.find_learning_rate` suggests for this model, data,
            batch size and optimizer, found before the first epoch (one process only). Its
            curve goes to ``lr_find.png`` and ``lr_find.csv``, the rate to ``config.json``
            (``"lr_find"``); a resumed run uses that rate without sweeping again.
        schedule: ``"constant"``, ``"cosine"`` (to 0 over the run), ``"step"`` (/10 at 50%
            and 75%) or ``"plateau"`` (/10 when the validation loss stalls).
        label_smoothing: Label smoothing of the cross-entropy.
        augment: An augmentation preset name or layers, applied in training only.
        patience: Early-stopping patience on the validation accuracy (``None``: off).
        validation_split: Held-out fraction for sources without a validation split.
        seed: Seed of the weights, the split, the shuffling and the augmentation.
        steps_per_execution: Batches per compiled call; ``None``: 8 (1 on PyTorch).
        cache: Keep converted images in memory; ``"auto"``: when the split fits in 1 GiB.
        jit_compile: XLA compilation (``"auto"``: Keras decides).
        mixed_precision: Build the model with the ``mixed_float16`` policy.
        model_kwargs: Arguments of the model's factory, e.g. ``{"dropout": 0.3}``.
        callbacks: More Keras callbacks, run before cnnzoo's own (checkpoint, backup).
        distribution: ``None`` (one device), ``"data_parallel"`` or the processes of a
            data-parallel run (see :class:`~cnnzoo.training.cluster.TrainingCluster`).
        verbose: ``fit`` verbosity; 0 also silences the lines above.

    Returns:
        A :class:`TrainResult`.

    Raises:
        ValueError: For a bad setting, data, folder or model, before anything is written.
        TrainingDivergedError: When the loss becomes NaN (the last backup is kept).

    Example:
        >>> import tempfile
        >>> result = train("lenet5", epochs=1, out=tempfile.mkdtemp(), verbose=0,
        ...                model_kwargs={"variant": "modern"})
        >>> sorted(path.name for path in result.run_dir.iterdir())  # doctest: +NORMALIZE_WHITESPACE
        ['class_indices.json', 'config.json', 'curves.png', 'history.csv', 'logs',
         'metrics.json', 'model.keras']
        >>> result.epochs, result.metrics["test_accuracy"] > 0.5
        (1, True)
    """
    coordinator = coordinate(distribution)  # first: JAX's processes join before all else
    config = _config(model, data, model_kwargs, augment, coordinator, dict(
        epochs=epochs, batch_size=batch_size, optimizer=optimizer, learning_rate=learning_rate,
        schedule=schedule, label_smoothing=label_smoothing, augment=augment, patience=patience,
        validation_split=validation_split, seed=seed, steps_per_execution=steps_per_execution,
        cache=cache, jit_compile=jit_compile, mixed_precision=mixed_precision))  # fmt: skip
    talk = talks(verbose, coordinator.is_chief)
    folder = coordinator.open_folder(out, config, resume)
    if coordinator.finished_already(folder, resume):
        return tell_end(coordinator.finished(folder, talk, epochs), talk)
    keras.utils.set_random_seed(seed)
    run_data = coordinator.read_data(config)
    net = _build(model, model_kwargs or {}, len(run_data.class_names), coordinator, config)
    rate, found = _rate(net, run_data, augment, coordinator, config, folder, talk)
    splits = run_batches(net, run_data, augment, coordinator, config, for_fit=True)
    _compile(net, coordinator, config, splits[0], rate)
    # every setting accepted: written now (the finder's rate recorded beside the settings)
    recorded = {RUNTIME_KEY: runtime(net), **({LR_FIND_KEY: found.record()} if found else {})}
    coordinator.create(folder, {**config, **recorded}, run_data)
    if found is not None:
        found.save(folder.path)
    if talk:
        announce("Training", net, run_data, folder.report_path, coordinator.share)
    fitted = _fit(
        net, splits, folder, coordinator, config, callbacks, talk and resume, verbose, rate
    )
    return tell_end(coordinator.finish(folder, net, *splits[1:], fitted.history), talk)


def _config(model, data, model_kwargs, augment, coordinator: Coordinator, settings) -> dict:
    """Every setting checked, as ``config.json`` holds it."""
    settings = _settings(coordinator.engine is not None, **settings)
    name = check_model(model)
    if augment is not None and not isinstance(augment, str):
        settings["augment"] = repr(augment)  # layers: recorded, not repeatable from the file
    config = {
        "model": name, "model_kwargs": model_kwargs or {}, "data": check_source(data),
        **settings, "distribution": None if coordinator.engine is None else DATA_PARALLEL,
    }  # fmt: skip
    coordinator.local_batch_size(settings["batch_size"])  # one that splits between devices
    return stored(config)


def _settings(distributed: bool, **settings) -> dict[str, Any]:
    check_positive_int("epochs", settings["epochs"])
    check_positive_int("batch_size", settings["batch_size"])
    settings["steps_per_execution"] = steps_per_call(settings["steps_per_execution"], distributed)
    check_choice("schedule", settings["schedule"], SCHEDULES)
    if not (isinstance(settings["cache"], bool) or settings["cache"] == "auto"):
        raise ValueError(
            f"cache must be 'auto', True or False; received cache={settings['cache']!r}."
        )
    check_rate("label_smoothing", settings["label_smoothing"])
    check_rate("validation_split", settings["validation_split"])
    rate = settings["learning_rate"]
    if rate == "auto" and distributed:
        raise ValueError(
            "learning_rate='auto' finds the rate in one process; with distribution, run "
            "find_learning_rate (cnnzoo lr-find) first and pass the rate it suggests."
        )
    if rate != "auto" and (
        isinstance(rate, bool) or not isinstance(rate, (int, float)) or rate <= 0
    ):
        raise ValueError(
            f"learning_rate must be a number > 0 or 'auto'; received learning_rate={rate!r}."
        )
    patience = settings["patience"]
    if patience is not None and (
        isinstance(patience, bool) or not isinstance(patience, int) or patience < 0
    ):
        raise ValueError(f"patience must be None or an int >= 0; received patience={patience!r}.")
    try:
        keras.optimizers.get(settings["optimizer"])
    except ValueError:
        raise ValueError(
            "optimizer must name a Keras optimizer ('adam', 'sgd', 'adamw', 'rmsprop', ...); "
            f"received optimizer={settings['optimizer']!r}."
        ) from None
    return settings


def _build(model, model_kwargs, num_classes: int, coordinator: Coordinator, config: dict):
    """The model to train, made in the coordinator's scope."""
    with coordinator.scope():
        return make_model(model, model_kwargs, num_classes, coordinator, config)


def make_model(model, model_kwargs, num_classes: int, coordinator: Coordinator, config: dict):
    """The network a run trains: ``model`` built (a name) or checked (a ``keras.Model``)
    for ``num_classes``. Shared with :func:`~cnnzoo.training.find_learning_rate`, which
    sweeps on what :func:`train` would train."""
    if isinstance(model, keras.Model):
        if config["mixed_precision"]:
            raise ValueError("mixed_precision=True needs a model name, built by train itself.")
        if model.output_shape[-1] != num_classes:
            raise ValueError(
                f"The data has {num_classes} classes but model {model.name!r} has "
                f"{model.output_shape[-1]} outputs; build it with num_classes={num_classes}."
            )
        if coordinator.engine is not None:  # its variables must be created in the scope
            copy = keras.models.clone_model(model)
            copy.set_weights(model.get_weights())
            return copy
        return model
    policy = keras.mixed_precision.global_policy()
    if config["mixed_precision"]:
        keras.mixed_precision.set_global_policy("mixed_float16")
    try:
        return create_model(model, num_classes=num_classes, **model_kwargs)
    finally:
        keras.mixed_precision.set_global_policy(policy)


def run_batches(net, run_data: RunData, augment, coordinator, config: dict, for_fit=False) -> tuple:
    """The training, validation and test batches (test: ``None`` without a test split);
    ``for_fit``: as :class:`~cnnzoo.training.batches.ArrayBatches` where they are faster."""
    one_hot = config["label_smoothing"] > 0
    arrays = for_fit and wanted(augment, coordinator.engine is not None)

    def batches(split, training):
        cache = cached(config["cache"], split, net)
        in_memory = arrays and cache
        batch_size = coordinator.local_batch_size(config["batch_size"])
        dataset = pipeline(
            split, net, training=training and not in_memory,
            augment=augment if training else None, batch_size=batch_size,
            drop_remainder=coordinator.drop_remainder, input_range=run_data.input_range,
            seed=config["seed"], one_hot=one_hot, num_classes=len(run_data.class_names),
            cache=cache and not in_memory,
        )  # fmt: skip
        if in_memory:
            return ArrayBatches.read(dataset, batch_size, shuffle=training, seed=config["seed"])
        return dataset

    train_batches = batches(run_data.train, True)
    validation = batches(run_data.validation, False)
    test = batches(run_data.test, False) if run_data.test is not None else None
    return train_batches, validation, test


def run_loss(config: dict) -> keras.losses.Loss:
    """The run's loss: sparse cross-entropy, or with ``label_smoothing`` the categorical
    one (labels one-hot)."""
    smoothing = config["label_smoothing"]
    return (
        keras.losses.CategoricalCrossentropy(label_smoothing=smoothing) if smoothing > 0
        else keras.losses.SparseCategoricalCrossentropy()
    )  # fmt: skip


def _rate(net, run_data, augment, coordinator, config, folder, talk) -> tuple:
    """``(initial rate, sweep)``: the configured rate, or for ``"auto"`` the one recorded
    by the run being resumed (sweep ``None``), or else a new sweep's suggestion."""
    if config["learning_rate"] != "auto":
        return config["learning_rate"], None
    recorded = folder.recorded(LR_FIND_KEY)
    if recorded is not None:
        if talk:
            print(f"Learning rate {recorded['learning_rate']:.3g}, found when the run started.")
        return recorded["learning_rate"], None
    if talk:
        print(f"Finding the learning rate: up to {NUM_STEPS} batches from {MIN_LR:g} to "
              f"{MAX_LR:g} ...")  # fmt: skip
    found = sweep(
        net, run_batches(net, run_data, augment, coordinator, config)[0], loss=run_loss(config),
        optimizer=config["optimizer"], jit_compile=config["jit_compile"],
    )  # fmt: skip
    if talk:
        print(f"Learning-rate finder: {found.describe()}; curve in {PLOT_FILE}.")
    return found.suggestion, found


def _compile(net: keras.Model, coordinator: Coordinator, config: dict, batches, rate) -> None:
    steps = len(batches) if isinstance(batches, ArrayBatches) else int(batches.cardinality())
    total_steps = max(1, config["epochs"] * steps) if steps > 0 else 10_000
    rate = _learning_rate(config["schedule"], rate, total_steps)
    coordinator.compile(
        net, {"class_name": config["optimizer"], "config": {"learning_rate": rate}},
        loss=run_loss(config), metrics=["accuracy"], jit_compile=config["jit_compile"],
        steps_per_execution=config["steps_per_execution"],
    )  # fmt: skip


def _learning_rate(schedule: str, rate: float, total_steps: int):
    if schedule == "cosine":
        return keras.optimizers.schedules.CosineDecay(rate, decay_steps=total_steps)
    if schedule == "step":  # divide by 10 at half and three quarters of the run
        return keras.optimizers.schedules.PiecewiseConstantDecay(
            [total_steps // 2, 3 * total_steps // 4], [rate, rate / 10, rate / 100]
        )
    return rate


def _fit(net, splits, folder, coordinator, config, callbacks, tell_resume, verbose, rate):
    """Trains from the folder's backup (process 0's, in every process) to the last epoch."""
    callbacks = [*callbacks, *_callbacks(folder, config, rate)]
    backup = folder.backup(monitor=MONITOR) if folder is not None else None
    restored, initial_epoch = coordinator.restore(net, backup)
    if backup is not None:
        callbacks.append(backup)  # last: an epoch is backed up after all have seen it
    if tell_resume:
        print(resume_line(folder.path, initial_epoch, config["epochs"]))
    if verbose != 0 and not any(
        isinstance(callback, keras.callbacks.ProgbarLogger) for callback in callbacks
    ):
        callbacks.append(TrueStepsProgbar())  # in place of Keras' own, which overshoots
    return coordinator.fit(
        net, splits[0], restored, initial_epoch, callbacks, validation_data=splits[1],
        epochs=config["epochs"], shuffle=False,  # the pipeline shuffles
        verbose=verbose if coordinator.is_chief else 0,
    )  # fmt: skip


def _callbacks(folder: RunFolder | None, config: dict, rate: float) -> list:
    """Every process stops, early or on NaN, and lowers the rate alike (they see the same
    global metrics); only process 0 (which has the folder) writes the logs. The best
    epoch's weights are kept by the backup (see :class:`~cnnzoo.training.callbacks.RunBackup`)."""
    patience = config["patience"]
    callbacks = [StopOnNaN(rate, folder.backup_dir if folder else None)]
    if folder is not None:
        callbacks.append(EpochTensorBoard(folder.path / "logs"))
    if patience is not None:
        callbacks.append(keras.callbacks.EarlyStopping(MONITOR, mode="max", patience=patience))
    if config["schedule"] == "plateau":
        callbacks.append(keras.callbacks.ReduceLROnPlateau(patience=max(1, (patience or 4) // 2)))
    return callbacks


__all__ = ["SCHEDULES", "TrainResult", "TrainingDivergedError", "train"]
