"""``train``: one call from a model and a data source to a complete run folder."""

from __future__ import annotations

import contextlib
import json
import math
import shutil
import warnings
from collections.abc import Sequence
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import keras

from cnnzoo.data import pipeline
from cnnzoo.files import write_text
from cnnzoo.models.common_args import check_choice, check_positive_int, check_rate
from cnnzoo.registry import create_model, model_info
from cnnzoo.training.callbacks import (
    RunBackup,
    StopOnNaN,
    TrainingDivergedError,
    TrueStepsProgbar,
    history_rows,
)
from cnnzoo.training.distribute import (
    DATA_PARALLEL,
    OutsideDistribution,
    check_distribution,
    start,
)
from cnnzoo.training.messages import announce, finished_line, resume_line, talks
from cnnzoo.training.run_folder import METRICS_FILE, RunFolder
from cnnzoo.training.sources import check_source, load_run_data
from cnnzoo.viz import learning_curves

SCHEDULES = ("constant", "cosine", "step", "plateau")
DEFAULT_STEPS_PER_EXECUTION = 8  # measured: benchmarks/bench_small.py, part (c)
CACHE_LIMIT = 1 << 30  # cache="auto" keeps decoded images in memory up to 1 GiB a split
MONITOR = "val_accuracy"  # the best model is the one with the best validation accuracy
# The callbacks that write the run folder: process 0's alone.
WRITERS = (RunBackup, keras.callbacks.ModelCheckpoint, keras.callbacks.TensorBoard)


@dataclass(frozen=True)
class TrainResult:
    """A finished run: its folder, the best model, the history and the final metrics.

    In a multi-process run only process 0 writes and reads the run folder; the other
    processes get the model as the last epoch left it (the same weights everywhere), the
    history of this session and no metrics.
    """

    run_dir: Path | None
    model: keras.Model | None
    history: dict[str, list[float]]
    metrics: dict[str, float]

    @property
    def epochs(self) -> int:
        return len(self.history.get("loss", []))


def _settings(distributed: bool, **settings) -> dict[str, Any]:
    check_positive_int("epochs", settings["epochs"])
    check_positive_int("batch_size", settings["batch_size"])
    # Keras' PyTorch trainer takes no other value; with MirroredStrategy, Keras' multi-step
    # TensorFlow function fails (a placeholder left unfed), so those run one step a call.
    single_step = {
        "torch": "on the PyTorch backend",
        "tensorflow": "with distribution on TensorFlow" if distributed else None,
    }.get(keras.backend.backend())
    if settings["steps_per_execution"] is None:
        settings["steps_per_execution"] = 1 if single_step else DEFAULT_STEPS_PER_EXECUTION
    check_positive_int("steps_per_execution", settings["steps_per_execution"])
    if single_step and settings["steps_per_execution"] != 1:
        raise ValueError(
            f"steps_per_execution must be 1 {single_step}; received "
            f"steps_per_execution={settings['steps_per_execution']!r}."
        )
    check_choice("schedule", settings["schedule"], SCHEDULES)
    if not (isinstance(settings["cache"], bool) or settings["cache"] == "auto"):
        raise ValueError(
            f"cache must be 'auto', True or False; received cache={settings['cache']!r}."
        )
    check_rate("label_smoothing", settings["label_smoothing"])
    check_rate("validation_split", settings["validation_split"])
    rate = settings["learning_rate"]
    if isinstance(rate, bool) or not isinstance(rate, (int, float)) or rate <= 0:
        raise ValueError(f"learning_rate must be a number > 0; received learning_rate={rate!r}.")
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


def check_model_name(model) -> None:
    """A name that is not registered is refused before any data is read, with the
    registry's own message (the closest names).

    Example:
        >>> check_model_name("resnet2")
        Traceback (most recent call last):
        ...
        ValueError: Unknown model name 'resnet2'. Closest registered names: resnet20, ...
    """
    if isinstance(model, str):
        model_info(model)


def _build(model, model_kwargs, num_classes: int, mixed_precision: bool, distributed):
    if isinstance(model, keras.Model):
        if mixed_precision:
            raise ValueError("mixed_precision=True needs a model name, built by train itself.")
        if model.output_shape[-1] != num_classes:
            raise ValueError(
                f"The data has {num_classes} classes but model {model.name!r} has "
                f"{model.output_shape[-1]} outputs; build it with num_classes={num_classes}."
            )
        if distributed:  # its variables must be created in the distribution's scope
            copy = keras.models.clone_model(model)
            copy.set_weights(model.get_weights())
            return copy
        return model
    policy = keras.mixed_precision.global_policy()
    if mixed_precision:
        keras.mixed_precision.set_global_policy("mixed_float16")
    try:
        return create_model(model, num_classes=num_classes, **model_kwargs)
    finally:
        keras.mixed_precision.set_global_policy(policy)


def _learning_rate(schedule: str, rate: float, total_steps: int):
    if schedule == "cosine":
        return keras.optimizers.schedules.CosineDecay(rate, decay_steps=total_steps)
    if schedule == "step":  # divide by 10 at half and three quarters of the run
        return keras.optimizers.schedules.PiecewiseConstantDecay(
            [total_steps // 2, 3 * total_steps // 4], [rate, rate / 10, rate / 100]
        )
    return rate


def train(
    model: str | keras.Model,
    data: str | Path = "mnist-sample",
    *,
    out: str | Path | None = None,
    resume: bool = False,
    epochs: int = 10,
    batch_size: int = 32,
    optimizer: str = "adam",
    learning_rate: float = 1e-3,
    schedule: str = "constant",
    label_smoothing: float = 0.0,
    augment=None,
    patience: int | None = 5,
    validation_split: float = 0.2,
    seed: int = 0,
    steps_per_execution: int | None = None,
    cache: bool | str = "auto",
    jit_compile: bool | str = "auto",
    mixed_precision: bool = False,
    model_kwargs: dict | None = None,
    callbacks: Sequence[keras.callbacks.Callback] = (),
    distribution=None,
    verbose: int | str = "auto",
) -> TrainResult:
    """Trains a model on a data source and writes a complete run folder.

    The folder (``out``, default ``runs/<model>-<time>``) holds ``config.json`` (every
    setting, enough to repeat the run), ``model.keras`` (the epoch with the best
    validation accuracy), ``history.csv``, TensorBoard ``logs/``, ``curves.png``,
    ``class_indices.json`` (and a folder's ``data_report.json``), ``metrics.json`` and,
    while the run is unfinished, ``backup/``. A run killed at any point continues from
    its last finished epoch with ``resume=True`` and the same settings, and ends with the
    full number of epochs and one history row per epoch. A loss that becomes NaN stops
    the run with :class:`TrainingDivergedError` and keeps the last backup.

    Unless ``verbose=0``, the run prints one summary line first (model, parameters,
    input size, images and classes per split, backend), the files a folder's scan
    skipped, and where a resumed run continues (or that it is finished).

    Args:
        model: A registered model name (built with the data's class count and
            ``model_kwargs``) or a built ``keras.Model``.
        data: ``"mnist-sample"``, a folder of class subfolders, or ``"tfds:NAME"``.
        out: The run folder.
        resume: Continue the run in ``out``.
        epochs: Epochs of the whole run.
        batch_size: Batch size.
        optimizer: A Keras optimizer name.
        learning_rate: Initial learning rate.
        schedule: ``"constant"``, ``"cosine"`` (decay to 0 over the run), ``"step"``
            (/10 at 50% and 75%) or ``"plateau"`` (/10 when the validation loss stalls).
        label_smoothing: Label smoothing of the cross-entropy.
        augment: An augmentation preset name or layers, applied in training only.
        patience: Early-stopping patience in epochs on the validation accuracy; ``None``
            trains every epoch.
        validation_split: Held-out fraction for sources without a validation split.
        seed: Seed of the weights, the split, the shuffling and the augmentation.
        steps_per_execution: Batches per compiled call; ``None``: 8 (1 on PyTorch, whose
            Keras trainer allows no other). 8 trained LeNet-5 on the sample about 1.35x
            faster than 1 on a 2-core CPU (``benchmarks/bench_small.py``); callbacks that
            act per batch (the progress bar, the NaN check) then run every 8 batches.
        cache: Keep the decoded, resized images in memory after the first epoch.
            ``"auto"``: for image files (a folder, TFDS) whose split fits in 1 GiB at the
            model's input size; arrays are in memory already.
        jit_compile: XLA compilation (``"auto"``: Keras decides).
        mixed_precision: Build the model with the ``mixed_float16`` policy.
        model_kwargs: Arguments of the model's factory, e.g. ``{"dropout": 0.3}``.
        callbacks: More Keras callbacks, run before cnnzoo's own (checkpoint, backup).
        distribution: ``None`` (one device) or ``"data_parallel"``: every local
            accelerator (``MirroredStrategy`` on TensorFlow, ``keras.distribution.
            DataParallel`` on JAX), and several processes on JAX when Keras' variables
            ``KERAS_DISTRIBUTION_JOB_ADDRESSES`` (process 0's ``host:port``),
            ``KERAS_DISTRIBUTION_NUM_PROCESSES`` and ``KERAS_DISTRIBUTION_PROCESS_ID`` are
            set; or a dict (or :class:`~cnnzoo.training.distribute.Cluster`) of
            ``coordinator``, ``num_processes`` and ``process_id``. ``batch_size`` is the
            global batch; each process reads its own share of the data (as many images
            in each, so a few may be left out), and only process 0 writes the run
            folder. Every process runs the same call; a resumed run continues from
            process 0's backup in all of them.
        verbose: ``fit`` verbosity; 0 also silences the lines above.

    Returns:
        A :class:`TrainResult`.

    Raises:
        ValueError: For a bad setting, data source (one with images of a single class
            included) or run folder, or a model that cannot be built with its arguments
            (an unknown name or argument, an input too small): all before anything is
            written, so that the corrected call can use the same folder.
        TrainingDivergedError: When the loss becomes NaN or infinite.

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
    cluster = check_distribution(distribution)
    # First: jax.distributed must start before anything runs on JAX (checking the
    # optimizer's name below creates it).
    distributed = None if cluster is None else start(cluster)
    settings = _settings(
        cluster is not None,
        epochs=epochs, batch_size=batch_size, optimizer=optimizer, learning_rate=learning_rate,
        schedule=schedule, label_smoothing=label_smoothing, augment=augment, patience=patience,
        validation_split=validation_split, seed=seed, steps_per_execution=steps_per_execution,
        cache=cache, jit_compile=jit_compile, mixed_precision=mixed_precision,
    )  # fmt: skip
    if not isinstance(model, (str, keras.Model)):
        raise ValueError(f"model must be a model name or a keras.Model; received model={model!r}.")
    check_model_name(model)
    if augment is not None and not isinstance(augment, str):
        settings["augment"] = repr(augment)  # layers: recorded, not repeatable from the file
    name = model if isinstance(model, str) else model.name
    config = {
        "model": name, "model_kwargs": model_kwargs or {}, "data": check_source(data), **settings,
        "distribution": None if cluster is None else DATA_PARALLEL,
    }  # fmt: skip
    config = json.loads(json.dumps(config, default=repr))  # as it reads back from the file
    together = distributed is not None and distributed.cluster.num_processes > 1
    local_batch = distributed.local_batch_size(batch_size) if distributed else batch_size
    chief = cluster is None or cluster.is_chief
    talk = talks(verbose, chief)
    # Only process 0 writes (and reads) the run folder: checked now, written once the
    # data is read and the model built, so that a refused call leaves nothing behind.
    folder = RunFolder.choose(out, name) if chief else None
    if chief:
        folder.check(config, resume)
    run_dir = folder.path if chief else out and Path(out)
    finished = chief and resume and folder.finished
    if together:
        finished = distributed.agree(finished)
    if finished:  # nothing left to train
        if talk:
            print(finished_line(run_dir, folder.epochs_done, epochs))
        return _finished(run_dir) if chief else TrainResult(run_dir, None, {}, {})

    keras.utils.set_random_seed(seed)
    run_data = load_run_data(
        config["data"], seed=seed, validation_split=validation_split,
        shard=(cluster.process_id, cluster.num_processes) if together else None,
    )  # fmt: skip
    num_classes = len(run_data.class_names)
    scope = distributed.scope if distributed else contextlib.nullcontext
    with scope():
        net = _build(model, model_kwargs or {}, num_classes, mixed_precision, distributed)
    one_hot = label_smoothing > 0

    def batches(split, training):
        return pipeline(
            split, net, training=training, augment=augment if training else None,
            batch_size=local_batch,
            drop_remainder=bool(distributed and distributed.drop_remainder),
            input_range=run_data.input_range, seed=seed, one_hot=one_hot,
            num_classes=num_classes, cache=_cache(cache, split, net),
        )  # fmt: skip

    train_batches = batches(run_data.train, True)
    validation = batches(run_data.validation, False)
    test = batches(run_data.test, False) if run_data.test is not None else None
    steps = int(train_batches.cardinality())
    total_steps = max(1, epochs * steps) if steps > 0 else 10_000
    loss = (
        keras.losses.CategoricalCrossentropy(label_smoothing=label_smoothing) if one_hot
        else keras.losses.SparseCategoricalCrossentropy()
    )  # fmt: skip
    rate = {"learning_rate": _learning_rate(schedule, learning_rate, total_steps)}
    with scope():
        net.compile(
            optimizer=keras.optimizers.get({"class_name": optimizer, "config": rate}),
            loss=loss, metrics=["accuracy"], jit_compile=jit_compile,
            steps_per_execution=settings["steps_per_execution"],
        )  # fmt: skip
        if together:  # now, alike in every process (its variables span them all)
            net.optimizer.build(net.trainable_variables)
    if chief:  # every setting accepted
        folder.create(config, run_data.class_names, run_data.report)
    if talk:
        share = f" (process 0's share of {cluster.num_processes})" if together else ""
        announce("Training", net, run_data, folder.report_path, share)
    callbacks = [*callbacks, *_callbacks(run_dir, learning_rate, schedule, patience, chief)]
    initial_epoch = 0
    if chief:
        backup = RunBackup(run_dir / "backup", run_dir / "history.csv")
        callbacks.append(backup)  # last: an epoch is backed up after all have seen it
        restored = _local_twin(net) if together else net
        initial_epoch = backup.restore(restored)
        if talk and resume:
            print(resume_line(run_dir, initial_epoch, epochs))
    if not any(isinstance(callback, keras.callbacks.ProgbarLogger) for callback in callbacks):
        callbacks.append(TrueStepsProgbar())  # in place of Keras' own, which overshoots
    if together:  # process 0 writes alone, outside the distribution (see the class)
        callbacks = [
            OutsideDistribution(callback) if isinstance(callback, WRITERS) else callback
            for callback in callbacks
        ]
    with scope():
        if together:  # every process starts from process 0's weights and epoch
            initial_epoch = distributed.broadcast_state(
                net, restored if chief else None, initial_epoch
            )
        fitted = net.fit(
            train_batches,
            validation_data=validation,
            epochs=epochs,
            initial_epoch=initial_epoch,
            callbacks=callbacks,
            shuffle=False,  # the pipeline shuffles
            verbose=verbose if chief else 0,
        )
    if not together:
        return _finish(run_dir, net, validation, test)
    # The best epoch's weights from process 0, evaluated by all on their shares.
    best = None
    if chief:
        _keep_last_if_no_best(run_dir, net)
        best = load_run_model(run_dir / "model.keras")
    with scope():
        distributed.broadcast_state(net, best, optimizer=False)
        metrics = _evaluate(net, validation, test)
    if not chief:
        return TrainResult(run_dir, net, fitted.history, {})
    return _write_results(run_dir, best, metrics)


def _local_twin(net: keras.Model) -> keras.Model:
    """A copy of ``net`` made outside any distribution, compiled alike with its optimizer
    built: process 0 reads the backup into it."""
    twin = keras.models.clone_model(net)
    twin.compile(optimizer=type(net.optimizer).from_config(net.optimizer.get_config()))
    twin.optimizer.build(twin.trainable_variables)
    return twin


def _cache(cache, split, net: keras.Model) -> bool:
    """``cache="auto"``: files decoded once, when the split fits in :data:`CACHE_LIMIT`."""
    if cache != "auto":
        return cache
    cardinality = getattr(split, "cardinality", None)
    if cardinality is None:  # arrays: already in memory, nothing to decode again
        return False
    count = int(cardinality())
    pixels = math.prod(size or 1 for size in net.input_shape[1:])
    return count >= 0 and count * pixels * 4 <= CACHE_LIMIT


def _callbacks(run_dir, learning_rate: float, schedule: str, patience, chief: bool) -> list:
    """Every process stops, early or on NaN, and lowers the rate alike (they see the same
    global metrics); only process 0 writes the checkpoint and the logs."""
    callbacks = [StopOnNaN(learning_rate, run_dir / "backup" if chief else None)]
    if chief:
        best = [row[MONITOR] for row in history_rows(run_dir / "history.csv") if MONITOR in row]
        callbacks += [
            keras.callbacks.ModelCheckpoint(
                run_dir / "model.keras", monitor=MONITOR, mode="max", save_best_only=True,
                initial_value_threshold=max(best) if best else None,
            ),
            keras.callbacks.TensorBoard(run_dir / "logs"),
        ]  # fmt: skip
    if patience is not None:
        callbacks.append(keras.callbacks.EarlyStopping(MONITOR, mode="max", patience=patience))
    if schedule == "plateau":
        callbacks.append(keras.callbacks.ReduceLROnPlateau(patience=max(1, (patience or 4) // 2)))
    return callbacks


def _history(run_dir: Path) -> dict[str, list[float]]:
    rows = history_rows(run_dir / "history.csv")
    keys = [key for key in (rows[0] if rows else {}) if key != "epoch"]
    return {key: [row[key] for row in rows] for key in keys}


def load_run_model(path: Path) -> keras.Model:
    """A run's saved model, compiled as it was trained. With mixed precision, Keras warns
    that the loss-scaling optimizer's saved state does not fit a fresh one; that state is
    only needed to continue training, which resumes from the backup instead."""
    with warnings.catch_warnings():
        warnings.filterwarnings("ignore", "Skipping variable loading for optimizer")
        return keras.saving.load_model(path)


def _keep_last_if_no_best(run_dir: Path, net: keras.Model) -> None:
    if not (run_dir / "model.keras").exists():  # only if removed by hand mid-run
        net.save(run_dir / "model.keras")


def _finish(run_dir: Path, net: keras.Model, validation, test) -> TrainResult:
    _keep_last_if_no_best(run_dir, net)
    best = load_run_model(run_dir / "model.keras")
    return _write_results(run_dir, best, _evaluate(best, validation, test))


def _evaluate(model: keras.Model, validation, test) -> dict[str, float]:
    metrics = {}
    for split, batches in (("validation", validation), ("test", test)):
        if batches is not None:
            values = model.evaluate(batches, verbose=0, return_dict=True)
            metrics.update({f"{split}_{key}": float(value) for key, value in values.items()})
    return metrics


def _write_results(run_dir: Path, best: keras.Model, metrics: dict[str, float]) -> TrainResult:
    history = _history(run_dir)
    learning_curves(history, run_dir / "curves.png", title=f"{best.name}: {run_dir.name}")
    write_text(run_dir / METRICS_FILE, json.dumps(metrics, indent=2) + "\n")
    shutil.rmtree(run_dir / "backup", ignore_errors=True)  # finished: metrics.json marks it
    return TrainResult(run_dir, best, history, metrics)


def _finished(run_dir: Path) -> TrainResult:
    metrics = json.loads((run_dir / METRICS_FILE).read_text())
    best = load_run_model(run_dir / "model.keras")
    return TrainResult(run_dir, best, _history(run_dir), metrics)


__all__ = ["SCHEDULES", "TrainResult", "TrainingDivergedError", "train"]
