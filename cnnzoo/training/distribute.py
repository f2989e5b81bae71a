"""Data-parallel training for :func:`cnnzoo.training.train`: every local accelerator of one
machine, and several processes (machines) with Keras' own distribution API.

Which engine each backend uses:

- **JAX**: ``keras.distribution.DataParallel`` over every device of every process; with
  several processes, ``keras.distribution.initialize`` first starts ``jax.distributed``
  (gloo collectives on CPU). Each process reads its own shard of the data.
- **TensorFlow**: ``tf.distribute.MirroredStrategy`` over the local GPUs (or the CPU) of
  one machine. Several processes are refused: on this Keras and TensorFlow,
  ``MultiWorkerMirroredStrategy`` fails inside ``fit``.
- **PyTorch**: refused (Keras has no distribution engine for it).
"""

from __future__ import annotations

import os
from collections.abc import Mapping
from dataclasses import dataclass, fields

import keras
import numpy as np

DATA_PARALLEL = "data_parallel"
# Keras' own variables (keras.distribution.initialize reads the same ones).
ENVIRONMENT = {
    "coordinator": "KERAS_DISTRIBUTION_JOB_ADDRESSES",
    "num_processes": "KERAS_DISTRIBUTION_NUM_PROCESSES",
    "process_id": "KERAS_DISTRIBUTION_PROCESS_ID",
}


@dataclass(frozen=True)
class Cluster:
    """This process's place in a multi-process run.

    Attributes:
        coordinator: ``host:port`` where process 0 listens (Keras' job addresses: a
            comma-separated list is fine, its first entry is used).
        num_processes: How many processes train together.
        process_id: This process, from 0 (the one that writes the run folder) to
            ``num_processes - 1``.

    Example:
        >>> Cluster.resolve({"coordinator": "10.0.0.1:1234", "num_processes": 2,
        ...                  "process_id": 1}, environ={})
        Cluster(coordinator='10.0.0.1:1234', num_processes=2, process_id=1)
        >>> Cluster.resolve(None, environ={})  # one process: nothing to coordinate
        Cluster(coordinator=None, num_processes=1, process_id=0)
        >>> Cluster.resolve({"num_processes": 2}, environ={})
        Traceback (most recent call last):
        ...
        ValueError: A run of num_processes=2 processes needs process_id (0 to 1) ...
    """

    coordinator: str | None = None
    num_processes: int = 1
    process_id: int = 0

    @classmethod
    def resolve(
        cls, settings: Mapping | Cluster | None = None, environ: Mapping | None = None
    ) -> Cluster:
        """The cluster from ``settings`` (a dict or a ``Cluster``), each missing value
        taken from Keras' variables ``KERAS_DISTRIBUTION_JOB_ADDRESSES``,
        ``KERAS_DISTRIBUTION_NUM_PROCESSES`` and ``KERAS_DISTRIBUTION_PROCESS_ID``."""
        environ = os.environ if environ is None else environ
        if isinstance(settings, Cluster):
            settings = {field.name: getattr(settings, field.name) for field in fields(cls)}
        settings = dict(settings or {})
        unknown = sorted(set(settings) - set(ENVIRONMENT))
        if unknown:
            raise ValueError(
                f"Unknown cluster setting(s) {unknown}; the settings are {sorted(ENVIRONMENT)}."
            )
        values = {}
        for key, variable in ENVIRONMENT.items():
            value = settings.get(key)
            origin = key
            if value is None and environ.get(variable):
                value, origin = environ[variable], variable
            if value is not None and key != "coordinator":
                value = _as_int(origin, value)
            values[key] = value
        return cls._checked(**values)

    @classmethod
    def _checked(cls, coordinator, num_processes, process_id) -> Cluster:
        num_processes = 1 if num_processes is None else num_processes
        if num_processes < 1:
            raise ValueError(f"num_processes must be >= 1; received num_processes={num_processes}.")
        if num_processes == 1:
            if process_id not in (None, 0):
                raise ValueError(
                    f"process_id must be 0 in a run of one process; received "
                    f"process_id={process_id}."
                )
            return cls(coordinator, 1, 0)
        if process_id is None or not 0 <= process_id < num_processes:
            raise ValueError(
                f"A run of num_processes={num_processes} processes needs process_id (0 to "
                f"{num_processes - 1}) for each process; received process_id={process_id!r}."
            )
        if coordinator is None:
            raise ValueError(
                f"A run of num_processes={num_processes} processes needs coordinator, the "
                "host:port of process 0 (for example '10.0.0.1:1234'); received none (also "
                f"none in ${ENVIRONMENT['coordinator']})."
            )
        _check_address(coordinator)
        return cls(coordinator, num_processes, process_id)

    @property
    def is_chief(self) -> bool:
        """Process 0: the one that writes the run folder."""
        return self.process_id == 0


def _as_int(name: str, value) -> int:
    try:
        if isinstance(value, bool) or float(value) != int(value):
            raise ValueError
        return int(value)
    except (TypeError, ValueError):
        raise ValueError(f"{name} must be an int; received {name}={value!r}.") from None


def _check_address(coordinator) -> None:
    first = str(coordinator).split(",")[0].strip()
    host, _, port = first.rpartition(":")
    if not host or not port.isdigit() or not 0 < int(port) < 65536:
        raise ValueError(
            "coordinator must be host:port (for example '10.0.0.1:1234', a port from 1 to "
            f"65535); received coordinator={coordinator!r}."
        )


@dataclass
class Distributed:
    """How :func:`~cnnzoo.training.train` builds, feeds and saves a data-parallel run.

    Attributes:
        engine: ``"jax.DataParallel"`` or ``"tf.MirroredStrategy"``.
        cluster: The processes.
        local_devices: Devices this process trains on.
    """

    engine: str
    cluster: Cluster
    local_devices: int
    _scope: object

    @property
    def replicas(self) -> int:
        return self.cluster.num_processes * self.local_devices

    def scope(self):
        """Where the model is built, compiled and trained."""
        return self._scope.scope()

    def local_batch_size(self, batch_size: int) -> int:
        """The batches this process builds: ``batch_size`` is the global batch, split
        between the processes (and, inside one, by the engine between its devices)."""
        if batch_size % self.replicas:
            raise ValueError(
                f"batch_size must be a multiple of the {self.replicas} devices training "
                f"together ({self.cluster.num_processes} process(es) x {self.local_devices} "
                f"device(s)); received batch_size={batch_size}."
            )
        return batch_size // self.cluster.num_processes

    @property
    def drop_remainder(self) -> bool:
        """JAX splits each process's batch evenly between its devices: a last, smaller
        batch may not divide, so it is dropped when there are several."""
        return self.engine.startswith("jax") and self.local_devices > 1

    def agree(self, flag: bool) -> bool:
        """Process 0's ``flag``, in every process."""
        from jax.experimental import multihost_utils

        return bool(multihost_utils.broadcast_one_to_all(np.int32(flag)))

    def broadcast_state(
        self,
        model: keras.Model,
        source: keras.Model | None = None,
        epoch: int = 0,
        optimizer: bool = True,
    ) -> int:
        """Copies the weights (and the optimizer's state) of process 0's ``source``, and
        its ``epoch``, into ``model`` in every process; the other processes pass no
        source. Only identical values may go into variables placed across processes (JAX
        checks it, collectively), so process 0 reads files into ``source``, a local twin
        of ``model`` (a resumed run's backup, the best epoch's model), never into
        ``model``. Both optimizers must be built (``model``'s alike in every process, the
        twin's outside the distribution). Returns the epoch to continue from."""
        from jax.experimental import multihost_utils

        source = source if self.cluster.is_chief and source is not None else model
        values = [keras.ops.convert_to_numpy(v.value) for v in _state(source, optimizer)]
        values, epoch = multihost_utils.broadcast_one_to_all(
            (values, np.int32(epoch)), is_source=self.cluster.is_chief
        )
        for variable, value in zip(_state(model, optimizer), values, strict=True):
            variable.assign(np.asarray(value))
        return int(epoch)


def _state(model: keras.Model, optimizer: bool) -> list:
    return list(model.weights) + (list(model.optimizer.variables) if optimizer else [])


class OutsideDistribution(keras.callbacks.Callback):
    """Runs ``callback`` (a checkpoint, a backup) with no distribution set. Saving makes
    Keras create an optimizer (to list what not to save); made under a multi-process
    distribution, its variables would need every process, and only process 0 saves."""

    def __init__(self, callback: keras.callbacks.Callback):
        super().__init__()
        self.callback = callback

    def set_model(self, model):
        super().set_model(model)
        self.callback.set_model(model)

    def set_params(self, params):
        super().set_params(params)
        self.callback.set_params(params)


def _forward(hook: str):
    def call(self, *args, **kwargs):
        current = keras.distribution.distribution()
        keras.distribution.set_distribution(None)
        try:
            return getattr(self.callback, hook)(*args, **kwargs)
        finally:
            keras.distribution.set_distribution(current)

    return call


for _hook in (
    *(f"on_{mode}_{when}" for mode in ("train", "test", "predict") for when in ("begin", "end")),
    *(
        f"on_{mode}_batch_{when}"
        for mode in ("train", "test", "predict")
        for when in ("begin", "end")
    ),
    "on_epoch_begin",
    "on_epoch_end",
):
    setattr(OutsideDistribution, _hook, _forward(_hook))


def describe_distribution() -> str:
    return (
        f"None (one device), {DATA_PARALLEL!r} (every local accelerator; several processes "
        "when the KERAS_DISTRIBUTION_* variables are set) or a dict of coordinator, "
        "num_processes and process_id"
    )


def check_distribution(distribution) -> Cluster | None:
    """The cluster a ``distribution`` argument asks for, or ``None`` for no distribution;
    a ``ValueError`` for anything else. Checks only: starts nothing."""
    if distribution is None or distribution is False:
        return None
    if distribution is True or distribution == DATA_PARALLEL:
        return Cluster.resolve(None)
    if isinstance(distribution, (Mapping, Cluster)):
        return Cluster.resolve(distribution)
    raise ValueError(
        f"distribution must be {describe_distribution()}; received distribution={distribution!r}."
    )


def start(cluster: Cluster) -> Distributed:
    """Starts the backend's data-parallel engine for ``cluster`` (see the module)."""
    backend = keras.backend.backend()
    if backend == "jax":
        return _start_jax(cluster)
    if backend == "tensorflow":
        if cluster.num_processes > 1:
            raise ValueError(
                f"Training in num_processes={cluster.num_processes} processes needs the JAX "
                "backend (KERAS_BACKEND=jax): on TensorFlow, cnnzoo trains on the devices of "
                "one machine with MirroredStrategy, because MultiWorkerMirroredStrategy fails "
                "inside fit on this Keras."
            )
        import tensorflow as tf

        strategy = tf.distribute.MirroredStrategy()
        return Distributed("tf.MirroredStrategy", cluster, strategy.num_replicas_in_sync, strategy)
    raise ValueError(
        f"Data-parallel training needs the JAX or TensorFlow backend; this is {backend!r}. "
        "Set KERAS_BACKEND=jax (one or several machines) or tensorflow (one machine)."
    )


def _start_jax(cluster: Cluster) -> Distributed:
    import jax

    if cluster.num_processes > 1 and not _jax_cluster_started():
        if jax.config.jax_cpu_collectives_implementation in (None, "", "none"):
            jax.config.update("jax_cpu_collectives_implementation", "gloo")
        try:
            keras.distribution.initialize(
                cluster.coordinator, cluster.num_processes, cluster.process_id
            )
        except RuntimeError as error:
            raise ValueError(
                f"Could not join the cluster at {cluster.coordinator}: {error} "
                "(jax.distributed must start before anything else runs on JAX: call train "
                "with distribution first in the process)."
            ) from error
    if jax.process_count() != cluster.num_processes:
        raise ValueError(
            f"JAX runs {jax.process_count()} process(es), but the run asks for "
            f"num_processes={cluster.num_processes}."
        )
    return Distributed(
        "jax.DataParallel", cluster, jax.local_device_count(),
        keras.distribution.DataParallel(auto_shard_dataset=False),  # cnnzoo shards the sources
    )  # fmt: skip


def _jax_cluster_started() -> bool:
    from cnnzoo._compat import jax_distributed_state

    return jax_distributed_state().client is not None


__all__ = ["DATA_PARALLEL", "Cluster", "Distributed", "check_distribution", "start"]
