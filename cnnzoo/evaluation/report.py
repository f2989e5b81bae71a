"""What ``cnnzoo evaluate`` computes over a split: one pass of the model over its batches
(with the test-time augmentations asked for), then the figures, as JSON-ready data and as
the text the command prints."""

from __future__ import annotations

from collections.abc import Callable, Iterable, Sequence
from dataclasses import dataclass, field

import numpy as np

from cnnzoo.evaluation.calibration import apply_temperature
from cnnzoo.evaluation.metrics import (
    ECE_BINS,
    classification_scores,
    expected_calibration_error,
    negative_log_likelihood,
    top_k_accuracy,
)
from cnnzoo.evaluation.tta import test_time_augmentation


@dataclass
class SplitPredictions:
    """The model's probabilities over a split, and the examples a gallery can show."""

    labels: np.ndarray  # (n,) true classes
    probabilities: np.ndarray  # (n, classes)
    tta: dict[str, np.ndarray] = field(default_factory=dict)  # mode -> (n, classes)
    # At most `keep` mistakes and `keep` correct answers, the most telling of each:
    # (images as the pipeline gave them, labels, probabilities).
    examples: tuple[np.ndarray, np.ndarray, np.ndarray] | None = None


def predict_split(
    model, batches: Iterable, *, preprocess: Callable | None = None,
    tta: Sequence[str] = (), keep: int = 8,
) -> SplitPredictions:  # fmt: skip
    """Runs ``model`` over ``(images, labels)`` batches (labels as indices or one-hot);
    ``preprocess`` maps the images to the model's inputs, and every mode of ``tta`` adds
    its averaged probabilities (:func:`~cnnzoo.evaluation.test_time_augmentation`)."""
    from cnnzoo.viz.gallery import gallery_picks

    labels, probabilities, augmented = [], [], {mode: [] for mode in tta}
    examples = None
    for images, targets in batches:
        images, targets = np.asarray(images), np.asarray(targets)
        if targets.ndim == 2 and targets.shape[1] > 1:
            targets = targets.argmax(axis=-1)
        inputs = preprocess(images) if preprocess else images
        batch = np.asarray(model.predict_on_batch(inputs), dtype="float32")
        for mode in tta:
            augmented[mode].append(test_time_augmentation(model, inputs, mode))
        labels.append(targets.reshape(-1).astype("int64"))
        probabilities.append(batch)
        # Only the candidates are kept, not the split's images: memory stays bounded.
        kept = (images, labels[-1], batch)
        if examples is not None:
            kept = tuple(np.concatenate(pair) for pair in zip(examples, kept, strict=True))
        chosen = np.concatenate(gallery_picks(kept[2], kept[1], keep))
        examples = tuple(part[chosen] for part in kept)
    if not labels:
        raise ValueError("batches must hold at least one batch of images; received none.")
    return SplitPredictions(
        np.concatenate(labels), np.concatenate(probabilities),
        {mode: np.concatenate(parts) for mode, parts in augmented.items()}, examples,
    )  # fmt: skip


def summarize(
    predictions: SplitPredictions, class_names: Sequence[str], *, top_k: int | None = None,
    temperature: float | None = None, bins: int = ECE_BINS,
) -> dict:  # fmt: skip
    """The figures of a split as JSON-ready data: ``images``, ``accuracy``, ``classes``
    (precision, recall, F1 and support per class), ``top_k`` (with ``top_k``), ``tta``
    (accuracy and NLL per mode) and ``calibration`` (ECE and NLL before, and after
    ``temperature`` when given)."""
    from cnnzoo.viz.confusion import confusion_counts

    labels, probabilities = predictions.labels, predictions.probabilities
    counts = confusion_counts(labels, probabilities.argmax(axis=-1), len(class_names))
    scores = classification_scores(counts)
    classes = {
        name: {key: (int if key == "support" else float)(scores[key][i]) for key in scores}
        for i, name in enumerate(class_names)
    }
    report = {
        "images": len(labels),
        "accuracy": float(np.trace(counts) / max(1, counts.sum())),
        "classes": classes,
    }
    if top_k is not None:
        report["top_k"] = {"k": top_k, "accuracy": top_k_accuracy(probabilities, labels, top_k)}
    report["tta"] = {
        mode: {"accuracy": float(np.mean(averaged.argmax(axis=-1) == labels)),
               "nll": negative_log_likelihood(averaged, labels)}
        for mode, averaged in predictions.tta.items()
    }  # fmt: skip
    report["calibration"] = {"bins": bins, "before": _calibration(probabilities, labels, bins)}
    if temperature is not None:
        calibrated = apply_temperature(probabilities, temperature)
        report["calibration"].update(
            temperature=temperature, after=_calibration(calibrated, labels, bins)
        )
    return report


def _calibration(probabilities, labels, bins: int) -> dict:
    return {
        "ece": expected_calibration_error(probabilities, labels, bins),
        "nll": negative_log_likelihood(probabilities, labels),
    }


def format_report(report: dict, *, split: str, source: str) -> str:
    """The text ``cnnzoo evaluate`` prints for a :func:`summarize` report."""
    from cnnzoo.cli.tables import format_rows

    lines = [f"Accuracy on the {split} split of {source}: {report['accuracy']:.4f} "
             f"({report['images']} images)"]  # fmt: skip
    if "top_k" in report:
        lines.append(f"Top-{report['top_k']['k']} accuracy: {report['top_k']['accuracy']:.4f}")
    for mode, figures in report["tta"].items():
        change = figures["accuracy"] - report["accuracy"]
        lines.append(f"Test-time augmentation {mode}: {figures['accuracy']:.4f} ({change:+.4f})")
    header = ("class", "precision", "recall", "F1", "images")
    rows = [(name, *(f"{figures[key]:.3f}" for key in ("precision", "recall", "f1")),
             str(figures["support"])) for name, figures in report["classes"].items()]  # fmt: skip
    calibration = report["calibration"]
    table = [("plain", *_figures(calibration["before"]))]
    if "after" in calibration:
        table.append((f"T = {calibration['temperature']:.3f}", *_figures(calibration["after"])))
    fitted = calibration.get("fitted_on")
    note = f" (temperature fitted on {fitted})" if fitted else ""
    if calibration.get("warning"):
        note += f"\n{calibration['warning']}"
    return "\n".join([
        *lines, "", format_rows(header, rows), "",
        f"Calibration on the {split} split, {calibration['bins']} bins{note}:",
        format_rows(("predictions", "ECE", "NLL"), table),
    ])  # fmt: skip


def _figures(figures: dict) -> tuple[str, str]:
    return f"{figures['ece']:.4f}", f"{figures['nll']:.4f}"
