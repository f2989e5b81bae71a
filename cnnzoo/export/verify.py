"""Checking an exported model against the Keras model it came from, on real images.

:func:`verify_export` runs both on the same images and measures the largest absolute
difference of their class probabilities, the share of images on which their top-1
classes agree, the accuracy of each, and the milliseconds one image takes. The
:data:`TOLERANCES` say what passes:

- float32 exports (``.keras``, SavedModel, TFLite, ONNX) compute what Keras computes up
  to rounding: the probabilities may differ by at most ``1e-4``;
- ``float16`` TFLite rounds the weights to 11 significant bits: at most ``1e-2``, and the
  top-1 class the same on at least 99% of the images;
- ``int8`` TFLite rounds weights and activations to 256 levels, so probabilities move by
  a few hundredths and the top-1 agreement is the check: at least 97% of the images (the
  largest difference is reported, not checked).
"""

from __future__ import annotations

import dataclasses
import statistics
import time
from pathlib import Path

import keras
import numpy as np

from cnnzoo.export.formats import path_size
from cnnzoo.export.runtimes import Predict, load_exported, runtime_missing


@dataclasses.dataclass(frozen=True)
class Tolerance:
    """What an export must meet: ``max_difference`` of probabilities (``None``: not
    checked) and ``min_agreement`` of the top-1 classes (``None``: not checked)."""

    max_difference: float | None
    min_agreement: float | None


TOLERANCES = {
    None: Tolerance(max_difference=1e-4, min_agreement=None),
    "float16": Tolerance(max_difference=1e-2, min_agreement=0.99),
    "int8": Tolerance(max_difference=None, min_agreement=0.97),
}


@dataclasses.dataclass(frozen=True)
class ExportReport:
    """An exported model, checked against its Keras model on ``images`` images of the
    run's ``split``. ``verified`` is ``False`` (and ``note`` says why) where no runtime
    could run the file; the measurements are then ``None``."""

    format: str
    quantize: str | None
    path: Path
    size_bytes: int
    split: str
    images: int
    verified: bool
    note: str = ""
    max_difference: float | None = None
    top1_agreement: float | None = None
    keras_accuracy: float | None = None
    export_accuracy: float | None = None
    ms_per_image: float | None = None
    keras_ms_per_image: float | None = None

    @property
    def label(self) -> str:
        """``tflite``, ``tflite int8``, ..."""
        return f"{self.format} {self.quantize}" if self.quantize else self.format

    def problem(self) -> str | None:
        """Why the export fails its :data:`TOLERANCES`, in one line, or ``None``."""
        if not self.verified:
            return None
        tolerance = TOLERANCES[self.quantize]
        if tolerance.max_difference is not None and not (
            self.max_difference <= tolerance.max_difference  # NaN fails too
        ):
            return (
                f"the {self.label} export differs from the Keras model by up to "
                f"{self.max_difference:.3g} in probability on {self.images} {self.split} "
                f"images (allowed: {tolerance.max_difference:g})"
            )
        if tolerance.min_agreement is not None and self.top1_agreement < tolerance.min_agreement:
            return (
                f"the {self.label} export agrees with the Keras model's top-1 class on "
                f"{self.top1_agreement:.1%} of {self.images} {self.split} images "
                f"(required: {tolerance.min_agreement:.0%})"
            )
        return None


def verify_export(
    path: str | Path,
    format: str,
    model: keras.Model,
    images: np.ndarray,
    labels: np.ndarray | None = None,
    *,
    quantize: str | None = None,
    split: str = "test",
    batch_size: int = 32,
) -> ExportReport:
    """Runs the export at ``path`` and ``model`` (the Keras model it was written from,
    taking the same raw images) on ``images`` and compares them.

    Args:
        path: The exported file (folder, for ``saved_model``).
        format: One of :data:`cnnzoo.export.EXPORT_FORMATS`.
        model: The Keras model, preprocessing folded in as in the export.
        images: A float32 batch as the run's pipeline gives it.
        labels: Integer classes of ``images``, for the accuracies; ``None`` skips them.
        quantize: ``None``, ``"int8"`` or ``"float16"``: which :data:`TOLERANCES` apply.
        split: The split the images come from, for the report.
        batch_size: Images per call.

    Returns:
        The :class:`ExportReport`; its :meth:`~ExportReport.problem` says whether it passed.
    """
    path = Path(path)
    base = dict(format=format, quantize=quantize, path=path, size_bytes=path_size(path),
                split=split, images=len(images))  # fmt: skip
    missing = runtime_missing(format)
    if missing:
        return ExportReport(**base, verified=False, note=f"not verified: {missing}")
    exported = load_exported(path, format)
    reference = _run(lambda batch: model.predict_on_batch(batch), images, batch_size)
    candidate = _run(exported, images, batch_size)
    if not _are_probabilities(reference):  # a model ending in logits: compare softmaxes
        reference, candidate = _softmax(reference), _softmax(candidate)
    agree = reference.argmax(-1) == candidate.argmax(-1)
    return ExportReport(
        **base,
        verified=True,
        max_difference=float(np.abs(reference - candidate).max()),
        top1_agreement=float(agree.mean()),
        keras_accuracy=_accuracy(reference, labels),
        export_accuracy=_accuracy(candidate, labels),
        ms_per_image=ms_per_image(exported, images[:1]),
        keras_ms_per_image=ms_per_image(model.predict_on_batch, images[:1]),
    )


def ms_per_image(predict: Predict, image: np.ndarray, *, repeats: int = 15) -> float:
    """Milliseconds ``predict`` takes for a batch of one image: the median of ``repeats``
    calls after three warm-up calls."""
    for _ in range(3):
        predict(image)
    times = []
    for _ in range(repeats):
        start = time.perf_counter()
        predict(image)
        times.append(time.perf_counter() - start)
    return 1000 * statistics.median(times)


def _run(predict: Predict, images: np.ndarray, batch_size: int) -> np.ndarray:
    outputs = [
        np.asarray(predict(images[start : start + batch_size]), "float64")
        for start in range(0, len(images), batch_size)
    ]
    return np.concatenate(outputs)


def _are_probabilities(outputs: np.ndarray) -> bool:
    return bool((outputs >= 0).all() and np.allclose(outputs.sum(-1), 1, atol=1e-3))


def _softmax(logits: np.ndarray) -> np.ndarray:
    shifted = np.exp(logits - logits.max(-1, keepdims=True))
    return shifted / shifted.sum(-1, keepdims=True)


def _accuracy(probabilities: np.ndarray, labels: np.ndarray | None) -> float | None:
    if labels is None:
        return None
    return float((probabilities.argmax(-1) == np.asarray(labels).reshape(-1)).mean())


EXPORT_TABLE_HEADER = ("format", "size", "max prob diff", "top-1 agreement", "accuracy", "ms/image")


def export_rows(reports, *, keras_size_bytes: int | None = None) -> list[tuple[str, ...]]:
    """The rows of :data:`EXPORT_TABLE_HEADER` for ``reports``, after a row for the Keras
    model they were checked against (its accuracy and speed from the first verified
    report); ``cnnzoo.cli.tables.format_rows`` prints them."""
    rows = []
    first = next((report for report in reports if report.verified), None)
    if first is not None:
        size = _size(keras_size_bytes) if keras_size_bytes else "-"
        accuracy, speed = _percent(first.keras_accuracy), f"{first.keras_ms_per_image:.2f}"
        rows.append(("keras model (reference)", size, "-", "-", accuracy, speed))
    for report in reports:
        if not report.verified:
            rows.append((report.label, _size(report.size_bytes), report.note, "", "", ""))
            continue
        rows.append((report.label, _size(report.size_bytes), f"{report.max_difference:.1e}",
                     _percent(report.top1_agreement), _percent(report.export_accuracy),
                     f"{report.ms_per_image:.2f}"))  # fmt: skip
    return rows


def _size(size_bytes: int) -> str:
    if size_bytes < 1024**2:
        return f"{size_bytes / 1024:.0f} KiB"
    return f"{size_bytes / 1024**2:.1f} MiB"


def _percent(value: float | None) -> str:
    return "-" if value is None else f"{value:.2%}"
