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
