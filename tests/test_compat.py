"""Every internal of another library that cnnzoo uses (cnnzoo/_compat.py) still exists:
an upgrade that moves one fails here, by name."""

import importlib

import pytest

from cnnzoo import _compat


@pytest.mark.parametrize("name", _compat.KERAS_TUNER_INTERNALS)
def test_each_keras_tuner_internal_is_where_cnnzoo_looks(name):
    module, _, attribute = name.rpartition(".")
    try:
        found = importlib.import_module(name)
    except ModuleNotFoundError:
        found = getattr(importlib.import_module(module), attribute)
    assert found is not None


def test_the_accessors_return_the_internals():
    trial, status = _compat.keras_tuner_trial()
    assert trial.__name__ == "Trial" and status.COMPLETED == "COMPLETED"
    assert callable(_compat.keras_tuner_utils().save_json)
    assert callable(_compat.keras_tuner_synchronized())
    protos, servicer = _compat.keras_tuner_service()
    assert hasattr(protos, "get_service") and servicer.__name__ == "OracleServicer"


def test_jax_distributed_state_where_jax_is_installed():
    pytest.importorskip("jax")
    assert hasattr(_compat.jax_distributed_state(), "client")


@pytest.mark.parametrize(("owner", "attribute"), _compat.PRIVATE_ATTRIBUTES)
def test_each_private_attribute_is_where_cnnzoo_reaches(owner, attribute):
    import keras
    import keras_tuner

    module, _, name = owner.rpartition(".")
    cls = getattr(importlib.import_module(module), name)
    if hasattr(cls, attribute):  # a method
        return
    # An attribute set in __init__: look on a small instance.
    if issubclass(cls, keras.Model):
        instance = keras.Sequential([keras.Input((2,)), keras.layers.Dense(1)])
    elif issubclass(cls, keras_tuner.Oracle):
        instance = keras_tuner.oracles.RandomSearchOracle(objective="loss", max_trials=1)
    else:
        pytest.fail(f"{owner}.{attribute} is neither a class attribute nor checked on an instance")
    assert hasattr(instance, attribute), f"{owner}.{attribute}"
