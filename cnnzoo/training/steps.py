"""Steps that :func:`~cnnzoo.training.train` and :func:`~cnnzoo.training.finetune` share
(their run folder and coordinator aside)."""

from __future__ import annotations

import json
import math

import keras

from cnnzoo.checks import check_positive_int
from cnnzoo.registry import model_info

CACHE_LIMIT = 1 << 30  # cache="auto" keeps converted images in memory up to 1 GiB a split
# 8 trained LeNet-5 on the sample 1.35x faster than 1 on 2 CPU cores (benchmarks/bench_small.py,
# part (c)); callbacks that act per batch (progress bar, NaN check) then run every 8 batches.
DEFAULT_STEPS_PER_EXECUTION = 8


def check_model(model) -> str:
    """The name of ``model`` (a registered name or a ``keras.Model``). A name that is not
    registered is refused before any data is read, with the registry's own message (the
    closest names).

    Example:
        >>> check_model("resnet2")
        Traceback (most recent call last):
        ...
        ValueError: Unknown model name 'resnet2'. Closest registered names: resnet20, ...
    """
    if not isinstance(model, (str, keras.Model)):
        raise ValueError(f"model must be a model name or a keras.Model; received model={model!r}.")
    if isinstance(model, str):
        model_info(model)
        return model
    return model.name


def runtime(net: keras.Model) -> dict:
    """What a compiled run chose for this backend and its devices, as ``config.json``
    records it (``"runtime"``): the backend, the kinds of device it sees, and whether
    the steps are compiled with XLA and how many run per call.

    ``jit_compile="auto"`` leaves XLA to Keras, which picks the faster side on each:
    off for TensorFlow on CPUs only (XLA ran ResNet-18 8x slower there), on for JAX
    (which compiles every step with XLA; without it each operation runs alone) and off
    for PyTorch (eager). ``steps_per_execution`` is 8 where Keras allows more than 1.

    Example:
        >>> net = keras.Sequential([keras.Input((2,)), keras.layers.Dense(1)])
        >>> net.compile("sgd", "mse", steps_per_execution=8)
        >>> chosen = runtime(net)
        >>> sorted(chosen), chosen["steps_per_execution"]
        (['backend', 'devices', 'jit_compile', 'steps_per_execution'], 8)
    """
    backend = keras.backend.backend()
    if backend == "torch":
        import torch

        devices = ["cpu", *(["cuda"] if torch.cuda.is_available() else [])]
    else:
        listed = keras.distribution.list_devices()
        devices = sorted({device.split(":")[0].lower() for device in listed})
    return {
        "backend": backend, "devices": devices, "jit_compile": bool(net.jit_compile),
        "steps_per_execution": net.steps_per_execution,
    }  # fmt: skip


def steps_per_call(steps_per_execution: int | None, distributed: bool = False) -> int:
    """``steps_per_execution`` checked, ``None`` resolved: 8 batches per compiled call
    (one call per batch costs Python time on every step), 1 where Keras takes no other
    value (PyTorch) or fails with more (TensorFlow's MirroredStrategy leaves a placeholder
    unfed in its multi-step function).

    Example:
        >>> steps_per_call(None) == (1 if keras.backend.backend() == "torch" else 8)
        True
    """
    single_step = {
        "torch": "on the PyTorch backend",
        "tensorflow": "with distribution on TensorFlow" if distributed else None,
    }.get(keras.backend.backend())
    if steps_per_execution is None:
        return 1 if single_step else DEFAULT_STEPS_PER_EXECUTION
    check_positive_int("steps_per_execution", steps_per_execution)
    if single_step and steps_per_execution != 1:
        raise ValueError(
            f"steps_per_execution must be 1 {single_step}; received "
            f"steps_per_execution={steps_per_execution!r}."
        )
    return steps_per_execution


def cached(cache, split, net: keras.Model) -> bool:
    """``cache="auto"``: images decoded and converted once, when the split fits in
    ``CACHE_LIMIT`` (arrays too: converting them again every epoch takes CPU time
    from the training steps)."""
    if cache != "auto":
        return cache
    cardinality = getattr(split, "cardinality", None)
    count = len(split[0]) if cardinality is None else int(cardinality())
    pixels = math.prod(size or 1 for size in net.input_shape[1:])
    return count >= 0 and count * pixels * 4 <= CACHE_LIMIT


def stored(config: dict) -> dict:
    """``config`` as it reads back from ``config.json`` (tuples become lists, ...), so that
    a resumed run compares like with like."""
    return json.loads(json.dumps(config, default=repr))


__all__ = ["cached", "check_model", "runtime", "steps_per_call", "stored"]
