"""What goes beside an exported model: ``labels.txt`` (the class names, one a line, in
the order of the model's outputs) and ``metadata.json`` (the class names, the input the
model takes, the preprocessing and where it happens, and each export's verification)."""

from __future__ import annotations

from pathlib import Path

from cnnzoo.files import read_json, write_json, write_text

COLOR_MODES = {1: "grayscale", 3: "rgb", 4: "rgba"}


def input_description(
    input_shape, preprocessing: str | None, data_range: tuple[float, float] | None
) -> dict:
    """What the exported model takes: shape, dtype, value range, channels, resizing, and
    the run's preprocessing (folded into the exported graph, so applied by the model).

    Example:
        >>> description = input_description((28, 28, 1), None, (0, 1))
        >>> description["value_range"], description["color_mode"]
        ([0, 255], 'grayscale')
    """
    shape = [int(size) for size in input_shape]
    where = (
        f", and the {preprocessing!r} preprocessing is a layer of the exported model"
        if preprocessing
        else "; the model has no other preprocessing"
    )
    return {
        "shape": shape,
        "layout": "batch first, channels last",
        "dtype": "float32",
        "value_range": [0, 255],
        "color_mode": COLOR_MODES.get(shape[-1], f"{shape[-1]} channels"),
        "resize": f"bilinear, stretched to {'x'.join(map(str, shape[:-1]))} "
        "(cnnzoo.data.pipeline's default)",
        "run_data_range": list(data_range) if data_range is not None else None,
        "preprocessing": preprocessing,
        "preprocessing_in_model": preprocessing is not None,
        "note": "raw pixel values: the run's data range was mapped to [0, 255] as in training"
        + where,
    }


def write_metadata(folder: str | Path, class_names, input: dict, file_name: str, export: dict):
    """Writes ``labels.txt`` and ``metadata.json`` in ``folder``, atomically.

    ``metadata.json`` keeps the entries of other exports in ``folder`` when their files
    are still there and the class names and input are the same; ``export`` is the entry of
    ``file_name``.

    Example:
        >>> import tempfile
        >>> folder = Path(tempfile.mkdtemp())
        >>> _ = (folder / "model.tflite").write_bytes(b"")
        >>> write_metadata(folder, ["cat", "dog"], {"shape": [8, 8, 3]}, "model.tflite", {})
        >>> (folder / "labels.txt").read_text().split()
        ['cat', 'dog']
        >>> read_json(folder / "metadata.json")["exports"]
        {'model.tflite': {}}
    """
    folder = Path(folder)
    class_names = [str(name) for name in class_names]
    before = read_json(folder / "metadata.json") or {}
    exports = {}
    if before.get("class_names") == class_names and before.get("input") == input:
        exports = {
            name: entry
            for name, entry in before.get("exports", {}).items()
            if (folder / name).exists()
        }
    exports[file_name] = export
    write_text(folder / "labels.txt", "".join(f"{name}\n" for name in class_names))
    write_json(
        folder / "metadata.json",
        {"class_names": class_names, "input": input, "exports": dict(sorted(exports.items()))},
    )
