"""The processes of a data-parallel training run, checked before anything starts: what
``train(distribution=...)`` and ``cnnzoo train --distribute`` accept."""

from __future__ import annotations

import os
from collections.abc import Mapping
from dataclasses import dataclass, fields

DATA_PARALLEL = "data_parallel"
# Keras' own variables (keras.distribution.initialize reads the same ones).
ENVIRONMENT = {
    "coordinator": "KERAS_DISTRIBUTION_JOB_ADDRESSES",
    "num_processes": "KERAS_DISTRIBUTION_NUM_PROCESSES",
    "process_id": "KERAS_DISTRIBUTION_PROCESS_ID",
}


@dataclass(frozen=True)
class TrainingCluster:
    """This process's place in a data-parallel training run.

    ``train(distribution=...)`` takes ``"data_parallel"`` (every local accelerator, and
    several processes on JAX when Keras' variables ``KERAS_DISTRIBUTION_JOB_ADDRESSES``,
    ``KERAS_DISTRIBUTION_NUM_PROCESSES`` and ``KERAS_DISTRIBUTION_PROCESS_ID`` are set),
    or a ``TrainingCluster`` or dict of its fields (each missing one read from those
    variables). ``batch_size`` is then the global batch; each process reads its own share
    of the data (as many images in each, so a few may be left out), and only process 0
    writes the run folder. Every process runs the same call; a resumed run continues
    from process 0's backup in all of them.

    Attributes:
        coordinator: ``host:port`` where process 0 listens (Keras' job addresses: a
            comma-separated list is fine, its first entry is used).
        num_processes: How many processes train together.
        process_id: This process, from 0 (the one that writes the run folder) to
            ``num_processes - 1``.

    Example:
        >>> TrainingCluster.resolve({"coordinator": "10.0.0.1:1234", "num_processes": 2,
        ...                          "process_id": 1}, environ={})
        TrainingCluster(coordinator='10.0.0.1:1234', num_processes=2, process_id=1)
        >>> TrainingCluster.resolve(None, environ={})  # one process: nothing to coordinate
        TrainingCluster(coordinator=None, num_processes=1, process_id=0)
        >>> TrainingCluster.resolve({"num_processes": 2}, environ={})
        Traceback (most recent call last):
        ...
        ValueError: A run of num_processes=2 processes needs process_id (0 to 1) ...
    """

    coordinator: str | None = None
    num_processes: int = 1
    process_id: int = 0

    @classmethod
    def resolve(
        cls, settings: Mapping | TrainingCluster | None = None, environ: Mapping | None = None
    ) -> TrainingCluster:
        """The cluster from ``settings`` (a dict or a ``TrainingCluster``), each missing
        value taken from Keras' ``KERAS_DISTRIBUTION_*`` variables."""
        environ = os.environ if environ is None else environ
        if isinstance(settings, TrainingCluster):
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
    def _checked(cls, coordinator, num_processes, process_id) -> TrainingCluster:
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


def describe_distribution() -> str:
    return (
        f"None (one device), {DATA_PARALLEL!r} (every local accelerator; several processes "
        "when the KERAS_DISTRIBUTION_* variables are set) or a dict of coordinator, "
        "num_processes and process_id"
    )


def check_distribution(distribution) -> TrainingCluster | None:
    """The cluster a ``distribution`` argument asks for, or ``None`` for no distribution.
    Checks only: starts nothing.

    Raises:
        ValueError: For anything but ``None``, ``"data_parallel"``, a dict or a
            :class:`TrainingCluster`, or a cluster setting that is wrong.

    Example:
        >>> check_distribution(None) is None
        True
        >>> check_distribution({"num_processes": 1})
        TrainingCluster(coordinator=None, num_processes=1, process_id=0)
    """
    if distribution is None or distribution is False:
        return None
    if distribution is True or distribution == DATA_PARALLEL:
        return TrainingCluster.resolve(None)
    if isinstance(distribution, (Mapping, TrainingCluster)):
        return TrainingCluster.resolve(distribution)
    raise ValueError(
        f"distribution must be {describe_distribution()}; received distribution={distribution!r}."
    )


__all__ = ["DATA_PARALLEL", "TrainingCluster", "check_distribution"]
