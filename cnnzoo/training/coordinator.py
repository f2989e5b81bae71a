"""Who builds, feeds, trains and writes in a run: the single-process :class:`Coordinator`
(one device, or every local device of one machine) and the
:class:`MultiProcessCoordinator` (several processes, JAX).

Which engine each backend uses for ``train(distribution=...)``:

- **JAX**: ``keras.distribution.DataParallel`` over every device of every process; with
  several processes, ``keras.distribution.initialize`` first starts ``jax.distributed``
  (gloo collectives on CPU). Each process reads its own shard of the data.
- **TensorFlow**: ``tf.distribute.MirroredStrategy`` over the local GPUs (or the CPU) of
  one machine. Several processes are refused: on this Keras and TensorFlow,
  ``MultiWorkerMirroredStrategy`` fails inside ``fit``.
- **PyTorch**: refused (Keras has no distribution engine for it).
"""

from __future__ import annotations

import contextlib
from dataclasses import dataclass, field
from pathlib import Path

import keras
import numpy as np

from cnnzoo.training.callbacks import RunBackup
from cnnzoo.training.cluster import TrainingCluster, check_distribution
from cnnzoo.training.messages import finished_line
from cnnzoo.training.run_folder import RunFolder, TrainResult
from cnnzoo.training.sources import RunData, load_run_data

# The callbacks that write the run folder: process 0's alone.
WRITERS = (RunBackup, keras.callbacks.ModelCheckpoint, keras.callbacks.TensorBoard)


def evaluate(model: keras.Model, validation, test) -> dict[str, float]:
    """``validation_*`` and ``test_*`` metrics of ``model`` (``test``: ``None`` for none)."""
    metrics = {}
    for split, batches in (("validation", validation), ("test", test)):
        if batches is not None:
            values = model.evaluate(batches, verbose=0, return_dict=True)
            metrics.update({f"{split}_{key}": float(value) for key, value in values.items()})
    return metrics


@dataclass
class Coordinator:
    """The single-process form: this process reads all the data and writes the folder.

    Attributes:
        engine: ``None`` (one device), ``"jax.DataParallel"`` or ``"tf.MirroredStrategy"``.
        cluster: The processes (here one).
        local_devices: Devices this process trains on.

    Example:
        >>> Coordinator().local_batch_size(32), Coordinator().shard
        (32, None)
    """

    engine: str | None = None
    cluster: TrainingCluster = field(default_factory=TrainingCluster)
    local_devices: int = 1
    _scope: object = field(default=None, repr=False)

    @property
    def is_chief(self) -> bool:
        """Whether this process writes the run folder."""
        return self.cluster.is_chief

    @property
    def replicas(self) -> int:
        return self.cluster.num_processes * self.local_devices

    @property
    def shard(self) -> tuple[int, int] | None:
        """``(index, count)`` of this process's share of the data; ``None``: all of it."""
        return None

    @property
    def share(self) -> str:
        """What the summary line adds about this process's share of the data."""
        return ""

    def scope(self):
        """Where the model is built, compiled and trained."""
        return contextlib.nullcontext() if self._scope is None else self._scope.scope()

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
        return bool(self.engine and self.engine.startswith("jax") and self.local_devices > 1)

    def open_folder(self, out, config: dict, resume: bool) -> RunFolder | None:
        """The run folder, checked against ``config`` (read only: it is written once the
        data is read and the model built, so that a refused call leaves nothing)."""
        folder = RunFolder.choose(out, config["model"])
        folder.check(config, resume)
        return folder

    def create(self, folder: RunFolder | None, config: dict, run_data: RunData) -> None:
        """Writes the folder's first files (see :meth:`RunFolder.create`)."""
        folder.create(config, run_data.class_names, run_data.report)

    def read_data(self, config: dict) -> RunData:
        """This process's share of the data source in ``config``."""
        return load_run_data(
            config["data"], seed=config["seed"], validation_split=config["validation_split"],
            shard=self.shard,
        )  # fmt: skip

    def finished_already(self, folder: RunFolder | None, resume: bool) -> bool:
        """Whether a resumed run has nothing left to train."""
        return resume and folder.finished

    def finished(self, folder: RunFolder | None, talk: bool, epochs=None) -> TrainResult:
        """The result of a run that had finished before this call."""
        if talk:
            print(finished_line(folder.path, folder.epochs_done, epochs))
        return folder.result()

    def compile(self, net: keras.Model, optimizer: dict, **settings) -> None:
        """Compiles ``net`` in the scope, with a fresh ``optimizer`` made from its config
        there (TensorFlow's optimizers keep the strategy they are made in)."""
        with self.scope():
            net.compile(optimizer=keras.optimizers.get(optimizer), **settings)

    def restore(self, net: keras.Model, backup: RunBackup | None) -> tuple[keras.Model, int]:
        """Reads the folder's backup into ``net``: returns it and the epoch to go on from."""
        return net, backup.restore(net)

    def fit(self, net: keras.Model, batches, restored, initial_epoch: int, callbacks, **kwargs):
        """``net.fit`` from ``initial_epoch`` (``restored``: the model the backup went into)."""
        with self.scope():
            return net.fit(batches, initial_epoch=initial_epoch, callbacks=callbacks, **kwargs)

    def finish(self, folder, net: keras.Model, validation, test, history=None) -> TrainResult:
        """Evaluates the best epoch's model and finishes the folder with its metrics."""
        best = folder.best_model(net)
        return folder.finish(best, evaluate(best, validation, test))


@dataclass
class MultiProcessCoordinator(Coordinator):
    """The multi-process form: each process reads its share of the data and trains a
    replica; process 0 alone reads and writes the run folder, and hands its backup and
    its best model to the others.

    Example:
        >>> two = MultiProcessCoordinator("jax.DataParallel", TrainingCluster("h:1", 2, 1))
        >>> two.local_batch_size(8), two.shard, two.is_chief
        (4, (1, 2), False)
    """

    out: Path | None = None  # the run folder the other processes are told about

    @property
    def shard(self) -> tuple[int, int]:
        return self.cluster.process_id, self.cluster.num_processes

    @property
    def share(self) -> str:
        return f" (process 0's share of {self.cluster.num_processes})"

    def open_folder(self, out, config: dict, resume: bool) -> RunFolder | None:
        self.out = out and Path(out)
        return super().open_folder(out, config, resume) if self.is_chief else None

    def create(self, folder: RunFolder | None, config: dict, run_data: RunData) -> None:
        if self.is_chief:
            super().create(folder, config, run_data)

    def finished_already(self, folder: RunFolder | None, resume: bool) -> bool:
        return self.agree(self.is_chief and super().finished_already(folder, resume))

    def finished(self, folder: RunFolder | None, talk: bool, epochs=None) -> TrainResult:
        if not self.is_chief:
            return TrainResult(self.out, None, {}, {})
        return super().finished(folder, talk, epochs)

    def compile(self, net: keras.Model, optimizer: dict, **settings) -> None:
        with self.scope():
            net.compile(optimizer=keras.optimizers.get(optimizer), **settings)
            net.optimizer.build(net.trainable_variables)  # now, alike in every process

    def restore(self, net: keras.Model, backup: RunBackup | None) -> tuple[keras.Model, int]:
        """Process 0 reads its backup into a local twin of ``net`` (see
        :meth:`broadcast_state`); the others read nothing."""
        if backup is None:
            return None, 0
        twin = _local_copy(net, weights=False)
        return twin, backup.restore(twin)

    def fit(self, net: keras.Model, batches, restored, initial_epoch: int, callbacks, **kwargs):
        callbacks = [
            OutsideDistribution(callback) if isinstance(callback, WRITERS) else callback
            for callback in callbacks
        ]
        with self.scope():  # every process starts from process 0's weights and epoch
            initial_epoch = self.broadcast_state(net, restored, initial_epoch)
            return net.fit(batches, initial_epoch=initial_epoch, callbacks=callbacks, **kwargs)

    def finish(self, folder, net: keras.Model, validation, test, history=None) -> TrainResult:
        """The best epoch's weights from process 0, evaluated by all on their shares."""
        best = folder.best_model(_local_copy(net, weights=True)) if self.is_chief else None
        with self.scope():
            self.broadcast_state(net, best, optimizer=False)
            metrics = evaluate(net, validation, test)
        if not self.is_chief:
            return TrainResult(self.out, net, history or {}, {})
        return folder.finish(best, metrics)

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


def _local_copy(net: keras.Model, weights: bool) -> keras.Model:
    """A copy of ``net`` made outside any distribution, compiled alike with its optimizer
    built, and with ``net``'s weights when ``weights``: process 0 reads the backup into
    it, or saves the best model from it (it may not touch variables placed across
    processes alone)."""
    copy = keras.models.clone_model(net)
    copy.compile_from_config(net.get_compile_config())
    copy.optimizer.build(copy.trainable_variables)
    if weights:
        for variable, value in zip(copy.weights, net.weights, strict=True):
            variable.assign(keras.ops.convert_to_numpy(value.value))
    return copy


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


def coordinate(distribution=None) -> Coordinator:
    """The coordinator a ``distribution`` argument asks for, its engine started: first in
    the process, since ``jax.distributed`` must start before anything runs on JAX.

    Example:
        >>> coordinate(None)  # doctest: +ELLIPSIS
        Coordinator(engine=None, cluster=TrainingCluster(...), local_devices=1)
    """
    cluster = check_distribution(distribution)
    return Coordinator() if cluster is None else start(cluster)


def start(cluster: TrainingCluster) -> Coordinator:
    """Starts the backend's data-parallel engine for ``cluster`` (see the module).

    Raises:
        ValueError: On PyTorch, for several processes on TensorFlow, or when JAX cannot
            join the cluster.
    """
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
        return Coordinator("tf.MirroredStrategy", cluster, strategy.num_replicas_in_sync, strategy)
    raise ValueError(
        f"Data-parallel training needs the JAX or TensorFlow backend; this is {backend!r}. "
        "Set KERAS_BACKEND=jax (one or several machines) or tensorflow (one machine)."
    )


def _start_jax(cluster: TrainingCluster) -> Coordinator:
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
    form = MultiProcessCoordinator if cluster.num_processes > 1 else Coordinator
    return form(
        "jax.DataParallel", cluster, jax.local_device_count(),
        keras.distribution.DataParallel(auto_shard_dataset=False),  # cnnzoo shards the sources
    )  # fmt: skip


def _jax_cluster_started() -> bool:
    from cnnzoo._compat import jax_distributed_state

    return jax_distributed_state().client is not None


__all__ = ["Coordinator", "MultiProcessCoordinator", "coordinate", "start"]
