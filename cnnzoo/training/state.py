"""A training run's state in one file: the weights, the optimizer's variables, the epoch,
and the best epoch's weights with its score.

Keras' ``save_weights`` spends tens of milliseconds on bookkeeping for a model of any size
(60 ms for LeNet-5 on 2 CPU cores, more than an epoch's tenth), so a run that backs up
after every epoch would be slower than a plain ``fit``. The state is a list of arrays
(``model.weights`` then ``optimizer.variables``, in Keras' own order), written with numpy
to one ``.npz`` file renamed into place: a run killed at any moment finds either the last
epoch's state whole or the one before, with the best weights that went with it.
"""

from __future__ import annotations

import io
import json
import math
from dataclasses import dataclass, field
from pathlib import Path

import keras
import numpy as np

from cnnzoo.files import write_bytes

STATE_FILE = "state.npz"
LEGACY_FILE = "latest.weights.h5"  # what runs of cnnzoo 0.x backed up to


def state_variables(model: keras.Model) -> list:
    """``model.weights`` and its optimizer's variables (built if it was not yet)."""
    optimizer = model.optimizer
    if optimizer is None:
        return list(model.weights)
    if not optimizer.built:
        optimizer.build(model.trainable_variables)
    return list(model.weights) + list(optimizer.variables)


def values_of(variables) -> list[np.ndarray]:
    """Numpy copies of the variables' values (mirrored ones too: a scalar
    ``MirroredVariable`` has no usable ``__array__``, so each is read as a tensor)."""
    tensor, numpy = keras.ops.convert_to_tensor, keras.ops.convert_to_numpy
    return [np.array(numpy(tensor(variable))) for variable in variables]


@dataclass
class RunState:
    """What a run's backup holds.

    Example:
        >>> import tempfile
        >>> path = Path(tempfile.mkdtemp()) / STATE_FILE
        >>> RunState(3, [np.ones(2)], best=[np.zeros(2)], best_epoch=2, best_score=0.9).save(path)
        >>> state = RunState.load(path)
        >>> state.epoch, state.best_epoch, state.best_score, state.values[0].tolist()
        (3, 2, 0.9, [1.0, 1.0])
    """

    epoch: int  # epochs finished
    values: list[np.ndarray]
    best: list[np.ndarray] | None = None  # the model's weights at the best epoch so far
    best_epoch: int | None = None
    best_score: float = field(default=-math.inf)

    def save(self, path: Path) -> None:
        """Writes the state to ``path`` atomically."""
        meta = {"epoch": self.epoch, "best_epoch": self.best_epoch, "best_score": self.best_score}
        arrays = {f"state_{index}": value for index, value in enumerate(self.values)}
        arrays.update({f"best_{index}": value for index, value in enumerate(self.best or [])})
        buffer = io.BytesIO()
        np.savez(buffer, meta=np.array(json.dumps(meta)), **arrays)
        write_bytes(path, buffer.getvalue())

    @classmethod
    def load(cls, path: Path) -> RunState:
        with np.load(path) as data:
            meta = json.loads(str(data["meta"]))
            values = _numbered(data, "state")
            best = _numbered(data, "best")
        return cls(meta["epoch"], values, best or None, meta["best_epoch"], meta["best_score"])

    def assign_to(self, model: keras.Model) -> None:
        """Puts the weights and optimizer state into ``model`` (compiled alike).

        Raises:
            ValueError: When the backup does not fit the model (another architecture).
        """
        assign(state_variables(model), self.values, "The run's backup")


def assign(variables, values, what: str) -> None:
    """Assigns ``values`` to ``variables``, after checking that they fit one another."""
    shapes = [tuple(variable.shape) for variable in variables]
    if shapes != [value.shape for value in values]:
        raise ValueError(
            f"{what} does not fit this model: it holds {len(values)} arrays, the model and "
            f"its optimizer {len(shapes)}, or their shapes differ. Was the model changed "
            "since the run started?"
        )
    for variable, value in zip(variables, values, strict=True):
        variable.assign(value)


def _numbered(data, prefix: str) -> list[np.ndarray]:
    count = sum(1 for name in data.files if name.startswith(prefix + "_"))
    return [data[f"{prefix}_{index}"] for index in range(count)]


__all__ = ["LEGACY_FILE", "STATE_FILE", "RunState", "assign", "state_variables", "values_of"]
