"""Running an exported model with the runtime that serves it: the `.keras` file reloaded,
the SavedModel through ``tf.saved_model.load``, the ``.tflite`` file through the LiteRT
interpreter and the ``.onnx`` file through ONNX Runtime. Each loader returns a function
from a float32 batch to the model's output as numpy."""

from __future__ import annotations

import importlib.util
import warnings
from collections.abc import Callable
from pathlib import Path

import numpy as np

Predict = Callable[[np.ndarray], np.ndarray]


def runtime_missing(format: str) -> str | None:
    """Why an exported ``format`` cannot be run here, in one line, or ``None`` when it can.

    Example:
        >>> runtime_missing("keras") is None
        True
    """
    if format == "onnx" and importlib.util.find_spec("onnxruntime") is None:
        return "onnxruntime is not installed (pip install onnxruntime, or 'cnnzoo[export]')"
    return None


def load_exported(path: str | Path, format: str) -> Predict:
    """A function running the model exported at ``path`` in ``format`` on a batch.

    Raises:
        ImportError: For ``onnx`` where ONNX Runtime is not installed.
    """
    path = Path(path)
    loaders = {"keras": _keras, "saved_model": _saved_model, "tflite": _tflite, "onnx": _onnx}
    return loaders[format](path)


def _single(outputs) -> np.ndarray:
    """The one output of a model, whether a runtime gives a dict, a list or an array."""
    if isinstance(outputs, dict):
        outputs = list(outputs.values())
    if isinstance(outputs, (list, tuple)):
        outputs = outputs[0]
    return np.asarray(outputs)


def _keras(path: Path) -> Predict:
    import keras

    model = keras.saving.load_model(path, compile=False)
    return lambda images: _single(model.predict_on_batch(images))


def _saved_model(path: Path) -> Predict:
    import tensorflow as tf

    loaded = tf.saved_model.load(str(path))
    # Keras' ExportArchive names its endpoint "serve"; other SavedModels have a signature.
    # The function holds the loaded object: its variables go with it.
    if hasattr(loaded, "serve"):
        return lambda images: _single(loaded.serve(tf.constant(images)))
    return lambda images: _single(loaded.signatures["serving_default"](tf.constant(images)))


def litert_interpreter(path: str | Path):
    """LiteRT's interpreter (the ``ai-edge-litert`` package) when installed, else the one
    TensorFlow still ships as ``tf.lite.Interpreter`` (deprecated there in favour of it)."""
    if importlib.util.find_spec("ai_edge_litert") is not None:
        from ai_edge_litert import interpreter as litert

        interpreter = litert.Interpreter
    else:
        import tensorflow as tf

        interpreter = tf.lite.Interpreter
    with warnings.catch_warnings():  # tf.lite's deprecation notice, on every construction
        warnings.simplefilter("ignore")
        return interpreter(model_path=str(path))


def _tflite(path: Path) -> Predict:
    interpreter = litert_interpreter(path)
    runner = interpreter.get_signature_runner()  # resizes its input to each batch
    (name,) = interpreter.get_signature_list()["serving_default"]["inputs"]
    return lambda images: _single(runner(**{name: np.asarray(images, "float32")}))


def _onnx(path: Path) -> Predict:
    missing = runtime_missing("onnx")
    if missing:
        raise ImportError(missing)
    import onnxruntime

    session = onnxruntime.InferenceSession(str(path), providers=["CPUExecutionProvider"])
    name = session.get_inputs()[0].name
    return lambda images: _single(session.run(None, {name: np.asarray(images, "float32")}))
