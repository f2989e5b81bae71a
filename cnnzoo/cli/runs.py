"""What the command line does with a run folder: evaluate, predict, export."""

from __future__ import annotations

import json
import os
from pathlib import Path

import keras
import numpy as np

from cnnzoo.cli import UsageError
from cnnzoo.cli.tables import format_rows


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


def evaluate_run(run, *, data: str | None = None, out: str | None = None) -> str:
    """Evaluates a run's best model on its test split (its validation split when the
    source has none) or on ``data``; writes ``confusion.png`` and ``evaluation.json``
    and returns the report text."""
    from cnnzoo.data import pipeline
    from cnnzoo.training import load_run_data
    from cnnzoo.transfer import imagenet_preprocessing
    from cnnzoo.viz import confusion_counts, confusion_matrix

    run, config, model, class_names = open_run(run)
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
    batches = pipeline(images, model, training=False, input_range=run_data.input_range)
    labels, predicted = [], []
    for x, y in batches:
        labels.append(np.asarray(y))
        inputs = imagenet_preprocessing(x, config.get("preprocessing"))  # finetune runs
        predicted.append(np.asarray(model.predict_on_batch(inputs)).argmax(axis=-1))
    labels, predicted = np.concatenate(labels), np.concatenate(predicted)
    counts = confusion_counts(labels, predicted, len(class_names))
    folder = Path(out) if out else run
    folder.mkdir(parents=True, exist_ok=True)
    confusion_matrix(labels, predicted, folder / "confusion.png", class_names=list(class_names))
    accuracy = float(np.trace(counts) / counts.sum())
    rows, per_class = [], {}
    for i, name in enumerate(class_names):
        precision = counts[i, i] / max(1, counts[:, i].sum())
        recall = counts[i, i] / max(1, counts[i].sum())
        per_class[name] = {"precision": float(precision), "recall": float(recall),
                           "support": int(counts[i].sum())}  # fmt: skip
        rows.append((name, f"{precision:.3f}", f"{recall:.3f}", str(int(counts[i].sum()))))
    report = {"split": split, "source": source, "accuracy": accuracy, "classes": per_class}
    (folder / "evaluation.json").write_text(json.dumps(report, indent=2) + "\n")
    return (
        f"Accuracy on the {split} split of {source}: {accuracy:.4f} ({len(labels)} images)\n\n"
        + format_rows(("class", "precision", "recall", "images"), rows)
        + f"\n\nConfusion matrix: {folder / 'confusion.png'}"
    )


def predict_images(run, images, *, top_k: int = 3):
    """``(image, [(class name, probability), ...])`` for each image file, best first.

    ``run`` is a run folder, or a pretrained tag (``"resnet50.tv2_in1k"``): its model with
    those weights classifies the images into the 1,000 ImageNet classes, each image
    resized, cropped and normalized as the weights expect (downloaded when not cached)."""
    from cnnzoo.pretrained.sources import is_tag

    if top_k < 1:
        raise UsageError(f"--top-k must be at least 1; received {top_k}.")
    if is_tag(os.fspath(run)) and not Path(run).exists():
        yield from _predict_pretrained(os.fspath(run), images, top_k)
        return
    run, config, model, class_names = open_run(run)
    check_images(images)
    for image in images:
        _, inputs = load_run_image(image, model, config)
        probabilities = np.asarray(model.predict_on_batch(inputs))[0]
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
