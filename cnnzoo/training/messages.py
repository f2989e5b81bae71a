"""What a run tells its user: before it trains, one summary line, the files it skipped,
where a resumed run continues and a header per fine-tuning phase; after it, whether the
model it saved learnt anything."""

from __future__ import annotations

import math
from pathlib import Path

import keras
import numpy as np

from cnnzoo.training.sources import RunData


def split_size(split, root: str | None = None) -> tuple[int | None, int | None]:
    """``(images, classes)`` of a split as :func:`~cnnzoo.training.load_run_data` gives
    it; ``None`` where it cannot be told without reading the data.

    Arrays count their labels; a folder's dataset its files, each class being the
    subfolder of ``root`` a file lies in; other datasets their cardinality.

    Example:
        >>> split_size((np.zeros((5, 2, 2, 1)), np.array([0, 1, 1, 2, 2])))
        (5, 3)
    """
    if isinstance(split, (tuple, list)):
        labels = np.asarray(split[1] if len(split) > 1 else split[0])
        return len(labels), len(np.unique(labels)) if len(split) > 1 else None
    paths = getattr(split, "file_paths", None)
    if paths is not None and root is not None:
        classes = {Path(path).relative_to(root).parts[0] for path in paths}
        return len(paths), len(classes)
    cardinality = getattr(split, "cardinality", None)
    count = int(cardinality()) if cardinality is not None else -1
    return (count if count >= 0 else None), None


def summary_line(verb: str, model: keras.Model, data: RunData, *, share: str = "") -> str:
    """One line that says what is about to train on what.

    Example:
        >>> from cnnzoo import create_model
        >>> from cnnzoo.training import load_run_data
        >>> data = load_run_data("mnist-sample", seed=0, validation_split=0.1)
        >>> print(summary_line("Training", create_model("lenet5", num_classes=10), data))
        ... # doctest: +NORMALIZE_WHITESPACE, +ELLIPSIS
        Training lenet5 (60,850 parameters, input 32x32x1) on the bundled MNIST sample:
        train 3,600 images of 10 classes, validation 400 of 10, test 1,000 of 10; backend ...
    """
    root = data.report.root if data.report is not None else None
    parts, unknown_classes = [], False
    for name, split in (("train", data.train), ("validation", data.validation),
                        ("test", data.test)):  # fmt: skip
        if split is None:
            continue
        images, classes = split_size(split, root)
        count = "?" if images is None else f"{images:,}"
        noun = " images" if not parts else ""
        if classes is None:
            unknown_classes = True
            parts.append(f"{name} {count}{noun}")
        else:
            parts.append(f"{name} {count}{noun} of {classes}" + (" classes" if noun else ""))
    splits = ", ".join(parts)
    if unknown_classes:
        splits += f" ({len(data.class_names)} classes)"
    size = "x".join(str(side) for side in model.input_shape[1:])
    return (
        f"{verb} {model.name} ({model.count_params():,} parameters, input {size}) on "
        f"{data.description}: {splits}{share}; backend {keras.backend.backend()}."
    )


def data_notice(data: RunData, report_path: Path) -> str:
    """The folder's skipped files, empty classes and converted images, with where the
    full report is; ``""`` when there is nothing to say."""
    if data.report is None:
        return ""
    notice = data.report.notice()
    return f"{notice}\nFull report: {report_path}" if notice else ""


def talks(verbose, chief: bool = True) -> bool:
    """Whether a run prints these lines: with ``fit``'s progress display, in process 0."""
    return chief and verbose not in (0, False)


def announce(verb: str, model: keras.Model, data: RunData, report_path: Path, share="") -> None:
    """Prints the run's summary line, then what the data scan skipped."""
    print(summary_line(verb, model, data, share=share))
    notice = data_notice(data, report_path)
    if notice:
        print(notice)


def resume_line(path: Path, done: int, epochs: int) -> str:
    """Where a resumed :func:`~cnnzoo.training.train` run continues.

    Example:
        >>> resume_line(Path("runs/r"), 3, 10)
        'Resuming the run in runs/r at epoch 4 of 10 (epochs 1-3 are done).'
        >>> resume_line(Path("runs/r"), 0, 10)
        'Resuming the run in runs/r at epoch 1 of 10 (no epoch had finished).'
    """
    if done == 0:
        return f"Resuming the run in {path} at epoch 1 of {epochs} (no epoch had finished)."
    finished = "epoch 1 is" if done == 1 else f"epochs 1-{done} are"
    return f"Resuming the run in {path} at epoch {done + 1} of {epochs} ({finished} done)."


def finished_line(path: Path, done: int, epochs: int | None = None) -> str:
    """What ``--resume`` of a finished run says.

    Example:
        >>> finished_line(Path("runs/r"), 10, 10)
        'The run in runs/r is finished (10 of 10 epochs); nothing to resume.'
        >>> finished_line(Path("runs/r"), 4, 10)
        'The run in runs/r is finished (early stopping after 4 of 10 epochs); nothing to resume.'
    """
    if epochs is None:
        how = f"{done} epoch{'' if done == 1 else 's'}"
    elif done < epochs:
        how = f"early stopping after {done} of {epochs} epochs"
    else:
        how = f"{done} of {epochs} epochs"
    return f"The run in {path} is finished ({how}); nothing to resume."


def phase_header(number: int, count: int, phase, first_epoch: int, model: keras.Model) -> str:
    """The line a fine-tuning phase starts with: what trains, how, and its epochs.

    Example:
        >>> from cnnzoo import create_model
        >>> from cnnzoo.transfer import Phase
        >>> model = create_model("lenet5", num_classes=10)
        >>> phase = Phase(epochs=3, learning_rate=1e-4, trainable_stages=None)
        >>> print(phase_header(2, 2, phase, 2, model))  # doctest: +NORMALIZE_WHITESPACE
        Phase 2 of 2: the whole model trains (60,850 of 60,850 parameters); adam at
        learning rate 0.0001; up to 3 epochs (epochs 3-5).
    """
    if phase.until is not None:
        what = f"the layers after {phase.until} train"
    elif phase.trainable_stages is None:
        what = "the whole model trains"
    elif phase.trainable_stages == 0:
        what = "the head trains on the frozen backbone"
    else:
        stages = "stage" if phase.trainable_stages == 1 else f"{phase.trainable_stages} stages"
        what = f"the last {stages} and the head train"
    trainable = sum(math.prod(weight.shape) for weight in model.trainable_weights)
    epochs = f"{phase.epochs} epoch{'' if phase.epochs == 1 else 's'}"
    last = first_epoch + phase.epochs
    numbers = f"epoch {last}" if phase.epochs == 1 else f"epochs {first_epoch + 1}-{last}"
    return (
        f"Phase {number} of {count}: {what} ({trainable:,} of {model.count_params():,} "
        f"parameters); {phase.optimizer} at learning rate {phase.learning_rate:g}; up to "
        f"{epochs} ({numbers})."
    )


# A saved model "did not learn" when it is within this of chance accuracy and its loss is
# at least this share of a uniform guess's (ln of the classes): a network that ignores its
# images, as one that collapsed at the start does.
CHANCE_MARGIN, UNIFORM_LOSS_SHARE = 0.05, 0.9


def not_learnt(metrics: dict[str, float], num_classes: int | None) -> str | None:
    """Why the model a run saved learnt nothing, from its final metrics (the validation
    split's, else the test split's), or ``None`` when it did learn or cannot be told.

    Example:
        >>> message = not_learnt({"validation_accuracy": 0.1, "validation_loss": 2.36}, 10)
        >>> import textwrap
        >>> print(textwrap.fill(message, 80))  # doctest: +ELLIPSIS
        the saved model did not learn: its validation accuracy (0.100) is chance for 10
        classes and its loss (2.360) no lower than a uniform guess's (2.303). Try a
        lower learning rate ...
        >>> not_learnt({"validation_accuracy": 0.93, "validation_loss": 0.25}, 10) is None
        True
    """
    if not num_classes or num_classes < 2:
        return None
    for split in ("validation", "test"):
        accuracy, loss = metrics.get(f"{split}_accuracy"), metrics.get(f"{split}_loss")
        if accuracy is not None and loss is not None:
            break
    else:
        return None
    uniform = math.log(num_classes)
    if accuracy > 1 / num_classes + CHANCE_MARGIN or loss < UNIFORM_LOSS_SHARE * uniform:
        return None
    return (
        f"the saved model did not learn: its {split} accuracy ({accuracy:.3f}) is chance for "
        f"{num_classes} classes and its loss ({loss:.3f}) no lower than a uniform guess's "
        f"({uniform:.3f}). Try a lower learning rate (learning_rate, --lr) or another seed "
        "(seed, --seed). A network without batch normalization trained from scratch "
        "sometimes fails so from its first steps and trains safely with it "
        "(model_kwargs={'norm': 'batch'}, --set norm=batch; docs: training runs, pixel values)."
    )


def tell_end(result, talk: bool):
    """``result`` (a :class:`~cnnzoo.training.TrainResult`), after printing its warning
    when the run prints its lines."""
    if talk and result.warning:
        print(f"Warning: {result.warning}")
    return result


__all__ = [
    "announce",
    "data_notice",
    "finished_line",
    "not_learnt",
    "phase_header",
    "resume_line",
    "split_size",
    "summary_line",
    "talks",
    "tell_end",
]
