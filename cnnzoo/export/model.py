"""Exporting a model verified: written under a temporary name in the target folder, run
and compared with the Keras model (:func:`cnnzoo.export.verify_export`), and moved into
place only when it passes, with ``labels.txt`` and ``metadata.json`` beside it."""

from __future__ import annotations

import contextlib
import dataclasses
import os
import secrets
from pathlib import Path

import keras
import numpy as np

from cnnzoo.export.formats import (
    check_export_arguments,
    export_file_name,
    remove_path,
    with_preprocessing,
    write_export,
)
from cnnzoo.export.metadata import input_description, write_metadata
from cnnzoo.export.verify import TOLERANCES, ExportReport, verify_export


class ExportVerificationError(RuntimeError):
    """The exported model does not compute what the Keras model computes; nothing was
    moved into place."""


@dataclasses.dataclass(frozen=True)
class ExportImages:
    """Real images to check an export on (``images``, ``labels`` of ``split``) and, for
    ``int8``, to calibrate it on (``calibration``, training images); float32 batches as
    the run's pipeline gives them, values in [0, 255]."""

    images: np.ndarray
    labels: np.ndarray | None
    split: str
    calibration: np.ndarray | None = None
    data_range: tuple[float, float] | None = None


def export_model(
    model: keras.Model,
    folder: str | Path,
    format: str,
    *,
    class_names,
    data: ExportImages,
    quantize: str | None = None,
    preprocessing: str | None = None,
) -> ExportReport:
    """Exports ``model`` into ``folder``, verified on ``data``, with its class names and
    input description beside it.

    The file is written under a temporary name in ``folder``, run with its runtime and
    compared with ``model`` (:func:`~cnnzoo.export.verify_export`, within
    :data:`~cnnzoo.export.TOLERANCES`), and only then moved into place, replacing an
    earlier export of the same name. An ONNX file where ONNX Runtime is not installed is
    kept unverified (the report's ``note`` says so).

    Args:
        model: The run's Keras model.
        folder: Where the export goes (created if needed; removed again if it was
            created and the export fails).
        format: ``"keras"``, ``"saved_model"``, ``"tflite"`` or ``"onnx"``.
        class_names: The names of the model's outputs, in order.
        data: The images to verify on (and to calibrate ``int8`` on).
        quantize: ``None``, ``"int8"`` or ``"float16"`` (``tflite`` only).
        preprocessing: The run's recorded ImageNet preprocessing (fine-tuning runs), folded
            into the exported model (:func:`~cnnzoo.export.with_preprocessing`).

    Returns:
        The :class:`~cnnzoo.export.ExportReport`, its ``path`` the exported file.

    Raises:
        ValueError: For a bad format or quantization (before anything is written).
        ExportVerificationError: When the export fails its tolerance; nothing is left.
    """
    check_export_arguments(format, quantize)
    folder = Path(folder)
    target = folder / export_file_name(format, quantize)
    created = not folder.exists()
    partial = folder / f".{target.stem}.{secrets.token_hex(4)}.partial{target.suffix}"
    folder.mkdir(parents=True, exist_ok=True)
    try:
        raw_model = with_preprocessing(model, preprocessing)
        write_export(raw_model, partial, format, quantize=quantize,
                     calibration_images=data.calibration)  # fmt: skip
        report = verify_export(partial, format, raw_model, data.images, data.labels,
                               quantize=quantize, split=data.split)  # fmt: skip
        problem = report.problem()
        if problem:
            raise ExportVerificationError(f"{problem}; the export was not written.")
        replace_path(partial, target)
    except BaseException:
        remove_path(partial)
        if created:
            with contextlib.suppress(OSError):  # only if nothing else was put there
                folder.rmdir()
        raise
    report = dataclasses.replace(report, path=target)
    description = input_description(model.input_shape[1:], preprocessing, data.data_range)
    write_metadata(folder, class_names, description, target.name, _entry(report, data))
    return report


def replace_path(partial: Path, target: Path) -> None:
    """Moves ``partial`` to ``target`` (a file or a folder), replacing what is there: a
    file in one atomic rename, a folder by moving the old one aside first."""
    if target.is_dir() and not target.is_symlink():
        aside = target.with_name(f".{target.name}.{secrets.token_hex(4)}.old")
        os.replace(target, aside)
        os.replace(partial, target)
        remove_path(aside)
    else:
        os.replace(partial, target)


def _entry(report: ExportReport, data: ExportImages) -> dict:
    """The ``metadata.json`` entry of an export."""
    tolerance = TOLERANCES[report.quantize]
    calibrated = 0 if data.calibration is None else len(data.calibration)
    quantization = {
        None: "none (float32)",
        "float16": "float16 weights, float32 computation",
        "int8": f"int8 weights and activations calibrated on {calibrated} "
        "training images; float32 input and output",
    }[report.quantize]
    fields = ("verified", "note", "split", "images", "max_difference", "top1_agreement",
              "keras_accuracy", "export_accuracy", "ms_per_image", "size_bytes")  # fmt: skip
    return {
        "format": report.format,
        "quantization": quantization,
        **{field: getattr(report, field) for field in fields},
        "tolerance": dataclasses.asdict(tolerance),
    }


def load_export_images(
    config: dict, model: keras.Model, *, limit: int = 256, calibration: int | None = 128
) -> ExportImages:
    """Images of a run's data to verify its export on: up to ``limit`` of its test split
    (its validation split when the source has none), seeded-shuffled so that every class
    appears; and up to ``calibration`` of its training images for ``int8`` (``None``:
    none). Values in [0, 255], at the model's size, as the run's pipeline gave them.

    Args:
        config: The run's ``config.json`` (its ``data``, ``seed`` and ``validation_split``).
        model: The run's model (its input shape).
        limit: At most this many images to verify on.
        calibration: At most this many training images, or ``None``.
    """
    from cnnzoo.training import load_run_data

    run_data = load_run_data(config["data"], seed=config["seed"], min_classes=1,
                             validation_split=config["validation_split"])  # fmt: skip
    split, source = ("test", run_data.test) if run_data.test is not None else (
        "validation", run_data.validation
    )  # fmt: skip
    images, labels = _take(source, model, run_data.input_range, limit, config["seed"])
    calibration_images = None
    if calibration:
        calibration_images, _ = _take(
            run_data.train, model, run_data.input_range, calibration, config["seed"]
        )
    return ExportImages(images, labels, split, calibration_images, run_data.input_range)


def _take(source, model, input_range, limit: int, seed: int):
    """Up to ``limit`` ``(images, labels)`` of a split through the evaluation pipeline."""
    from cnnzoo.data import pipeline

    batches = pipeline(source, model, training=False, batch_size=None, shuffle=1024, seed=seed,
                       input_range=input_range, one_hot=False)  # fmt: skip
    pairs = list(batches.take(limit).as_numpy_iterator())
    if not pairs:
        raise ValueError("the run's data has no images to verify the export on.")
    images = np.stack([image for image, _ in pairs]).astype("float32")
    return images, np.array([label for _, label in pairs])
