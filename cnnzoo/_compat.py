"""The internals of other libraries that cnnzoo relies on, in one place.

Each name here is private to its library, so ``pyproject.toml`` bounds that library's
version from above, and ``tests/test_compat.py`` imports every one of them: when an
upgrade moves one, that test fails with the name, not a search three calls deep.
"""

from __future__ import annotations

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
