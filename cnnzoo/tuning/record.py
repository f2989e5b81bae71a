"""The record of a search, written in its project folder: what defines the search, so that
a resume with other settings is refused with what differs."""

from __future__ import annotations

from pathlib import Path
from typing import Any

import keras_tuner

from cnnzoo.files import read_json
from cnnzoo.tuning.hypermodel import CNNHyperModel
from cnnzoo.tuning.state import set_aside

SEARCH_RECORD = "cnnzoo_search.json"  # what defines the search, to refuse a changed one


def search_record(
    tuner: str, objective: str, max_trials, max_epochs: int, factor: int, seed: int, hypermodel
) -> dict[str, Any]:
    """What defines a search: two runs of one project must agree on all of it."""
    return {
        "tuner": tuner, "objective": objective, "max_trials": max_trials,
        "max_epochs": max_epochs, "factor": factor if tuner == "hyperband" else None,
        "seed": seed, "hypermodel": _describe(hypermodel),
    }  # fmt: skip


def _describe(hypermodel) -> Any:
    if isinstance(hypermodel, CNNHyperModel):
        hp = keras_tuner.HyperParameters()
        hypermodel.values(hp)
        return {**hypermodel.describe(), "hyperparameters": [h.get_config() for h in hp.space]}
    return type(hypermodel).__name__


def _brief(value: Any) -> str:
    text = "(none)" if value is None else repr(value)
    return text if len(text) <= 60 else text[:57] + "..."


def differences(before: Any, after: Any, path: str = "") -> list[str]:
    """One line per setting that differs between two search records: dictionaries
    compared key by key, hyperparameters by name, each value cut to 60 characters.

    Example:
        >>> differences({"max_trials": 3, "hypermodel": {"fixed": {}}},
        ...             {"max_trials": 4, "hypermodel": {"fixed": {"batch_size": 32}}})
        ['hypermodel.fixed.batch_size: (none) -> 32', 'max_trials: 3 -> 4']
    """
    if isinstance(before, dict) and isinstance(after, dict):
        lines = []
        for key in sorted(set(before) | set(after), key=str):
            lines += differences(before.get(key), after.get(key), f"{path}{key}.")
        return lines
    if _named(before) and _named(after):  # hyperparameter configurations
        return differences(_by_name(before), _by_name(after), path.removesuffix("."))
    if before == after:
        return []
    return [f"{path.removesuffix('.')}: {_brief(before)} -> {_brief(after)}"]


def _named(value: Any) -> bool:
    return (
        bool(value)
        and isinstance(value, list)
        and all(isinstance(item, dict) and "name" in item for item in value)
    )


def _by_name(items: list[dict]) -> dict[str, Any]:
    """What defines a search: two runs of one project must agree on all of it."""
    return {f"[{item['name']}]": item for item in items}


def check_record(project_dir: Path, record: dict, overwrite: bool) -> list[str]:
    """Refuses a project that holds another search; returns a note when the record of
    the earlier search cannot be read (it is then written anew)."""
    path = project_dir / SEARCH_RECORD
    if overwrite or not path.exists():
        return []
    before = read_json(path)
    if not isinstance(before, dict):
        notes: list[str] = []
        set_aside(path, notes, "unreadable, so the earlier settings could not be compared")
        return notes
    changes = differences(before, record)
    if changes:
        shown = "".join(f"\n  {line}" for line in changes[:8])
        more = f"\n  ... and {len(changes) - 8} more" if len(changes) > 8 else ""
        raise ValueError(
            f"The project {str(project_dir)!r} holds a different search:{shown}{more}\n"
            "Pass overwrite=True to start it afresh, or a new project_name."
        )
    return []
