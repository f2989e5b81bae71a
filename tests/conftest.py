"""Shared fixtures: a quiet TensorFlow, fixed seeds, small-input arguments per model and a
folder of real digit images."""

import dataclasses
import gc
import os
import re
import signal
import subprocess
import sys
import time

os.environ.setdefault("TF_CPP_MIN_LOG_LEVEL", "2")
# With as many pytest-xdist workers as cores, each worker's TensorFlow (and each process
# a test starts, which inherits the variable) runs an operation on one thread: thread
# pools as large as the machine in every process only took turns on the same cores.
if int(os.environ.get("PYTEST_XDIST_WORKER_COUNT", "0")) >= (os.cpu_count() or 1):
    os.environ.setdefault("TF_NUM_INTRAOP_THREADS", "1")

import h5py
import keras
import numpy as np
import pytest
from keras.src.legacy.saving.legacy_h5_format import save_weights_to_hdf5_group

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
    early instead of running alone at the end.

    This splits a module's tests in two (and worksteal splits them further), and pytest
    tears a module-scoped fixture down whenever the next test is another module's: a
    fixture that trains or searches is session-scoped instead (made once per worker)."""
    items.sort(key=lambda item: item.get_closest_marker("slow") is None)


# Keras, TensorFlow and the package are imported for good: a full garbage collection need
# not walk their objects again after every test (it took 0.2 s a test, and 1 s once a worker
# had built a few hundred models).
gc.freeze()


def _forget_custom_gradients() -> None:
    """TensorFlow registers every ``tf.custom_gradient`` traced in a graph under a new
    name in a global registry and never removes it, and with it the whole graph of the
    function traced: two per ``fit`` on TensorFlow (some 6,000 objects for a tiny model,
    40,000 for a search of two trials). A worker kept every training graph of its tests,
    and each full garbage collection (KerasTuner runs two a trial) walked them all: the
    tuning tests ran 2.5 times slower in the suite than alone. Between tests no function
    is being traced, and one traced again registers its gradient again."""
    ops = sys.modules.get("tensorflow.python.framework.ops")  # None: TensorFlow not in use
    registry = getattr(getattr(ops, "_gradient_registry", None), "_registry", {})
    for name in [name for name in registry if name.startswith("CustomGradient-")]:
        del registry[name]


@pytest.fixture(autouse=True)
def _seed():
    keras.utils.set_random_seed(1234)
    yield
    # Python's own collector frees the models in the background; collecting after every
    # test was most of the suite's time for the tests that build nothing.
    keras.backend.clear_session(free_memory=False)
    _forget_custom_gradients()


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


# ----- keras.applications references (tests/test_porting.py, tests/test_keras_parity.py) -----


def randomize_keras_weights(model, seed: int = 1):
    """Random biases and batch-norm parameters and statistics (keras starts them at 0 and
    1, where a weight that is not carried over, or carried to the wrong place, goes
    unnoticed); kernels keep keras' random initialization."""
    rng = np.random.default_rng(seed)
    for layer in model.layers:
        if isinstance(layer, keras.layers.BatchNormalization):
            layer.set_weights([
                rng.uniform(0.5, 1.5, w.shape) if "gamma" in w.path or "variance" in w.path
                else rng.normal(0, 0.1, w.shape)
                for w in layer.weights
            ])  # fmt: skip
        elif getattr(layer, "bias", None) is not None:
            layer.bias.assign(rng.normal(0, 0.1, layer.bias.shape))
    return model


def save_weights_file(model, path):
    """In keras' legacy layout for ``.h5`` (that of its ImageNet files), Keras 3's for
    ``.weights.h5``."""
    path.parent.mkdir(parents=True, exist_ok=True)
    if path.name.endswith(".weights.h5"):
        model.save_weights(path)
    else:
        with h5py.File(path, "w") as file:
            save_weights_to_hdf5_group(file, model)
    return path


def random_keras_application(application, path, shape, include_top=True, **kwargs):
    """A keras.applications model with random weights (:func:`randomize_keras_weights`),
    logits for a top, saved at ``path``."""
    model = application(
        weights=None, include_top=include_top, input_shape=shape, classifier_activation=None,
        **kwargs,
    )  # fmt: skip
    save_weights_file(randomize_keras_weights(model), path)
    return model


def eager_outputs(model, x):
    """``model(x)`` in inference mode as numpy: eager, no graph to trace."""
    return keras.ops.convert_to_numpy(model(x, training=False))


# ----- the parity table (issue 20) ----------------------------------------------------------
# The equivalence tests record each comparison with their source through the `parity`
# fixture. With CNNZOO_PARITY_TABLE=PATH (`make parity`), the session writes them to PATH
# as the Markdown table that the "Pretrained weights" guide shows; tests/test_parity_table.py
# checks that the checked-in table has a row for every pair and size the tests compare.

PARITY_TABLE_ENV = "CNNZOO_PARITY_TABLE"
PARITY_TOLERANCE = 1e-4  # on the scale of the reference's outputs
PARITY_HEADER = "| cnnzoo model | reference | input | max abs difference | relative difference |"
_PARITY_RULE = "|---|---|--:|--:|--:|"
# Over 30M parameters: 5 to 20 s each on 2 cores (slow); the others take 1 to 5 s.
LARGE_MODEL_PARAMS = 30_000_000


def built_as(name: str, builder_args=()) -> str:
    """How cnnzoo builds the model of a pair: ``resnet50(variant='v1')``."""
    arguments = ", ".join(f"{key}={value!r}" for key, value in builder_args)
    return f"{name}({arguments})" if arguments else name


@dataclasses.dataclass(frozen=True)
class ParityRow:
    """One comparison of a cnnzoo model with its reference, on the same weights and images."""

    model: str  # how cnnzoo builds it (built_as)
    source: str  # the reference, e.g. "keras.applications.ResNet50"
    size: int  # square input, pixels
    max_abs: float
    relative: float  # max_abs / max(1, max |reference|) (cnnzoo.transfer.compare_logits)

    @property
    def key(self) -> tuple:
        return (self.model, self.source, self.size)

    def markdown(self) -> str:
        numbers = [f"{value:.1e}" if value else "0" for value in (self.max_abs, self.relative)]
        cells = (f"`{self.model}`", f"`{self.source}`", self.size, *numbers)
        return "| " + " | ".join(map(str, cells)) + " |"


def _natural(text: str) -> list:
    """resnet18 before resnet101: numbers compare as numbers."""
    return [int(part) if part.isdigit() else part for part in re.split(r"(\d+)", text)]


def parity_table(rows, versions: str) -> str:
    """The rows as a Markdown table in the order of their references, with the caption
    that says what was compared and how."""
    rows = sorted(rows, key=lambda row: (_natural(row.source), row.size))
    caption = (
        f"Each cnnzoo model against its reference on the same random weights (every batch-norm "
        f"statistic random too) and two random images of each size. *Relative difference*: "
        f"max \\|cnnzoo - reference\\| / max(1, max \\|reference\\|), the largest difference on "
        f"the scale of the reference's outputs; the tests fail above {PARITY_TOLERANCE:g}. "
        f"Written by `make parity` ({versions}); "
        f"do not edit."
    )
    return "\n".join([PARITY_HEADER, _PARITY_RULE, *(row.markdown() for row in rows), "",
                      caption, ""])  # fmt: skip


def read_parity_table(path) -> list[ParityRow]:
    """The rows of a table written by :func:`parity_table`."""
    rows = []
    for line in path.read_text().splitlines():
        if not line.startswith("| `"):
            continue
        model, source, size, max_abs, relative = (
            cell.strip().strip("`") for cell in line.strip().strip("|").split("|")
        )
        rows.append(ParityRow(model, source, int(size), float(max_abs), float(relative)))
    return rows


@pytest.fixture
def parity(record_property):
    """``parity(model, source, size, difference)`` records a comparison of logits (a
    :class:`cnnzoo.transfer.LogitDifference`) for the table, as a property of the test's
    report: pytest-xdist carries it from the workers."""

    def record(model: str, source: str, size: int, difference):
        row = ParityRow(model, source, size, *map(float, difference))
        record_property("parity", dataclasses.astuple(row))

    return record


_PARITY_ROWS: list[ParityRow] = []


def pytest_runtest_logreport(report):
    if report.when == "call":
        _PARITY_ROWS.extend(
            ParityRow(*value) for name, value in report.user_properties if name == "parity"
        )


def _versions() -> str:
    import importlib.metadata

    names = ["keras", keras.backend.backend(), "torch", "torchvision"]
    found = []
    for name in dict.fromkeys(names):
        try:
            found.append(f"{name} {importlib.metadata.version(name)}")
        except importlib.metadata.PackageNotFoundError:
            continue
    return ", ".join(found)


def pytest_sessionfinish(session):
    path = os.environ.get(PARITY_TABLE_ENV)
    if path and _PARITY_ROWS and not hasattr(session.config, "workerinput"):  # the controller
        with open(path, "w") as file:
            file.write(parity_table(_PARITY_ROWS, _versions()))
