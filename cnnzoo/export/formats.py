"""Writing a Keras model in each export format, with its preprocessing folded in.

Every exported model takes what the run's pipeline gave the Keras model: images resized
to its input size, channels last, float32 values in [0, 255]. A fine-tuning run whose
pretrained weights expect ImageNet preprocessing (``"caffe"``, ``"tf"``, ``"torch"`` or a
tag's own) gets that preprocessing folded into the exported graph as one per-pixel affine
layer (:func:`with_preprocessing`), so that its exported model takes raw images too.
"""

from __future__ import annotations

import importlib.util
import shutil
from pathlib import Path

import keras
import numpy as np

EXPORT_FORMATS = ("keras", "saved_model", "tflite", "onnx")
QUANTIZE_MODES = ("int8", "float16")


def export_file_name(format: str, quantize: str | None = None) -> str:
    """The name of the exported file (a folder for ``saved_model``) in the export folder.

    Example:
        >>> export_file_name("tflite"), export_file_name("tflite", "int8")
        ('model.tflite', 'model_int8.tflite')
    """
    stem = f"model_{quantize}" if quantize else "model"
    return {"keras": f"{stem}.keras", "saved_model": "saved_model", "tflite": f"{stem}.tflite",
            "onnx": f"{stem}.onnx"}[format]  # fmt: skip


def check_export_arguments(format: str, quantize: str | None = None) -> None:
    """Refuses an unknown format, an unknown quantization, or quantization of other than
    TFLite, before anything is written.

    Raises:
        ValueError: Naming the received value.
    """
    if format not in EXPORT_FORMATS:
        raise ValueError(f"format must be one of {EXPORT_FORMATS}; received format={format!r}.")
    if quantize is not None and quantize not in QUANTIZE_MODES:
        raise ValueError(
            f"quantize must be one of {QUANTIZE_MODES}; received quantize={quantize!r}."
        )
    if quantize is not None and format != "tflite":
        raise ValueError(
            f"quantize={quantize!r} applies to tflite exports only; received format={format!r}."
        )
    if format == "onnx":
        missing = [name for name in ("tf2onnx", "onnx") if importlib.util.find_spec(name) is None]
        if missing:
            raise ValueError(
                f"format='onnx' needs {' and '.join(missing)}: pip install {' '.join(missing)} "
                "(or pip install 'cnnzoo[export]')."
            )


def preprocessing_affine(mode: str, channels: int) -> tuple[np.ndarray, np.ndarray]:
    """``(kernel, bias)`` with ``images @ kernel + bias`` equal to
    :func:`cnnzoo.transfer.imagenet_preprocessing` of ``images`` in ``mode``: every mode
    (a channel permutation, a scale and a shift per channel) is affine per pixel, found by
    probing it with the unit colours and checked on random pixels.

    Example:
        >>> kernel, bias = preprocessing_affine("tf", 3)
        >>> (np.diag(kernel) * 127.5).round(5).tolist(), bias.tolist()  # x / 127.5 - 1
        ([1.0, 1.0, 1.0], [-1.0, -1.0, -1.0])

    Raises:
        ValueError: If ``mode`` is not affine per pixel.
    """
    from cnnzoo.transfer import imagenet_preprocessing

    def apply(pixels: np.ndarray) -> np.ndarray:  # (N, C) -> (N, C)
        images = pixels.astype("float32")[:, None, None, :]
        return np.asarray(imagenet_preprocessing(images, mode), "float64")[:, 0, 0, :]

    bias = apply(np.zeros((1, channels)))[0]
    kernel = apply(np.eye(channels)) - bias
    pixels = np.random.default_rng(0).uniform(0, 255, (16, channels))
    expected = apply(pixels)
    tolerance = 1e-4 * abs(expected).max()
    if not np.allclose(pixels @ kernel + bias, expected, rtol=1e-5, atol=tolerance):
        raise ValueError(f"preprocessing {mode!r} is not affine per pixel; it cannot be folded.")
    return kernel.astype("float32"), bias.astype("float32")


def with_preprocessing(model: keras.Model, mode: str | None) -> keras.Model:
    """``model`` taking raw [0, 255] images: ``mode``'s preprocessing folded in front of it
    as a ``Dense`` layer over the channels (named ``preprocessing``); ``model`` itself
    when ``mode`` is ``None``.

    Example:
        >>> from cnnzoo.transfer import imagenet_preprocessing
        >>> inner = keras.Sequential([keras.Input((2, 2, 3)), keras.layers.Flatten()])
        >>> x = np.random.default_rng(0).uniform(0, 255, (1, 2, 2, 3)).astype("float32")
        >>> folded = with_preprocessing(inner, "caffe")(x)
        >>> bool(np.allclose(folded, inner(imagenet_preprocessing(x, "caffe")), atol=1e-4))
        True
    """
    if mode is None:
        return model
    kernel, bias = preprocessing_affine(mode, model.input_shape[-1])
    inputs = keras.Input(model.input_shape[1:], name="images")
    layer = keras.layers.Dense(kernel.shape[1], name="preprocessing", trainable=False)
    outputs = model(layer(inputs))
    layer.set_weights([kernel, bias])
    return keras.Model(inputs, outputs, name=f"{model.name}_raw_images")


def write_export(
    model: keras.Model,
    path: str | Path,
    format: str,
    *,
    quantize: str | None = None,
    calibration_images: np.ndarray | None = None,
) -> Path:
    """Writes ``model`` (already taking raw images: :func:`with_preprocessing`) at
    ``path`` in ``format``: a ``.keras`` file, a SavedModel folder, a ``.tflite`` file
    (with ``quantize``, see :func:`litert_options`) or an ``.onnx`` file."""
    check_export_arguments(format, quantize)
    path = Path(path)
    if format == "keras":
        model.save(path)
    elif format == "saved_model":
        model.export(str(path), format="tf_saved_model", verbose=False)
    elif format == "tflite":
        options = litert_options(quantize, calibration_images)
        model.export(str(path), format="litert", verbose=False, **options)
    else:
        # Keras' ONNX exporter refuses a model never called (one just loaded from a file).
        model(np.zeros((1, *model.input_shape[1:]), "float32"), training=False)
        model.export(str(path), format="onnx", verbose=False)
    return path


def litert_options(quantize: str | None, calibration_images: np.ndarray | None = None) -> dict:
    """The converter settings of Keras' LiteRT export for ``quantize``:

    - ``"float16"``: weights stored as float16 (half the size), computed in float32;
    - ``"int8"``: weights and activations in int8, their ranges calibrated on
      ``calibration_images`` (the run's training images, one at a time); input and output
      stay float32 (quantized and dequantized in the graph), and an op without an int8
      kernel falls back to float (Keras' exporter allows TFLite builtins and TF ops).
    """
    import tensorflow as tf

    if quantize is None:
        return {}
    if quantize == "float16":
        return {
            "optimizations": [tf.lite.Optimize.DEFAULT],
            "target_spec": {"supported_types": [tf.float16]},
        }
    if calibration_images is None or len(calibration_images) == 0:
        raise ValueError("quantize='int8' needs calibration images (the run's training images).")

    def representative_dataset():
        for image in calibration_images:
            yield [np.asarray(image, "float32")[None]]

    return {
        "optimizations": [tf.lite.Optimize.DEFAULT],
        "representative_dataset": representative_dataset,
    }


def path_size(path: str | Path) -> int:
    """Bytes of a file, or of every file under a folder (a SavedModel)."""
    path = Path(path)
    if path.is_dir():
        return sum(item.stat().st_size for item in path.rglob("*") if item.is_file())
    return path.stat().st_size


def remove_path(path: str | Path) -> None:
    """Removes a file or a folder, if there."""
    path = Path(path)
    if path.is_dir() and not path.is_symlink():
        shutil.rmtree(path, ignore_errors=True)
    else:
        path.unlink(missing_ok=True)
