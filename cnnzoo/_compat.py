"""The internals of other libraries that cnnzoo relies on, in one place.

Each name here is private to its library, so ``pyproject.toml`` bounds that library's
version from above, and ``tests/test_compat.py`` imports every one of them and checks
every private attribute: when an upgrade moves one, that test fails with the name, not a
search three calls deep. Nothing else in cnnzoo touches another library's private names.
"""

from __future__ import annotations

from pathlib import Path

# KerasTuner 1.4: the trial record, the one function every state file is written with
# (``Stateful.save`` -> ``utils.save_json``), the oracle's lock, and the gRPC service.
KERAS_TUNER_INTERNALS = (
    "keras_tuner.src.engine.trial.Trial",
    "keras_tuner.src.engine.trial.TrialStatus",
    "keras_tuner.src.utils.save_json",
    "keras_tuner.src.engine.oracle.synchronized",
    "keras_tuner.src.protos",
    "keras_tuner.src.distribute.oracle_chief.OracleServicer",
)


def keras_tuner_trial():
    """KerasTuner's ``Trial`` class and ``TrialStatus`` names."""
    from keras_tuner.src.engine.trial import Trial, TrialStatus

    return Trial, TrialStatus


def keras_tuner_utils():
    """The module whose ``save_json`` writes every KerasTuner state file."""
    from keras_tuner.src import utils

    return utils


def keras_tuner_synchronized():
    """The decorator that runs a function under an oracle's lock."""
    from keras_tuner.src.engine.oracle import synchronized

    return synchronized


def keras_tuner_service():
    """KerasTuner's gRPC protos and its oracle servicer (distributed search)."""
    from keras_tuner.src import protos
    from keras_tuner.src.distribute.oracle_chief import OracleServicer

    return protos, OracleServicer


def jax_distributed_state():
    """JAX's distributed client state (JAX has no public "is initialized" check)."""
    from jax._src import distributed

    return distributed.global_state


# Private attributes read or set on other libraries' objects: (class, attribute). The
# instance attributes (set in ``__init__``) are checked on an instance by the test.
PRIVATE_ATTRIBUTES = (
    ("keras_tuner.Oracle", "_get_oracle_fname"),
    ("keras_tuner.Oracle", "_compute_values_hash"),
    ("keras_tuner.Oracle", "_retry_queue"),
    ("keras_tuner.oracles.HyperbandOracle", "_get_size"),
    ("keras_tuner.Tuner", "_get_tuner_fname"),
    ("keras_tuner.Tuner", "_populate_initial_space"),
    # Trainer.fit starts from it: keras.callbacks.BackupAndRestore sets it the same way.
    ("keras.Model", "_initial_epoch"),
    # cnnzoo.explain re-runs a functional graph layer by layer (nested models inlined, a
    # probe added at one layer): Keras has no public walk of a graph on new tensors.
    ("keras.src.models.functional.Functional", "_run_through_graph"),
    ("keras.Sequential", "_functional"),
)


def oracle_file(oracle) -> Path:
    """Where a KerasTuner oracle keeps its state (``oracle.json``)."""
    return Path(oracle._get_oracle_fname())


def tuner_file(tuner) -> Path:
    """Where a KerasTuner tuner keeps its state (``tuner0.json``)."""
    return Path(tuner._get_tuner_fname())


def populate_initial_space(tuner) -> None:
    """Declares the hypermodel's search space on the oracle, as a fresh search does."""
    tuner._populate_initial_space()


def values_hash(oracle, values) -> str:
    """The oracle's hash of a trial's hyperparameter values (how it spots repeats)."""
    return oracle._compute_values_hash(values)


def hyperband_round_size(oracle, bracket: int, round_number: int) -> int:
    """How many trials Hyperband runs in a round of a bracket."""
    return oracle._get_size(bracket, round_number)


def retry_later(oracle, trial_id: str) -> None:
    """Queues a trial for the oracle to hand out again."""
    oracle._retry_queue.append(trial_id)


def set_initial_epoch(model, epoch: int | None) -> None:
    """The epoch ``model.fit`` starts from, whatever ``initial_epoch`` it is given
    (``None``: the one it is given)."""
    model._initial_epoch = epoch


def run_through_graph(model, inputs, operation_fn):
    """Runs a functional ``model``'s graph on ``inputs`` (symbolic or real), calling
    ``operation_fn(layer)(*args, **kwargs)`` at each node: Keras' own walk, which
    ``Functional.call`` makes with ``operation_fn`` returning the layer itself."""
    return model._run_through_graph(inputs, operation_fn=operation_fn)


def functional_graph(layer):
    """The functional graph of a nested model (a ``Sequential`` keeps one once built), or
    ``None`` for a layer that is not a model with a graph."""
    import keras
    from keras.src.models.functional import Functional

    if isinstance(layer, keras.Sequential):
        return getattr(layer, "_functional", None)
    return layer if isinstance(layer, Functional) else None
