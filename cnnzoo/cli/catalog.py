"""What ``cnnzoo list`` and ``cnnzoo info`` print about each registered model at its
defaults, shipped in ``catalog.json``: with it both answer in a fraction of a second,
without Keras and TensorFlow (importing TensorFlow takes seconds, and building every model
a few minutes: the VGG heads alone hold 100M+ weights). ``cnnzoo info`` with other
arguments builds the model. A test checks the file against the registry and the models;
regenerate it with ``python -m cnnzoo.cli.catalog``."""

from __future__ import annotations

import dataclasses
import fnmatch
import functools
import json
import math
from importlib import resources
from pathlib import Path

from cnnzoo.compute.rows import LayerRow
from cnnzoo.registry import natural_key, unknown_name_message

CATALOG_FILE = "catalog.json"


@dataclasses.dataclass(frozen=True)
class CatalogRow:
    """One line of ``cnnzoo list``."""

    name: str
    family: str
    params: int
    macs: int
    default_input: tuple[int, ...]
    min_input_size: int


@dataclasses.dataclass(frozen=True)
class ModelSheet:
    """Everything ``cnnzoo info`` prints about a model built with some arguments."""

    name: str
    family: str
    paper: str
    year: int
    notes: str
    default_input_shape: tuple[int, ...]
    min_input_size: int
    input_shape: tuple
    output_shape: tuple
    params: int
    trainable_params: int
    macs: int
    layers: tuple[LayerRow, ...]
    pretrained: tuple[str, ...] = ()

    def to_json(self) -> dict:
        fields = {field.name: getattr(self, field.name) for field in dataclasses.fields(self)}
        del fields["name"]
        fields["layers"] = [dataclasses.astuple(row) for row in self.layers]
        return fields

    @classmethod
    def from_json(cls, name: str, fields: dict) -> ModelSheet:
        fields = {key: _tuples(value) for key, value in fields.items()}
        layers = tuple(LayerRow(*row) for row in fields.pop("layers"))
        return cls(name=name, layers=layers, **fields)


def _tuples(value):
    """JSON's lists back to the tuples of shapes."""
    if isinstance(value, list):
        return tuple(_tuples(item) for item in value)
    return value


def _shape(shape) -> tuple:
    """A shape without its batch axis; one per output for several outputs."""
    if isinstance(shape, list):
        return tuple(tuple(one[1:]) for one in shape)
    return tuple(shape[1:])


def describe(name: str, **kwargs) -> ModelSheet:
    """Builds ``create_model(name, **kwargs)`` and describes it (this imports Keras)."""
    from cnnzoo.compute import count_macs, layer_table
    from cnnzoo.registry import create_model, model_info

    info = model_info(name)
    model = create_model(name, **kwargs)
    return ModelSheet(
        name=name,
        family=info.family,
        paper=info.paper,
        year=info.year,
        notes=info.notes,
        default_input_shape=tuple(info.default_input_shape),
        min_input_size=info.min_input_size,
        input_shape=_shape(model.input_shape),
        output_shape=_shape(model.output_shape),
        params=int(model.count_params()),
        trainable_params=int(sum(math.prod(w.shape) for w in model.trainable_weights)),
        macs=int(count_macs(model)),
        layers=tuple(layer_table(model)),
        pretrained=info.pretrained,
    )


@functools.cache
def _shipped() -> dict[str, dict]:
    with resources.files("cnnzoo.cli").joinpath(CATALOG_FILE).open() as file:
        return json.load(file)


def shipped_names() -> list[str]:
    """The models in the catalogue file (the registered ones), in natural order."""
    return sorted(_shipped(), key=natural_key)


def shipped_sheet(name: str) -> ModelSheet:
    """The shipped description of ``name`` at its defaults.

    Raises:
        ValueError: For a name not in the catalogue, with the closest names and
            ``'cnnzoo list'`` (the command line's words).

    Example:
        >>> sheet = shipped_sheet("lenet5")
        >>> sheet.params, sheet.output_shape, sheet.layers[0].name
        (60850, (10,), 'c1_conv')
    """
    if name not in _shipped():
        families = {other: fields["family"] for other, fields in _shipped().items()}
        raise ValueError(unknown_name_message(name, families, "'cnnzoo list'"))
    return ModelSheet.from_json(name, _shipped()[name])


def catalog(pattern: str = "*") -> list[CatalogRow]:
    """One row per shipped model whose name matches the fnmatch ``pattern``, in natural
    order.

    Example:
        >>> catalog("lenet*")[0]  # doctest: +NORMALIZE_WHITESPACE
        CatalogRow(name='lenet5', family='lenet', params=60850, macs=328096,
                   default_input=(32, 32, 1), min_input_size=32)
    """
    rows = []
    for name in shipped_names():
        if fnmatch.fnmatchcase(name, pattern):
            fields = _shipped()[name]
            rows.append(
                CatalogRow(
                    name,
                    fields["family"],
                    fields["params"],
                    fields["macs"],
                    tuple(fields["default_input_shape"]),
                    fields["min_input_size"],
                )
            )
    return rows


def _dump(sheets: dict[str, dict]) -> str:
    """JSON with one line per layer, so that a change to a model reads as a short diff."""
    models = []
    for name, fields in sheets.items():
        lines = [
            f"  {json.dumps(key)}: {json.dumps(value)}" for key, value in fields.items()
            if key != "layers"
        ]  # fmt: skip
        lines.append('  "layers": [\n' + ",\n".join(
            f"   {json.dumps(row)}" for row in fields["layers"]
        ) + "\n  ]")  # fmt: skip
        models.append(f" {json.dumps(name)}: {{\n" + ",\n".join(lines) + "\n }")
    return "{\n" + ",\n".join(models) + "\n}\n"


def write_catalog(path: str | Path | None = None) -> Path:
    """Builds every registered model at its defaults and writes the catalogue file."""
    import keras

    from cnnzoo.registry import list_models

    path = Path(path) if path else Path(__file__).with_name(CATALOG_FILE)
    sheets = {}
    for name in list_models():
        sheets[name] = describe(name).to_json()
        keras.backend.clear_session()  # the VGGs hold 100M+ weights each
    path.write_text(_dump(sheets))
    return path


if __name__ == "__main__":
    print(f"Wrote {write_catalog()}")
