"""Parameter and MAC counts of every registered model at its default input, for
``cnnzoo list``: building all of them takes a minute (the VGG heads alone hold 100M+
weights), so the counts ship in ``model_counts.json``, which a test checks against the
registry. Regenerate it with ``python -m cnnzoo.cli.catalog``."""

from __future__ import annotations

import json
from dataclasses import dataclass
from importlib import resources
from pathlib import Path

from cnnzoo.compute import count_macs
from cnnzoo.registry import create_model, list_models, model_info

COUNTS_FILE = "model_counts.json"


@dataclass(frozen=True)
class CatalogRow:
    name: str
    family: str
    params: int
    macs: int
    default_input: tuple[int, ...]
    min_input_size: int


def measure(name: str) -> dict[str, int]:
    """Builds ``name`` at its defaults and counts its parameters and forward MACs."""
    model = create_model(name)
    return {"params": int(model.count_params()), "macs": int(count_macs(model))}


def shipped_counts() -> dict[str, dict[str, int]]:
    with resources.files("cnnzoo.cli").joinpath(COUNTS_FILE).open() as file:
        return json.load(file)


def catalog(pattern: str = "*") -> list[CatalogRow]:
    """One row per registered model matching ``pattern``; models registered after the
    counts file was written are built and measured on the spot.

    Example:
        >>> catalog("lenet*")[0]  # doctest: +NORMALIZE_WHITESPACE
        CatalogRow(name='lenet5', family='lenet', params=60850, macs=328096,
                   default_input=(32, 32, 1), min_input_size=32)
    """
    counts = shipped_counts()
    rows = []
    for name in list_models(pattern):
        info = model_info(name)
        measured = counts.get(name) or measure(name)
        rows.append(
            CatalogRow(
                name,
                info.family,
                measured["params"],
                measured["macs"],
                tuple(info.default_input_shape),
                info.min_input_size,
            )
        )
    return rows


def write_counts(path: str | Path | None = None) -> Path:
    """Measures every registered model and writes the counts file."""
    path = Path(path) if path else Path(__file__).with_name(COUNTS_FILE)
    counts = {name: measure(name) for name in list_models()}
    path.write_text(json.dumps(counts, indent=1, sort_keys=True) + "\n")
    return path


if __name__ == "__main__":
    print(f"Wrote {write_counts()}")
