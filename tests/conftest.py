"""Shared fixtures: a quiet TensorFlow, fixed seeds, small-input arguments per model and a
folder of real digit images."""

import gc
import os
import signal
import subprocess
import sys
import time

os.environ.setdefault("TF_CPP_MIN_LOG_LEVEL", "2")

import keras
import numpy as np
import pytest

from cnnzoo import list_models, model_info
from cnnzoo.data import load_sample
from cnnzoo.registry import model_family
from cnnzoo.training import history_rows

# Registered models that differ from a smaller registered sibling only in how many times the
# same blocks repeat. The per-model checks that cost seconds per layer (save and reload,
# JSON, other backends, minimum sizes) run on the sibling; every model keeps its parameter
# count and one training step (tests/test_models.py).
DEEPER_TWINS = {
    "resnet101": "resnet50",
    "resnet152": "resnet50",
    "resnet101v2": "resnet50v2",
    "resnet152v2": "resnet50v2",
    "resnet32": "resnet20",
    "resnet44": "resnet20",
    "resnet56": "resnet20",
    "resnet110": "resnet20",
}
REPRESENTATIVE_MODELS = [name for name in list_models() if name not in DEEPER_TWINS]


def small_kwargs(name: str, channels: int | None = None, num_classes: int = 5) -> dict:
    """Arguments that build ``name`` at its minimum input size, with its family's
    ``test_kwargs`` (a narrow head where the family has hidden dense layers): the trunk is
    the real architecture at its smallest input."""
    info = model_info(name)
    size = info.min_input_size
    rank = len(info.default_input_shape) - 1
    channels = info.default_input_shape[-1] if channels is None else channels
    kwargs = {"input_shape": (size,) * rank + (channels,), "num_classes": num_classes}
    kwargs.update(model_family(name).test_kwargs)
    return kwargs


def pytest_collection_modifyitems(items):
    """The slow tests first (in their order), so that under pytest-xdist the longest start
    early instead of running alone at the end."""
    items.sort(key=lambda item: item.get_closest_marker("slow") is None)


# Keras, TensorFlow and the package are imported for good: a full garbage collection need
# not walk their objects again after every test (it took 0.2 s a test, and 1 s once a worker
# had built a few hundred models).
gc.freeze()


@pytest.fixture(autouse=True)
def _seed():
    keras.utils.set_random_seed(1234)
    yield
    # Python's own collector frees the models in the background; collecting after every
    # test was most of the suite's time for the tests that build nothing.
    keras.backend.clear_session(free_memory=False)


@pytest.fixture
def registry_restored():
    """Whatever the test registers is gone afterwards: tests that iterate over every
    registered model in the same worker never see a test's model."""
    from cnnzoo import registry

    tables = (registry._FACTORIES, registry._INFOS, registry._FAMILIES, registry._NAMED)
    saved = [dict(table) for table in tables]
    yield
    for table, before in zip(tables, saved, strict=True):
        table.clear()
        table.update(before)


@pytest.fixture(scope="session")
def digits_folder(tmp_path_factory):
    """24 real digits (3s and 8s) as PNG files in class folders: quick epochs."""
    root = tmp_path_factory.mktemp("images")
    sample = load_sample("mnist").train
    for digit in (3, 8):
        (root / f"d{digit}").mkdir()
        for i, index in enumerate(np.flatnonzero(sample.labels == digit)[:12]):
            image = (sample.images[index] * 255).astype("uint8")
            keras.utils.save_img(root / f"d{digit}" / f"{i}.png", image, scale=False)
    return root


def trainable_count(model) -> int:
    """Trainable parameters: what torchvision's ``num_params`` counts (no batch-norm moving
    statistics)."""
    return sum(int(np.prod(w.shape)) for w in model.trainable_weights)


def random_images(shape, n: int = 2, *, low: float = 0.0, high: float = 1.0, seed: int = 0):
    """``n`` seeded uniform float32 images of ``shape`` (without the batch axis)."""
    return np.random.default_rng(seed).uniform(low, high, (n, *shape)).astype("float32")


def quiet_env(**overrides) -> dict:
    """The environment for a child process without TensorFlow's start-up logs."""
    return {**os.environ, "TF_CPP_MIN_LOG_LEVEL": "3", **overrides}


def user_env() -> dict:
    """The environment as a user's shell has it: without the TF_CPP_MIN_LOG_LEVEL that the
    Makefile exports and this module sets."""
    return {key: value for key, value in os.environ.items() if key != "TF_CPP_MIN_LOG_LEVEL"}


def run_command(command, *, env=None, timeout: float = 600) -> subprocess.CompletedProcess:
    """Runs ``command`` (its words as strings), its output captured as text; never raises
    for the exit status, so that the caller's assertion shows stderr."""
    return subprocess.run(
        [*map(str, command)], capture_output=True, text=True, env=env, timeout=timeout,
        check=False,
    )  # fmt: skip


def run_python(code: str, *, env=None) -> subprocess.CompletedProcess:
    """``python -c code`` in a fresh interpreter (what it imports starts from nothing)."""
    return run_command([sys.executable, "-c", code], env=env, timeout=300)


def kill_after_epochs(command, history_path, epochs: int, env: dict, timeout: float = 300):
    """Starts ``command``, SIGKILLs it as soon as ``history_path`` has ``epochs`` rows, and
    returns the rows then (a real interruption, at whatever point it has reached)."""
    process = subprocess.Popen(
        command, env=env, stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL
    )
    deadline = time.monotonic() + timeout
    while len(history_rows(history_path)) < epochs and process.poll() is None:
        assert time.monotonic() < deadline, f"the run never finished {epochs} epochs"
        time.sleep(0.05)
    process.send_signal(signal.SIGKILL)
    process.wait()
    return history_rows(history_path)


# torchvision's detection operators, whose schemas its C extension registers. The extension
# of a torchvision wheel does not load beside the CPU build of torch; the classification
# models are pure Python and need only the schemas to import.
TORCHVISION_SCHEMAS = {
    "torchvision::nms": "(Tensor dets, Tensor scores, float iou_threshold) -> Tensor",
    "torchvision::qnms": "(Tensor dets, Tensor scores, float iou_threshold) -> Tensor",
}


def import_torchvision():
    """``(torch, torchvision.models)``, or skips the test where either is not installed
    (``make test-backends`` installs both)."""
    torch = pytest.importorskip("torch")
    try:
        import torchvision.models
    except RuntimeError:  # the C extension did not load: declare what it would have
        for name, schema in TORCHVISION_SCHEMAS.items():
            torch.library.define(name, schema)
        for module in [name for name in sys.modules if name.startswith("torchvision")]:
            del sys.modules[module]
        import torchvision.models
    except ImportError:
        pytest.skip("torchvision is not installed")
    return torch, torchvision.models
