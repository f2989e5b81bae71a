"""``finetune``: a pretrained model, a new head and two-phase fine-tuning, as a run folder
that survives interruption (what ``cnnzoo finetune`` runs)."""

from __future__ import annotations

import dataclasses
import json
from collections.abc import Mapping, Sequence
from pathlib import Path

import keras
import numpy as np

from cnnzoo.checks import check_choice, check_positive_int, check_rate
from cnnzoo.data import pipeline
from cnnzoo.files import write_text
from cnnzoo.models.common_args import with_pretrained_arguments
from cnnzoo.pretrained.sources import is_tag, resolve
from cnnzoo.registry import create_model
from cnnzoo.training.batches import ArrayBatches, wanted
from cnnzoo.training.callbacks import (
    EpochTensorBoard,
    PhaseBackup,
    PhaseHeader,
    StopOnNaN,
    save_weights_atomically,
)
from cnnzoo.training.coordinator import Coordinator
from cnnzoo.training.lr_sweep import sweep
from cnnzoo.training.messages import announce, talks, tell_end
from cnnzoo.training.run_folder import (
    CONFIG_FILE,
    LR_FIND_KEY,
    RUNTIME_KEY,
    RunFolder,
    TrainResult,
    save_model,
)
from cnnzoo.training.sources import RunData, check_source
from cnnzoo.training.steps import cached, check_model, runtime, steps_per_call, stored
from cnnzoo.transfer import fit_in_phases, replace_head
from cnnzoo.transfer.finetune import Phase, _default_loss, resolve_phases
from cnnzoo.transfer.freezing import unfreeze
from cnnzoo.transfer.imagenet import imagenet_preprocessing, load_pretrained
from cnnzoo.transfer.layer_decay import check_layer_decay, layer_decay_factors

# The rate an "auto" phase holds while its settings are checked, before its sweep.
AUTO_PLACEHOLDER = 1e-3


def _pretrained(model, weights, model_kwargs: dict) -> tuple:
    """The backbone with its weights loaded, the weights report (``None`` for a built
    model given no weights) and the ImageNet preprocessing mode those weights need."""
    if isinstance(model, keras.Model):
        backbone = model
    elif weights is None:
        raise ValueError(
            f"finetune builds {model!r} and needs weights to start from: a .keras model you "
            "trained, a .weights.h5 file or 'imagenet'; received weights=None. To train "
            "from scratch use train()."
        )
    else:  # with the arguments a tag's layout needs, and "imagenet" as the tag it means
        model_kwargs = with_pretrained_arguments(weights, model, model_kwargs)
        weights = model_kwargs.pop("weights", weights)
        backbone = create_model(model, include_top=False, **model_kwargs)
    report = load_pretrained(backbone, weights) if weights is not None else None
    if report is None:
        return backbone, None, None
    # keras.applications' mode ("caffe", "tf") for its files, else a tag's own normalization.
    mode = report.preprocessing or (report.pretrained and report.pretrained.name)
    return backbone, report, mode


def _phases(phases) -> tuple[list, set[int]]:
    """The phases resolved, and the indices of those whose ``learning_rate`` is
    ``"auto"`` (each holding a placeholder rate until its sweep has run)."""
    if phases is None or isinstance(phases, (str, Mapping)) or not isinstance(phases, Sequence):
        return resolve_phases(phases), set()  # the defaults, or resolve_phases' refusal
    auto, placeholders = set(), []
    for index, phase in enumerate(phases):
        rate = phase.get("learning_rate") if isinstance(phase, Mapping) else getattr(
            phase, "learning_rate", None
        )  # fmt: skip
        if isinstance(rate, str) and rate == "auto":
            auto.add(index)
            phase = (
                {**phase, "learning_rate": AUTO_PLACEHOLDER} if isinstance(phase, Mapping)
                else dataclasses.replace(phase, learning_rate=AUTO_PLACEHOLDER)
            )  # fmt: skip
        placeholders.append(phase)
    return resolve_phases(placeholders), auto


def _phase_config(phases, auto: set[int]) -> list[dict]:
    return [
        {**dataclasses.asdict(phase), **({"learning_rate": "auto"} if index in auto else {})}
        for index, phase in enumerate(phases)
    ]


def finetune(
    model: str | keras.Model, data: str | Path = "mnist-sample", *,
    weights: str | Path | None = None, out: str | Path | None = None, resume: bool = False,
    phases: Sequence | None = None, batch_size: int = 32, augment: str | None = None,
    dropout: float = 0.2, pooling: str = "avg", validation_split: float = 0.2, seed: int = 0,
    model_kwargs: dict | None = None, callbacks: Sequence[keras.callbacks.Callback] = (),
    layer_decay: float = 1.0, steps_per_execution: int | None = None,
    jit_compile: bool | str = "auto", verbose: int | str = "auto",
) -> TrainResult:  # fmt: skip
    """Fine-tunes a pretrained model on a data source and writes a run folder.

    The model is built without its head, the weights loaded into it (any input size or
    channel count: see :func:`cnnzoo.transfer.load_weights`), a fresh head put on
    (:func:`~cnnzoo.transfer.replace_head`) and :func:`~cnnzoo.transfer.fit_in_phases` runs
    the phases (by default the head alone on the frozen backbone, then the last two stages
    too). ImageNet weights bring keras.applications' preprocessing, recorded for
    ``cnnzoo evaluate``/``predict``. The folder holds what :func:`train` writes (with a
    ``phase`` column in ``history.csv``) and ``weights_report.txt``; a resumed run skips
    finished phases. Unless ``verbose=0``, it prints a summary line and a line per phase.

    Args:
        model: A registered model name, or a built ``keras.Model`` whose backbone to use
            (then ``weights`` is optional).
        data: ``"mnist-sample"``, a folder of class subfolders, or ``"tfds:NAME"``.
        weights: A ``.keras`` model (any head, any class count), a ``.weights.h5`` file,
            ``"imagenet"`` (from the Keras cache folder) or a keras.applications ``.h5``.
        out: The run folder (default ``runs/<model>-<time>``).
        resume: Continue the run in ``out``.
        phases: :class:`~cnnzoo.transfer.Phase` objects or dicts of their fields, e.g.
            ``[{"epochs": 3}, {"epochs": 3, "trainable_stages": None}]`` (``None``: the
            whole model), ``{"until": "stage2_out"}`` to freeze up to a layer. A
            ``learning_rate`` of ``"auto"`` runs the learning-rate finder when the phase
            starts (its layers set trainable), and the phase trains at its suggestion.
        batch_size: Batch size.
        augment: An augmentation preset name, applied in training only.
        dropout: Dropout of the new head.
        pooling: The new head's pooling: ``"avg"``, ``"max"`` or ``"flatten"``.
        validation_split: Held-out fraction for sources without a validation split.
        seed: Seed of the head, the split, the shuffling and the augmentation.
        model_kwargs: Factory arguments, e.g. ``{"input_shape": (64, 64, 3)}``.
        callbacks: More Keras callbacks, given to every phase.
        layer_decay: Layer-wise learning rates, in (0, 1]: each phase's rate is the
            head's, and each stage below learns ``layer_decay`` times slower than the one
            above (see :func:`~cnnzoo.transfer.layer_decay_optimizer`). The factor of each
            layer group goes into ``config.json`` (``layer_decay_factors``), and each
            phase prints its rates. 1: one rate for every layer.
        verbose: ``fit`` verbosity.

    Returns:
        A :class:`~cnnzoo.training.TrainResult`.

    Raises:
        ValueError: For a bad setting, data, folder or weights, before anything is written.
        TrainingDivergedError: When the loss becomes NaN (the last backup is kept).

    Example:
        >>> import tempfile
        >>> from cnnzoo.training import train
        >>> source = train("lenet5", epochs=1, out=tempfile.mkdtemp(), verbose=0)
        >>> result = finetune("lenet5", weights=source.run_dir / "model.keras", verbose=0,
        ...                   phases=[{"epochs": 1}, {"epochs": 1}], out=tempfile.mkdtemp())
        >>> result.history["phase"], result.metrics["test_accuracy"] > 0.5
        ([1, 2], True)
    """
    steps_per_execution = steps_per_call(steps_per_execution)
    name = _check_settings(model, weights, batch_size, dropout, pooling, validation_split)
    layer_decay = check_layer_decay(layer_decay)
    resolved, auto = _phases(phases)
    source, phase_config = check_source(data), _phase_config(resolved, auto)
    keras.utils.set_random_seed(seed)
    backbone, report, mode = _pretrained(model, weights, model_kwargs or {})
    config = stored({
        "model": name, "model_kwargs": model_kwargs or {}, "data": source,
        "weights": None if weights is None else str(weights), "phases": phase_config,
        "batch_size": batch_size, "augment": augment, "dropout": dropout, "pooling": pooling,
        "validation_split": validation_split, "seed": seed, "preprocessing": mode,
    })  # fmt: skip
    if layer_decay < 1:  # a run without it keeps the config.json of earlier versions
        config["layer_decay"] = layer_decay
        config["layer_decay_factors"] = layer_decay_factors(backbone, layer_decay)
    coordinator, talk = Coordinator(), talks(verbose)
    folder = coordinator.open_folder(out, config, resume)
    if coordinator.finished_already(folder, resume):
        return tell_end(coordinator.finished(folder, talk), talk)
    run_data = coordinator.read_data(config)
    net = replace_head(backbone, len(run_data.class_names), dropout=dropout, pooling=pooling)
    train_batches, validation, test = _batches(net, run_data, config, mode)
    # compiled as every phase will be, to read what Keras resolves (jit_compile="auto")
    compiled = dict(steps_per_execution=steps_per_execution, jit_compile=jit_compile)
    net.compile(**compiled)
    coordinator.create(folder, {**config, RUNTIME_KEY: runtime(net)}, run_data)
    folder.write("weights_report.txt", f"{report or 'No weights loaded.'}\n")
    if talk:
        announce("Fine-tuning", net, run_data, folder.report_path)
    _run_phases(
        net, folder, resolved, auto, train_batches, validation, callbacks, verbose,
        dict(layer_decay=layer_decay, **compiled),
    )  # fmt: skip
    save_model(net, folder.model_path)
    return tell_end(coordinator.finish(folder, net, validation, test), talk)


def _check_settings(model, weights, batch_size, dropout, pooling, validation_split) -> str:
    """Checks the settings that need no data nor model; returns the model's name."""
    check_positive_int("batch_size", batch_size)
    check_rate("dropout", dropout)
    check_rate("validation_split", validation_split)
    name = check_model(model)
    if weights is not None and not isinstance(weights, (str, Path)):
        raise ValueError(
            "weights must be a file path, 'imagenet' or a pretrained tag such as "
            f"'resnet18.tv_in1k'; received weights={weights!r}."
        )
    if isinstance(weights, str) and is_tag(weights):
        resolve(weights, name)  # an unknown tag names the closest
    elif weights not in (None, "imagenet") and not Path(weights).is_file():
        raise ValueError(f"weights names no file; received weights={str(weights)!r}.")
    check_choice("pooling", pooling, ("avg", "max", "flatten"))
    return name


def _batches(net: keras.Model, run_data: RunData, config: dict, mode: str | None) -> tuple:
    """The training, validation and test batches (test: ``None`` without a test split),
    preprocessed for ImageNet weights (``mode``); on JAX and PyTorch, in memory when they
    fit (see :mod:`cnnzoo.training.batches`)."""
    arrays = wanted(config["augment"], distributed=False)

    def batches(split, training):
        cache = cached("auto", split, net)
        in_memory = arrays and cache
        dataset = pipeline(
            split, net, training=training and not in_memory, batch_size=config["batch_size"],
            augment=config["augment"] if training else None,
            input_range=run_data.input_range, seed=config["seed"],
            cache=cache and not in_memory,
        )  # fmt: skip
        if in_memory:  # preprocessed as arrays: Keras' ops run on the backend, not in tf.data
            read = ArrayBatches.read(
                dataset, config["batch_size"], shuffle=training, seed=config["seed"]
            )
            read.images = np.asarray(
                keras.ops.convert_to_numpy(imagenet_preprocessing(read.images, mode))
            )
            return read
        if mode is not None:
            dataset = dataset.map(lambda x, y: (imagenet_preprocessing(x, mode), y))
        return dataset

    train_batches = batches(run_data.train, True)
    validation = batches(run_data.validation, False)
    test = batches(run_data.test, False) if run_data.test is not None else None
    return train_batches, validation, test


def _run_phases(
    net, folder, phases, auto, train_batches, validation, callbacks, verbose, settings: dict
):
    """Runs the phases not finished yet; after each, its weights and last epoch are kept
    in ``backup/`` so a resumed run starts at the next phase. A phase whose rate is
    ``"auto"`` (index in ``auto``) gets it from a sweep when it starts (see
    :func:`_phase_rate`). ``settings``: more arguments of ``fit_in_phases``
    (``layer_decay``, ``steps_per_execution``, ``jit_compile``)."""
    run_dir = folder.path
    backup_dir = run_dir / "backup"
    done_path = backup_dir / "phases.json"
    done = json.loads(done_path.read_text()) if done_path.exists() else {"phase": 0, "epoch": 0}
    if done["phase"]:
        net.load_weights(backup_dir / f"phase{done['phase']}.weights.h5")
    epoch = done["epoch"]
    talk = talks(verbose)
    if talk and (done["phase"] or (backup_dir / "epoch.json").exists()):
        print(_resume_line(run_dir, done, len(phases)))
    for number, phase in enumerate(phases, start=1):
        if number <= done["phase"]:
            continue
        if number - 1 in auto:
            phase = _phase_rate(net, folder, number, phase, train_batches, talk)
        backup = PhaseBackup(backup_dir, run_dir / "history.csv", phase=number, start_epoch=epoch)
        header = (
            [PhaseHeader(number, len(phases), phase, epoch, settings["layer_decay"])]
            if talk else []
        )  # fmt: skip
        fit_in_phases(
            net, train_batches, validation, phases=[phase], initial_epoch=epoch, verbose=verbose,
            **settings,
            callbacks=[
                *header, *callbacks, StopOnNaN(phase.learning_rate, backup_dir),
                EpochTensorBoard(run_dir / "logs"), backup,
            ],
        )  # fmt: skip
        epoch = backup.next_epoch
        # The phase's best epoch, restored by its early stopping.
        save_weights_atomically(net, backup_dir / f"phase{number}.weights.h5")
        write_text(done_path, json.dumps({"phase": number, "epoch": epoch}))


def _phase_rate(net, folder: RunFolder, number: int, phase, train_batches, talk) -> Phase:
    """``phase`` with the rate a sweep suggests for it: with the layers it trains and its
    optimizer, on the model as the earlier phases left it. The rate goes into
    ``config.json`` (``"lr_find"``, by phase), the curve into ``lr_find_phase{N}.png`` and
    ``.csv``; a resumed run takes the recorded rate and does not sweep again."""
    key = f"phase {number}"
    recorded = (folder.recorded(LR_FIND_KEY) or {}).get(key)
    if recorded is None:
        unfreeze(
            net, until=phase.until, keep_batchnorm_frozen=phase.keep_batchnorm_frozen,
            trainable_stages=None if phase.until else phase.trainable_stages,
        )  # as fit_in_phases will  # fmt: skip
        found = sweep(net, train_batches, loss=_default_loss(net), optimizer=phase.optimizer)
        found.save(folder.path, stem=f"lr_find_phase{number}")
        config = json.loads(folder.config_path.read_text())
        config[LR_FIND_KEY] = {**config.get(LR_FIND_KEY, {}), key: found.record()}
        folder.write(CONFIG_FILE, json.dumps(config, indent=2) + "\n")
        recorded = found.record()
        if talk:
            print(f"Phase {number}, learning-rate finder: {found.describe()}.")
    elif talk:
        print(f"Phase {number}: learning rate {recorded['learning_rate']:.3g}, found before.")
    return dataclasses.replace(phase, learning_rate=recorded["learning_rate"])


def _resume_line(run_dir, done: dict, count: int) -> str:
    """Where a resumed fine-tuning run continues: after its finished phases, at the
    epoch after the last one backed up."""
    epoch_path = run_dir / "backup" / "epoch.json"
    epoch = json.loads(epoch_path.read_text())["epoch"] if epoch_path.exists() else 0
    epoch = max(epoch, done["epoch"])
    if done["phase"] >= count:
        return f"Resuming the run in {run_dir}: every phase is done; evaluating its model."
    phases = "" if not done["phase"] else (
        "phase 1 done, " if done["phase"] == 1 else f"phases 1-{done['phase']} done, "
    )  # fmt: skip
    return (
        f"Resuming the run in {run_dir} in phase {done['phase'] + 1} of {count} at epoch "
        f"{epoch + 1} ({phases}{epoch} epoch{'' if epoch == 1 else 's'} done)."
    )


__all__ = ["finetune"]
