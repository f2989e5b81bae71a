"""Names renamed by issue 19 still work, with a DeprecationWarning that names the new one."""

import importlib

import pytest

from cnnzoo.training.cluster import TrainingCluster
from cnnzoo.training.coordinator import MultiProcessCoordinator, start
from cnnzoo.transfer import fit_in_phases
from cnnzoo.tuning import SearchCluster


@pytest.mark.parametrize(
    ("module", "old", "new"),
    [
        ("cnnzoo.transfer", "fine_tune", fit_in_phases),
        ("cnnzoo.tuning", "Distributed", SearchCluster),
        ("cnnzoo.training.distribute", "Cluster", TrainingCluster),
        ("cnnzoo.training.distribute", "Distributed", MultiProcessCoordinator),
        ("cnnzoo.training.distribute", "start", start),
    ],
)
def test_an_old_name_warns_and_gives_the_new_thing(module, old, new):
    with pytest.warns(DeprecationWarning, match=rf"{module}\.{old} is deprecated; use "):
        assert getattr(importlib.import_module(module), old) is new
    assert old not in getattr(importlib.import_module(module), "__all__", ())


def test_an_unknown_name_is_still_an_attribute_error():
    with pytest.raises(AttributeError, match="has no attribute 'fine_tuned'"):
        getattr(importlib.import_module("cnnzoo.transfer"), "fine_tuned")  # noqa: B009


def test_search_takes_its_cluster_under_the_old_keyword_with_a_warning(tmp_path):
    from cnnzoo.tuning import search

    with (
        pytest.warns(DeprecationWarning, match=r"search\(distributed=\.\.\.\) is deprecated"),
        pytest.raises(ValueError, match="cluster must have a 'tuner_id'"),
    ):
        search(
            "lenet5", "mnist-sample", directory=tmp_path, distributed={"id": "tuner0"}, verbose=0
        )
    with pytest.raises(ValueError, match="not both cluster= and distributed="):
        search("lenet5", "mnist-sample", directory=tmp_path, cluster={"tuner_id": "chief"},
               distributed={"tuner_id": "chief"}, verbose=0)  # fmt: skip
