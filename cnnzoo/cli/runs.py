"""What the command line does with a run folder: evaluate, predict, export."""

from __future__ import annotations

import json
import os
from collections.abc import Sequence
from pathlib import Path

import keras
import numpy as np

from cnnzoo.checks import is_int
from cnnzoo.cli import UsageError
from cnnzoo.files import write_json


def open_run(run) -> tuple[Path, dict, keras.Model, tuple[str, ...]]:
    """``(folder, config, best model, class names)`` of a run folder."""
    run = Path(run)
    missing = [name for name in ("config.json", "model.keras") if not (run / name).exists()]
    if missing:
        raise UsageError(
            f"{run} is not a run folder of 'cnnzoo train' or 'cnnzoo finetune' (no "
            f"{' or '.join(missing)})."
        )
    config = json.loads((run / "config.json").read_text())
    indices = json.loads((run / "class_indices.json").read_text())
    class_names = tuple(sorted(indices, key=indices.get))
    return run, config, keras.saving.load_model(run / "model.keras", compile=False), class_names


def evaluate_run(
    run, *, data: str | None = None, out: str | None = None, tta: Sequence[str] = (),
    top_k: int | None = None, gallery: int = 8,
) -> str:  # fmt: skip
    """Evaluates a run's best model on its test split (its validation split when the
    source has none) or on ``data``, and returns the report text.

    The report gives the accuracy, the top-``top_k`` accuracy (default: top-5 when there
    are more than 5 classes), the accuracy with each test-time augmentation in ``tta``
    (``"flip"``, ``"crops"``: :func:`cnnzoo.evaluation.test_time_augmentation`), each
    class's precision, recall and F1, and the calibration: expected calibration error and
    NLL before and after temperature scaling. The temperature is fitted on the run's
    validation split and kept in ``RUN/calibration.json``, which
    ``predict_images(..., calibrated=True)`` applies; with ``data``, the stored one is
    used. ``confusion.png``, ``reliability.png``, ``gallery.png`` (the ``gallery`` most
    confident mistakes and least confident correct answers) and ``evaluation.json`` go
    to ``out`` (default: the run folder)."""
    from cnnzoo.data import pipeline
    from cnnzoo.evaluation.report import format_report, predict_split, summarize
    from cnnzoo.training import load_run_data
    from cnnzoo.transfer import imagenet_preprocessing

    tta = _check_tta(tta)
    if not is_int(gallery) or gallery < 1:
        raise UsageError(f"--gallery must be a positive number of images; received {gallery!r}.")
    run, config, model, class_names = open_run(run)
    top_k = _check_top_k(top_k, len(class_names))
    source = data or config["data"]
    run_data = load_run_data(  # a class may be missing from what is evaluated
        source, seed=config["seed"], validation_split=config["validation_split"], min_classes=1
    )
    if tuple(run_data.class_names) != class_names:
        raise UsageError(
            f"{source} has classes {list(run_data.class_names)}, the run {list(class_names)}."
        )
    split, images = ("test", run_data.test) if run_data.test is not None else (
        "validation", run_data.validation
    )  # fmt: skip

    def predict(split_images, **kwargs):
        batches = pipeline(split_images, model, training=False, input_range=run_data.input_range)
        return predict_split(model, batches, keep=gallery, **kwargs, preprocess=lambda x: (
            imagenet_preprocessing(x, config.get("preprocessing"))  # finetune runs
        ))  # fmt: skip

    evaluated = predict(images, tta=tta)
    if data is None and run_data.validation is None:
        calibration = {"warning": "No temperature scaling: the run has no validation split."}
    elif data is None:  # fitted on the run's own validation split, and kept
        validation = evaluated if split == "validation" else predict(run_data.validation)
        calibration = _fit_calibration(run, validation, f"the validation split of {source}")
    else:
        calibration = _stored_calibration(run)
    temperature = calibration.get("temperature")
    report = summarize(evaluated, class_names, top_k=top_k, temperature=temperature)
    report["calibration"].update(
        {key: calibration[key] for key in ("fitted_on", "warning") if key in calibration}
    )
    if split == "validation" and data is None:
        report["calibration"]["warning"] = (
            "The temperature was fitted on this same split: the figures after it are optimistic."
        )
    folder = Path(out) if out else run
    pictures = _draw_evaluation(folder, evaluated, class_names, temperature)
    write_json(folder / "evaluation.json",
               {"split": split, "source": source, **report, "pictures": pictures})  # fmt: skip
    written = ", ".join(pictures.values())
    return format_report(report, split=split, source=source) + f"\n\nIn {folder}: {written}"


def _check_tta(tta) -> tuple[str, ...]:
    from cnnzoo.evaluation import TTA_MODES

    modes = (tta,) if isinstance(tta, str) else tuple(tta or ())
    unknown = [mode for mode in modes if mode not in TTA_MODES]
    if unknown:
        raise UsageError(f"--tta must be among {TTA_MODES}; received {unknown[0]!r}.")
    return tuple(dict.fromkeys(modes))


def _check_top_k(top_k, classes: int) -> int | None:
    if top_k is None:
        return 5 if classes > 5 else None
    if not is_int(top_k) or not 1 <= top_k <= classes:
        raise UsageError(
            f"--top-k must be from 1 to the run's {classes} classes; received {top_k!r}."
        )
    return top_k


def _fit_calibration(run: Path, validation, fitted_on: str) -> dict:
    """Fits the temperature on ``validation`` predictions and writes ``calibration.json``."""
    from cnnzoo.evaluation import (
        ECE_BINS,
        apply_temperature,
        expected_calibration_error,
        fit_temperature,
        negative_log_likelihood,
        write_calibration,
    )

    labels, probabilities = validation.labels, validation.probabilities
    temperature = fit_temperature(probabilities, labels)
    figures = {}
    for when, scores in (("before", probabilities),
                         ("after", apply_temperature(probabilities, temperature))):  # fmt: skip
        figures[when] = {"ece": expected_calibration_error(scores, labels, ECE_BINS),
                         "nll": negative_log_likelihood(scores, labels)}  # fmt: skip
    details = {"fitted_on": fitted_on, "images": len(labels), "bins": ECE_BINS, **figures}
    write_calibration(run, temperature, **details)
    return {"temperature": temperature, **details}


def _stored_calibration(run: Path) -> dict:
    from cnnzoo.evaluation import read_calibration

    try:
        return read_calibration(run)
    except ValueError as error:  # not calibrated yet: the report says how it would be
        return {"warning": f"No temperature scaling: {error}"}


def _draw_evaluation(folder: Path, evaluated, class_names, temperature) -> dict[str, str]:
    """Writes the confusion matrix, the reliability diagram (before and after
    ``temperature``, when there is one) and the gallery; returns ``{what: file name}``."""
    from cnnzoo.evaluation import apply_temperature
    from cnnzoo.viz import confusion_matrix, prediction_gallery, reliability_diagram

    labels, probabilities = evaluated.labels, evaluated.probabilities
    names = list(class_names)
    confusion_matrix(labels, probabilities, folder / "confusion.png", class_names=names)
    calibrated = None if temperature is None else apply_temperature(probabilities, temperature)
    reliability_diagram(probabilities, labels, folder / "reliability.png", calibrated=calibrated)
    prediction_gallery(*evaluated.examples, folder / "gallery.png", class_names=names)
    return {"confusion": "confusion.png", "reliability": "reliability.png",
            "gallery": "gallery.png"}  # fmt: skip


def predict_images(run, images, *, top_k: int = 3, calibrated: bool = False):
    """``(image, [(class name, probability), ...])`` for each image file, best first.

    ``run`` is a run folder, or a pretrained tag (``"resnet50.tv2_in1k"``): its model with
    those weights classifies the images into the 1,000 ImageNet classes, each image
    resized, cropped and normalized as the weights expect (downloaded when not cached).
    ``calibrated=True`` divides a run's logits by the temperature that ``cnnzoo evaluate``
    fitted (``RUN/calibration.json``); a run without one is refused before any work."""
    from cnnzoo.evaluation import apply_temperature, read_calibration
    from cnnzoo.pretrained.sources import is_tag

    if top_k < 1:
        raise UsageError(f"--top-k must be at least 1; received {top_k}.")
    if calibrated and is_tag(os.fspath(run)) and not Path(run).exists():
        raise UsageError(f"--calibrated needs a run folder; received the pretrained tag {run}.")
    if is_tag(os.fspath(run)) and not Path(run).exists():
        yield from _predict_pretrained(os.fspath(run), images, top_k)
        return
    temperature = None
    if calibrated and (Path(run) / "config.json").exists():
        try:
            temperature = read_calibration(run)["temperature"]
        except ValueError as error:
            raise UsageError(f"--calibrated: {error}") from None
    run, config, model, class_names = open_run(run)
    check_images(images)
    for image in images:
        _, inputs = load_run_image(image, model, config)
        probabilities = np.asarray(model.predict_on_batch(inputs))[0]
        if temperature is not None:
            probabilities = apply_temperature(probabilities[None], temperature)[0]
        best = np.argsort(probabilities)[::-1][:top_k]
        yield image, [(class_names[i], float(probabilities[i])) for i in best]


def check_images(images) -> None:
    """Every file is an image (one line naming the first that is not), before any work."""
    for image in images:
        _check_image(image)


def load_run_image(image, model: keras.Model, config: dict) -> tuple[np.ndarray, np.ndarray]:
    """``(picture, inputs)`` of an image file for a run's model: the picture at the model's
    size and channels, 0-255 as the run's pipeline gave the model, and the batch of one
    that the model takes (with the run's recorded preprocessing, for fine-tuning runs)."""
    from cnnzoo.transfer import imagenet_preprocessing

    height, width, channels = model.input_shape[1:]
    mode = {1: "grayscale", 3: "rgb", 4: "rgba"}[channels]
    try:
        loaded = keras.utils.load_img(image, color_mode=mode, target_size=(height, width))
    except (OSError, ValueError) as error:  # truncated: only decoding finds it
        raise UsageError(f"{image!r} does not decode as an image ({error}).") from None
    array = keras.utils.img_to_array(loaded)
    return array, imagenet_preprocessing(array[None], config.get("preprocessing"))


def _predict_pretrained(tag: str, images, top_k: int):
    from cnnzoo.pretrained import imagenet_class_names, pretrained_weights
    from cnnzoo.pretrained.images import prepare_image
    from cnnzoo.registry import create_model

    entry = pretrained_weights(tag)
    check_images(images)  # before the download and the first prediction
    size = entry.preprocessing.input_size
    model = create_model(entry.model, input_shape=(size, size, 3), weights=tag)
    names = imagenet_class_names()
    for image in images:
        probabilities = np.asarray(
            model.predict_on_batch(prepare_image(image, entry.preprocessing)[None])
        )[0]
        best = np.argsort(probabilities)[::-1][:top_k]
        yield image, [(names[i], float(probabilities[i])) for i in best]


def _check_image(image) -> None:
    """A missing file or one that is not an image is a one-line error."""
    from PIL import Image, UnidentifiedImageError

    if not Path(image).is_file():
        raise UsageError(f"no image file {image!r}.")
    try:
        with Image.open(image) as opened:
            opened.verify()
    except UnidentifiedImageError:
        raise UsageError(f"{image!r} is not an image (no image format PIL reads).") from None
    except (OSError, ValueError, SyntaxError) as error:  # PIL raises these for bad data
        raise UsageError(f"{image!r} does not decode as an image ({error}).") from None


def export_run(run, format: str, *, out: str | None = None, quantize: str | None = None):
    """Exports a run's best model into ``out`` (default ``RUN/export/``), verified on up to
    256 images of the run's test split (validation split when it has none), with
    ``labels.txt`` and ``metadata.json`` beside it; returns the
    :class:`~cnnzoo.export.ExportReport`. ``onnx`` needs the ``tf2onnx`` and ``onnx``
    packages, and ``onnxruntime`` to be verified. See :func:`cnnzoo.export.export_model`."""
    from cnnzoo.export import check_export_arguments, export_model, load_export_images

    check_export_arguments(format, quantize)  # before the run is read or anything written
    run, config, model, class_names = open_run(run)
    data = load_export_images(config, model, calibration=128 if quantize == "int8" else None)
    return export_model(
        model, Path(out) if out else run / "export", format, class_names=class_names,
        data=data, quantize=quantize, preprocessing=config.get("preprocessing"),
    )  # fmt: skip
