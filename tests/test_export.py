"""Verified export (issue 21): ``cnnzoo export`` runs what it wrote on the run's images and
refuses a file that does not compute what the Keras model computes; quantized TFLite
reports size, accuracy and speed; class names and the input description go beside it.

One small LeNet-5 run, exported once per format and quantization into one folder for the
whole module: the TFLite conversions are the cost."""

import contextlib
import io
import json
import re

import keras
import numpy as np
import pytest

import cnnzoo.export.model
from cnnzoo.cli import main
from cnnzoo.data import load_sample
from cnnzoo.export import export_rows, preprocessing_affine, verify_export, with_preprocessing
from cnnzoo.training import train
from cnnzoo.transfer import imagenet_preprocessing

CLASSES = ("digit0", "digit1", "digit7")
EXPORTS = {
    "keras": ["--format", "keras"],
    "tflite": ["--format", "tflite"],
    "tflite int8": ["--format", "tflite", "--quantize", "int8"],
    "tflite float16": ["--format", "tflite", "--quantize", "float16"],
}


def export(*args) -> tuple[int, str, str]:
    """``cnnzoo export ARGS`` in this process: ``(exit status, stdout, stderr)``."""
    out, err = io.StringIO(), io.StringIO()
    with contextlib.redirect_stdout(out), contextlib.redirect_stderr(err):
        try:
            status = main(["export", *map(str, args)])
        except SystemExit as error:
            status = error.code
    return status, out.getvalue(), err.getvalue()


def files_under(folder) -> list[str]:
    return sorted(path.name for path in folder.rglob("*")) if folder.exists() else []


def table_row(stdout: str, label: str) -> list[str]:
    """The cells of ``label``'s row of the printed table."""
    line = next(line for line in stdout.splitlines() if line.startswith(f"{label}  "))
    return re.split(r"\s{2,}", line.strip())


@pytest.fixture(scope="session")
def run(tmp_path_factory):
    """A three-epoch LeNet-5 run on 60 real digits (0, 1, 7): 12 validation images."""
    root = tmp_path_factory.mktemp("export")
    sample = load_sample("mnist").train
    for name in CLASSES:
        (root / "images" / name).mkdir(parents=True)
        for i, index in enumerate(np.flatnonzero(sample.labels == int(name[-1]))[:20]):
            image = (sample.images[index] * 255).astype("uint8")
            keras.utils.save_img(root / "images" / name / f"{i}.png", image, scale=False)
    keras.utils.set_random_seed(0)
    train("lenet5", root / "images", out=root / "run", epochs=3, batch_size=8,
          learning_rate=3e-3, model_kwargs={"variant": "modern"}, verbose=0)  # fmt: skip
    return root / "run"


@pytest.fixture(scope="session")
def exported(run):
    """``{label: (status, stdout, stderr)}`` of each export into ``RUN/export``."""
    return {label: export(run, *args) for label, args in EXPORTS.items()}


@pytest.mark.slow
def test_keras_and_tflite_exports_pass_verification(run, exported):
    for label, name in (("keras", "model.keras"), ("tflite", "model.tflite")):
        status, out, err = exported[label]
        assert status == 0, err
        assert f"Exported to {run / 'export' / name} (checked on 12 validation images)" in out
        _, _, difference, agreement, accuracy, _ = table_row(out, label)
        assert float(difference) <= 1e-4 and agreement == "100.00%", out
        assert accuracy == table_row(out, "keras model (reference)")[4]
    reloaded = keras.saving.load_model(run / "export" / "model.keras")
    assert reloaded.output_shape == (None, 3)
    assert not [name for name in files_under(run / "export") if "partial" in name]


@pytest.mark.slow
def test_quantized_exports_report_size_accuracy_and_speed(run, exported):
    metadata = json.loads((run / "export" / "metadata.json").read_text())["exports"]
    sizes = {}
    for label in ("tflite int8", "tflite float16", "tflite"):
        status, out, err = exported[label]
        assert status == 0, err
        _, size, _, _, accuracy, ms = table_row(out, label)
        # A fast runtime rounds to 0.00 in the table; metadata keeps the unrounded figure.
        assert size.endswith("KiB") and float(ms) >= 0 and accuracy.endswith("%")
        name = "model.tflite" if label == "tflite" else f"model_{label.split()[1]}.tflite"
        entry = metadata[name]
        assert entry["verified"] and 0 <= entry["export_accuracy"] <= 1
        assert entry["keras_accuracy"] == metadata["model.keras"]["keras_accuracy"]
        assert (
            entry["ms_per_image"] > 0
            and entry["size_bytes"] == (run / "export" / name).stat().st_size
        )
        sizes[label] = entry["size_bytes"]
    assert sizes["tflite int8"] < sizes["tflite float16"] < sizes["tflite"]
    assert "calibrated on 48 training images" in metadata["model_int8.tflite"]["quantization"]


@pytest.mark.slow
def test_metadata_holds_class_names_and_input(run, exported):
    assert all(status == 0 for status, _, _ in exported.values())
    assert (run / "export" / "labels.txt").read_text().splitlines() == list(CLASSES)
    metadata = json.loads((run / "export" / "metadata.json").read_text())
    assert metadata["class_names"] == list(CLASSES)
    assert metadata["input"]["shape"] == [32, 32, 1] and metadata["input"]["value_range"] == [
        0,
        255,
    ]
    assert metadata["input"]["preprocessing_in_model"] is False
    assert sorted(metadata["exports"]) == ["model.keras", "model.tflite", "model_float16.tflite",
                                           "model_int8.tflite"]  # fmt: skip


def _write_with_other_weights(write_export):
    def write(model, path, format, **kwargs):
        broken = keras.models.clone_model(model)
        broken.set_weights([w + np.float32(0.05) for w in model.get_weights()])
        return write_export(broken, path, format, **kwargs)

    return write


@pytest.mark.slow
def test_an_export_that_computes_something_else_is_refused(run, tmp_path, monkeypatch):
    monkeypatch.setattr(
        cnnzoo.export.model,
        "write_export",
        _write_with_other_weights(cnnzoo.export.model.write_export),
    )
    status, out, err = export(run, "--format", "keras", "--out", tmp_path / "new")
    assert status == 1 and len(err.strip().splitlines()) == 1 and out == "", err
    assert "differs from the Keras model by up to" in err and "not written" in err
    assert files_under(tmp_path / "new") == [] and not (tmp_path / "new").exists()
    # Into a folder with an earlier export: that stays as it was, nothing is added.
    earlier = tmp_path / "earlier"
    earlier.mkdir()
    (earlier / "model.keras").write_bytes(b"earlier")
    assert export(run, "--format", "keras", "--out", earlier)[0] == 1
    assert files_under(earlier) == ["model.keras"]
    assert (earlier / "model.keras").read_bytes() == b"earlier"


@pytest.mark.parametrize("format", ["keras", "saved_model", "onnx"])
def test_quantize_applies_to_tflite_only(format, tmp_path):
    status, out, err = export(tmp_path / "no-run", "--format", format, "--quantize", "int8",
                              "--out", tmp_path / "out")  # fmt: skip
    assert status == 2 and out == "" and len(err.strip().splitlines()) == 1
    assert "--quantize 'int8' applies to tflite exports only; received --format" in err, err
    assert not (tmp_path / "out").exists()


# keras' "torch" mode takes 3 channels only; the others adapt to one.
@pytest.mark.parametrize(
    ("mode", "channels"),
    [("caffe", 3), ("tf", 3), ("torch", 3), ("resnet18.tv_in1k", 3), ("caffe", 1), ("tf", 1),
     ("resnet18.tv_in1k", 1)],
)  # fmt: skip
def test_folded_preprocessing_matches_the_runs(mode, channels):
    inner = keras.Sequential([keras.Input((4, 4, channels)), keras.layers.Conv2D(2, 3)])
    images = np.random.default_rng(0).uniform(0, 255, (2, 4, 4, channels)).astype("float32")
    expected = inner(imagenet_preprocessing(images.copy(), mode))
    folded = with_preprocessing(inner, mode)
    np.testing.assert_allclose(folded(images), expected, rtol=1e-5, atol=1e-4)
    assert folded.input_shape == inner.input_shape and folded.layers[1].name == "preprocessing"


def test_a_preprocessing_that_is_not_affine_is_not_folded(monkeypatch):
    monkeypatch.setattr("cnnzoo.transfer.imagenet_preprocessing", lambda x, mode: x**2)
    with pytest.raises(ValueError, match="'square' is not affine per pixel"):
        preprocessing_affine("square", 3)


def test_a_file_no_runtime_here_can_run_is_reported_unverified(tmp_path, monkeypatch):
    monkeypatch.setattr("cnnzoo.export.verify.runtime_missing", lambda format: "no onnxruntime")
    (tmp_path / "model.onnx").write_bytes(b"onnx")
    report = verify_export(tmp_path / "model.onnx", "onnx", None, np.zeros((2, 4, 4, 1)))
    assert not report.verified and report.problem() is None
    assert report.note == "not verified: no onnxruntime" and report.size_bytes == 4
    assert export_rows([report])[0][:3] == ("onnx", "0 KiB", "not verified: no onnxruntime")
