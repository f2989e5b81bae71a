"""What each export format gives: LeNet-5 and the CIFAR-style ResNet-20 trained for a short
run on the bundled MNIST sample, then exported in every format available here (``.keras``,
SavedModel, TFLite float32, int8 and float16, and ONNX where ``tf2onnx``, ``onnx`` and
``onnxruntime`` are installed), each verified as ``cnnzoo export`` verifies it.

Printed per model: the table ``cnnzoo export`` prints (file size; the largest difference
of class probabilities from the Keras model and the top-1 agreement with it, on 256
held-out test digits; the accuracy on those digits; the median milliseconds of one image
on this CPU), one row per format. ResNet-20 sees the digits resized to 32x32 and repeated
to three channels. On the 2 shared CPU cores of the development machine the defaults take
about 5 minutes.

    .venv/bin/python benchmarks/bench_export.py [--lenet-epochs 3] [--resnet-epochs 2]
        [--models lenet5,resnet20] [--out DIR]
"""

from __future__ import annotations

import argparse
import importlib.util
import json
import os
import platform
import tempfile
import time
from pathlib import Path

os.environ.setdefault("TF_CPP_MIN_LOG_LEVEL", "3")

import keras

from cnnzoo.cli.tables import format_rows
from cnnzoo.export import (
    EXPORT_TABLE_HEADER,
    export_model,
    export_rows,
    load_export_images,
    runtime_missing,
)
from cnnzoo.training import train

EXPORTS = [("keras", None), ("saved_model", None), ("tflite", None), ("tflite", "int8"),
           ("tflite", "float16"), ("onnx", None)]  # fmt: skip
MODEL_KWARGS = {"lenet5": {"variant": "modern"}, "resnet20": {}}


def available(format: str) -> str | None:
    """Why ``format`` cannot be exported and run here, or ``None``."""
    if format != "onnx":
        return None
    missing = [name for name in ("tf2onnx", "onnx") if importlib.util.find_spec(name) is None]
    return f"not installed: {', '.join(missing)}" if missing else runtime_missing(format)


def bench(model_name: str, epochs: int, folder: Path) -> str:
    start = time.perf_counter()
    keras.utils.set_random_seed(0)
    train(model_name, out=folder / "run", epochs=epochs, patience=None, verbose=0,
          model_kwargs=MODEL_KWARGS[model_name])  # fmt: skip
    trained = time.perf_counter() - start
    config = json.loads((folder / "run" / "config.json").read_text())
    indices = json.loads((folder / "run" / "class_indices.json").read_text())
    model = keras.saving.load_model(folder / "run" / "model.keras", compile=False)
    data = load_export_images(config, model, calibration=128)
    reports, skipped = [], []
    for format, quantize in EXPORTS:
        why = available(format)
        if why:
            skipped.append(f"{format}: {why}")
            continue
        reports.append(export_model(model, folder / "export", format, data=data,
                                    class_names=sorted(indices, key=indices.get),
                                    quantize=quantize))  # fmt: skip
    size = (folder / "run" / "model.keras").stat().st_size
    lines = [
        f"{model_name}: {model.count_params():,} parameters, input {model.input_shape[1:]}, "
        f"{epochs} epochs in {trained:.0f} s; checked on {data.images.shape[0]} "
        f"{data.split} digits",
        format_rows(EXPORT_TABLE_HEADER, export_rows(reports, keras_size_bytes=size)),
    ]
    if skipped:
        lines.append("not exported: " + "; ".join(skipped))
    return "\n".join(lines)


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--lenet-epochs", type=int, default=3)
    parser.add_argument("--resnet-epochs", type=int, default=2)
    parser.add_argument("--models", default="lenet5,resnet20")
    parser.add_argument("--out", default=None, help="keep the runs and exports here")
    args = parser.parse_args()
    root = Path(args.out or tempfile.mkdtemp(prefix="bench_export_"))
    epochs = {"lenet5": args.lenet_epochs, "resnet20": args.resnet_epochs}
    print(f"CPU: {platform.processor() or platform.machine()}, {os.cpu_count()} cores\n")
    for name in args.models.split(","):
        print(bench(name, epochs[name], root / name) + "\n", flush=True)


if __name__ == "__main__":
    main()
