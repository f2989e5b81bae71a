"""``finetune``: a pretrained model, a new head and two-phase fine-tuning, as a run folder
that survives interruption (what ``cnnzoo finetune`` runs)."""

from __future__ import annotations

import dataclasses
import json
from collections.abc import Sequence
from pathlib import Path

import keras

from cnnzoo.data import pipeline
from cnnzoo.files import write_text
from cnnzoo.models.common_args import check_choice, check_positive_int, check_rate
from cnnzoo.registry import create_model
from cnnzoo.training.callbacks import (
    PhaseBackup,
    PhaseHeader,
    StopOnNaN,
    save_weights_atomically,
)
from cnnzoo.training.messages import announce, finished_line, talks
from cnnzoo.training.run import TrainResult, _finish, _finished, check_model_name
from cnnzoo.training.run_folder import RunFolder
from cnnzoo.training.sources import check_source, load_run_data
from cnnzoo.transfer import fine_tune, replace_head
from cnnzoo.transfer.finetune import resolve_phases
from cnnzoo.transfer.imagenet import imagenet_preprocessing, load_pretrained
from cnnzoo.transfer.weights import WeightsReport


def _pretrained(model, weights, model_kwargs: dict) -> tuple[keras.Model, WeightsReport | None]:
    if isinstance(model, keras.Model):
        return model, load_pretrained(model, weights) if weights is not None else None
    if weights is None:
        raise ValueError(
            f"finetune builds {model!r} and needs weights to start from: a .keras model you "
            "trained, a .weights.h5 file or 'imagenet'; received weights=None. To train "
            "from scratch use train()."
        )
    backbone = create_model(model, include_top=False, **model_kwargs)
    return backbone, load_pretrained(backbone, weights)


def _phase_config(phases) -> list[dict]:
    return [dataclasses.asdict(phase) for phase in resolve_phases(phases)]


def finetune(
    model: str | keras.Model,
    data: str | Path = "mnist-sample",
    *,
    weights: str | Path | None = None,
    out: str | Path | None = None,
    resume: bool = False,
    phases: Sequence | None = None,
    batch_size: int = 32,
    augment: str | None = None,
    dropout: float = 0.2,
    pooling: str = "avg",
    validation_split: float = 0.2,
    seed: int = 0,
    model_kwargs: dict | None = None,
    callbacks: Sequence[keras.callbacks.Callback] = (),
    verbose: int | str = "auto",
) -> TrainResult:
    """Fine-tunes a pretrained model on a data source and writes a run folder.

    The model is built without its head (``include_top=False``), the weights are
    loaded into it (another input size or channel count is fine: see
    :func:`cnnzoo.transfer.load_weights`), a fresh head for the data's classes is put on
    (:func:`~cnnzoo.transfer.replace_head`) and :func:`~cnnzoo.transfer.fine_tune` runs
    the phases: by default the head alone on the frozen backbone (batch norm included) at
    1e-3, then the last two stages too at 1e-4, with early stopping in each. With ImageNet
    weights the images get keras.applications' preprocessing in the pipeline, and the run
    records it for ``cnnzoo evaluate``/``predict``.

    The run folder holds what :func:`train` writes (``history.csv`` with a ``phase``
    column; ``curves.png`` marks where phase 2 begins), plus ``weights_report.txt``. A
    run killed at any point continues with ``resume=True``: finished phases are not
    repeated, and the phase it was in goes on from its last finished epoch. As with
    :func:`train`, nothing is written before every setting is accepted, and unless
    ``verbose=0`` the run prints a summary line, then a header line per phase.

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
            whole model), ``{"until": "stage2_out"}`` to freeze up to a layer.
        batch_size: Batch size.
        augment: An augmentation preset name, applied in training only.
        dropout: Dropout of the new head.
        pooling: The new head's pooling: ``"avg"``, ``"max"`` or ``"flatten"``.
        validation_split: Held-out fraction for sources without a validation split.
        seed: Seed of the head, the split, the shuffling and the augmentation.
        model_kwargs: Factory arguments, e.g. ``{"input_shape": (64, 64, 3)}``.
        callbacks: More Keras callbacks, given to every phase.
        verbose: ``fit`` verbosity.

    Returns:
        A :class:`~cnnzoo.training.TrainResult`.

    Raises:
        ValueError: For a bad setting, data source, run folder or weights file.
        TrainingDivergedError: When the loss becomes NaN or infinite.

    Example:
        >>> import tempfile
        >>> from cnnzoo.training import train
        >>> source = train("lenet5", epochs=1, out=tempfile.mkdtemp(), verbose=0)
        >>> result = finetune("lenet5", weights=source.run_dir / "model.keras", verbose=0,
        ...                   phases=[{"epochs": 1}, {"epochs": 1}], out=tempfile.mkdtemp())
        >>> result.history["phase"], result.metrics["test_accuracy"] > 0.5
        ([1, 2], True)
    """
    check_positive_int("batch_size", batch_size)
    check_rate("dropout", dropout)
    check_rate("validation_split", validation_split)
    if not isinstance(model, (str, keras.Model)):
        raise ValueError(f"model must be a model name or a keras.Model; received model={model!r}.")
    check_model_name(model)
    if weights is not None and not isinstance(weights, (str, Path)):
        raise ValueError(f"weights must be a file path or 'imagenet'; received {weights!r}.")
    if weights not in (None, "imagenet") and not Path(weights).is_file():
        raise ValueError(f"weights names no file; received weights={str(weights)!r}.")
    check_choice("pooling", pooling, ("avg", "max", "flatten"))
    source, phase_config = check_source(data), _phase_config(phases)
    name = model if isinstance(model, str) else model.name
    keras.utils.set_random_seed(seed)
    backbone, report = _pretrained(model, weights, model_kwargs or {})
    mode = report.preprocessing if report is not None else None  # ImageNet weights only
    config = {
        "model": name, "model_kwargs": model_kwargs or {}, "data": source,
        "weights": None if weights is None else str(weights), "phases": phase_config,
        "batch_size": batch_size, "augment": augment, "dropout": dropout, "pooling": pooling,
        "validation_split": validation_split, "seed": seed, "preprocessing": mode,
    }  # fmt: skip
    config = json.loads(json.dumps(config))  # as it reads back from the file
    talk = talks(verbose)
    folder = RunFolder.choose(out, name)
    folder.check(config, resume)  # written below, once the data and the model are right
    run_dir = folder.path
    if resume and folder.finished:
        if talk:
            print(finished_line(run_dir, folder.epochs_done))
        return _finished(run_dir)

    run_data = load_run_data(config["data"], seed=seed, validation_split=validation_split)
    net = replace_head(backbone, len(run_data.class_names), dropout=dropout, pooling=pooling)

    def batches(split, training):
        dataset = pipeline(
            split, net, training=training, batch_size=batch_size,
            augment=augment if training else None, input_range=run_data.input_range, seed=seed,
        )  # fmt: skip
        if mode is None:
            return dataset
        return dataset.map(lambda x, y: (imagenet_preprocessing(x, mode), y))

    train_batches = batches(run_data.train, True)
    validation = batches(run_data.validation, False)
    folder.create(config, run_data.class_names, run_data.report)
    write_text(run_dir / "weights_report.txt", f"{report or 'No weights loaded.'}\n")
    if talk:
        announce("Fine-tuning", net, run_data, folder.report_path)
    _run_phases(net, run_dir, resolve_phases(phases), train_batches, validation, callbacks, verbose)
    net.save(run_dir / "model.keras")
    test = batches(run_data.test, False) if run_data.test is not None else None
    return _finish(run_dir, net, validation, test)


def _run_phases(net, run_dir, phases, train_batches, validation, callbacks, verbose) -> None:
    """Runs the phases not finished yet; after each, its weights and last epoch are kept
    in ``backup/`` so a resumed run starts at the next phase."""
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
        backup = PhaseBackup(backup_dir, run_dir / "history.csv", phase=number, start_epoch=epoch)
        header = [PhaseHeader(number, len(phases), phase, epoch)] if talk else []
        fine_tune(
            net, train_batches, validation, phases=[phase], initial_epoch=epoch, verbose=verbose,
            callbacks=[
                *header, *callbacks, StopOnNaN(phase.learning_rate, backup_dir),
                keras.callbacks.TensorBoard(run_dir / "logs"), backup,
            ],
        )  # fmt: skip
        epoch = backup.next_epoch
        # The phase's best epoch, restored by its early stopping.
        save_weights_atomically(net, backup_dir / f"phase{number}.weights.h5")
        write_text(done_path, json.dumps({"phase": number, "epoch": epoch}))


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
