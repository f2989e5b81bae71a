"""Distributed search: KerasTuner's chief/worker mode (the chief's oracle answers the
workers over gRPC), with the settings checked up front and workers that die handled.

KerasTuner reads three environment variables: ``KERASTUNER_ORACLE_IP`` and
``KERASTUNER_ORACLE_PORT`` (where the chief listens) and ``KERASTUNER_TUNER_ID``
(``"chief"`` for the chief, a unique name such as ``"tuner0"`` for each worker). The
project folder must be shared by all of them (workers write the trial checkpoints there
and the chief reads them for the best model).

Each worker writes a heartbeat file into ``<project>/workers/`` every few seconds. The
chief treats a worker as gone when its process has died (same host) or its heartbeat is
older than ``worker_timeout``: the trial it was running goes back in the queue for
another worker, and the search ends when no worker is left with work. Stock KerasTuner
would wait forever for such a worker.
"""

from __future__ import annotations

import contextlib
import json
import os
import socket
import threading
import time
from collections.abc import Mapping
from concurrent import futures
from dataclasses import dataclass
from pathlib import Path

from cnnzoo import _compat
from cnnzoo._compat import keras_tuner_service, keras_tuner_synchronized, keras_tuner_trial
from cnnzoo.files import write_text

ENVIRONMENT = ("KERASTUNER_ORACLE_IP", "KERASTUNER_ORACLE_PORT", "KERASTUNER_TUNER_ID")
CHIEF = "chief"


@dataclass(frozen=True)
class SearchCluster:
    """This process's role in a distributed search: where the chief listens and who this
    process is (``search(cluster=...)`` takes one, or a dict of its fields).

    Attributes:
        tuner_id: ``"chief"`` for the chief, a unique name for each worker.
        ip: The chief's address (the chief listens on it).
        port: The chief's port.

    Example:
        >>> SearchCluster.resolve(environ={})  # no variables: not distributed
        >>> SearchCluster.resolve(environ={"KERASTUNER_ORACLE_IP": "10.0.0.1",
        ...     "KERASTUNER_ORACLE_PORT": "8000", "KERASTUNER_TUNER_ID": "tuner0"})
        SearchCluster(tuner_id='tuner0', ip='10.0.0.1', port=8000)
    """

    tuner_id: str
    ip: str = "127.0.0.1"
    port: int = 8000

    @property
    def is_chief(self) -> bool:
        return self.tuner_id == CHIEF

    def environ(self) -> dict[str, str]:
        return dict(zip(ENVIRONMENT, (self.ip, str(self.port), self.tuner_id), strict=True))

    @classmethod
    def resolve(cls, cluster=None, environ: Mapping[str, str] | None = None):
        """Checks the settings: ``cluster`` (a :class:`SearchCluster` or a dict of its
        fields) or, when it is ``None``, the ``KERASTUNER_*`` environment variables.

        Returns:
            A :class:`SearchCluster`, or ``None`` for a search in this process alone.

        Raises:
            ValueError: For a missing variable, a bad port or an empty ID.
        """
        if cluster is None:
            environ = os.environ if environ is None else environ
            present = [name for name in ENVIRONMENT if environ.get(name)]
            if not present:
                return None
            missing = [name for name in ENVIRONMENT if name not in present]
            if missing:
                raise ValueError(
                    f"Distributed search needs {', '.join(ENVIRONMENT)}; {', '.join(present)} "
                    f"{'is' if len(present) == 1 else 'are'} set but {', '.join(missing)} "
                    f"{'is' if len(missing) == 1 else 'are'} not."
                )
            ip, port, tuner_id = (environ[name] for name in ENVIRONMENT)
            source = "KERASTUNER_ORACLE_PORT"
        elif isinstance(cluster, SearchCluster):
            tuner_id, ip, port, source = cluster.tuner_id, cluster.ip, cluster.port, "port"
        elif isinstance(cluster, Mapping):
            unknown = set(cluster) - {"tuner_id", "ip", "port"}
            if unknown or "tuner_id" not in cluster:
                raise ValueError(
                    "cluster must have a 'tuner_id' and may have 'ip' and 'port'; received "
                    f"cluster={dict(cluster)!r}."
                )
            tuner_id = cluster["tuner_id"]
            ip, port, source = cluster.get("ip", cls.ip), cluster.get("port", cls.port), "port"
        else:
            raise ValueError(
                "cluster must be None (read the KERASTUNER_* variables), a SearchCluster or a "
                f"dict; received cluster={cluster!r}."
            )
        return cls._checked(tuner_id, ip, port, source)

    @classmethod
    def _checked(cls, tuner_id, ip, port, source: str) -> SearchCluster:
        try:
            port = int(port)
        except (TypeError, ValueError):
            port = -1
        if not 0 < port < 65536:
            raise ValueError(f"{source} must be a port number (1-65535); received {port!r}.")
        if not isinstance(tuner_id, str) or not tuner_id.strip() or "/" in tuner_id:
            raise ValueError(
                "The tuner ID must be 'chief' or a worker name without '/'; received "
                f"tuner_id={tuner_id!r}."
            )
        if not isinstance(ip, str) or not ip:
            raise ValueError(f"The chief's address must be a host name or IP; received ip={ip!r}.")
        return cls(tuner_id=tuner_id, ip=ip, port=port)


@contextlib.contextmanager
def environment(settings: SearchCluster | None):
    """Sets KerasTuner's variables for ``settings`` (unsets them for ``None``)."""
    saved = {name: os.environ.get(name) for name in ENVIRONMENT}
    for name in ENVIRONMENT:
        os.environ.pop(name, None)
    if settings is not None:
        os.environ.update(settings.environ())
    try:
        yield
    finally:
        for name, value in saved.items():
            if value is None:
                os.environ.pop(name, None)
            else:
                os.environ[name] = value


def _pid_alive(pid: int) -> bool:
    try:
        os.kill(pid, 0)
    except ProcessLookupError:
        return False
    except PermissionError:
        return True
    return True


class Heartbeats:
    """The heartbeat files of the workers of one project (``<project>/workers/``)."""

    def __init__(self, project_dir: str | Path, timeout: float):
        self.folder = Path(project_dir) / "workers"
        self.timeout = timeout
        self._stop = threading.Event()
        self._thread: threading.Thread | None = None

    def _path(self, tuner_id: str) -> Path:
        return self.folder / f"{tuner_id}.json"

    def _read(self, tuner_id: str) -> dict | None:
        try:
            return json.loads(self._path(tuner_id).read_text())
        except (OSError, ValueError):
            return None

    def alive(self, tuner_id: str) -> bool:
        """Whether the worker's process runs (same host) and its heartbeat is recent."""
        beat = self._read(tuner_id)
        if beat is None or beat.get("stopped"):
            return False
        if beat["host"] == socket.gethostname() and not _pid_alive(beat["pid"]):
            return False
        return time.time() - beat["time"] < self.timeout

    def _beat(self, tuner_id: str, **extra) -> None:
        path = self._path(tuner_id)
        beat = {"pid": os.getpid(), "host": socket.gethostname(), "time": time.time(), **extra}
        write_text(path, json.dumps(beat))

    def start(self, tuner_id: str) -> None:
        """Claims ``tuner_id`` for this process and beats until :meth:`stop`.

        Raises:
            ValueError: If a live process already runs a worker with this ID.
        """
        self.folder.mkdir(parents=True, exist_ok=True)
        beat = self._read(tuner_id)
        mine = (socket.gethostname(), os.getpid())
        if beat is not None and (beat["host"], beat["pid"]) != mine and self.alive(tuner_id):
            raise ValueError(
                f"KERASTUNER_TUNER_ID={tuner_id!r} is already used by process {beat['pid']} on "
                f"{beat['host']} (heartbeat {time.time() - beat['time']:.0f} s ago); give "
                "every worker its own ID."
            )
        self._beat(tuner_id)
        interval = max(0.2, min(5.0, self.timeout / 4))

        def beat_until_stopped():
            while not self._stop.wait(interval):
                self._beat(tuner_id)

        self._thread = threading.Thread(target=beat_until_stopped, daemon=True)
        self._thread.start()
        self._tuner_id = tuner_id

    def stop(self) -> None:
        """Stops beating and marks the worker as finished."""
        self._stop.set()
        if self._thread is not None:
            self._thread.join()
            self._beat(self._tuner_id, stopped=True)


def _release(oracle, tuner_id: str) -> str | None:
    """Forgets a worker that is gone; its running trial goes back in the queue."""
    synchronized = keras_tuner_synchronized()

    @synchronized
    def release(oracle):
        trial = oracle.ongoing_trials.pop(tuner_id, None)
        oracle.tuner_ids.discard(tuner_id)
        if trial is not None:
            _compat.retry_later(oracle, trial.trial_id)
            oracle.save()
        return trial.trial_id if trial is not None else None

    return release(oracle)


def _known_workers(oracle) -> list[str]:
    """The IDs of the workers the oracle is waiting on, read under the oracle's lock."""
    synchronized = keras_tuner_synchronized()

    @synchronized
    def known(oracle):
        return sorted(set(oracle.tuner_ids) | set(oracle.ongoing_trials))

    return known(oracle)


def _servicer(oracle):
    protos, oracle_servicer = keras_tuner_service()
    trial_class, status = keras_tuner_trial()
    synchronized = keras_tuner_synchronized()

    class Servicer(oracle_servicer):
        """KerasTuner's servicer, except that a worker asking for work while other
        workers still run trials is told to wait (IDLE), not to stop: if one of them
        dies, its trial is requeued for the waiting worker."""

        def CreateTrial(self, request, context):  # noqa: N802 (the gRPC method name)
            @synchronized
            def create(oracle):
                trial = oracle.create_trial(request.tuner_id)
                if trial.status == status.STOPPED:
                    self.stop_triggered = True
                    if oracle.ongoing_trials:
                        oracle.tuner_ids.add(request.tuner_id)
                        trial = trial_class(oracle.get_space(), status=status.IDLE)
                return trial

            trial = create(self.oracle)
            return protos.get_service().CreateTrialResponse(trial=trial.to_proto())

    return Servicer(oracle)


def serve(oracle, settings: SearchCluster, heartbeats: Heartbeats, *, poll: float = 0.5,
          log=print) -> None:  # fmt: skip
    """Runs the chief: answers the workers until every trial has ended and every live
    worker has been told to stop; releases workers that are gone.

    Raises:
        ValueError: If the chief cannot listen on its address and port.
    """
    import grpc

    protos, _ = keras_tuner_service()
    server = grpc.server(futures.ThreadPoolExecutor(max_workers=4))
    servicer = _servicer(oracle)
    protos.get_service_grpc().add_OracleServicer_to_server(servicer, server)
    address = f"{settings.ip}:{settings.port}"
    try:
        bound = server.add_insecure_port(address)
    except RuntimeError:
        bound = 0
    if not bound:
        raise ValueError(f"The chief cannot listen on {address}: is the port in use?")
    server.start()
    log(f"Chief listening on {address}.")
    try:
        while True:
            time.sleep(poll)
            for tuner_id in _known_workers(oracle):
                if not heartbeats.alive(tuner_id):
                    trial_id = _release(oracle, tuner_id)
                    requeued = f"; trial {trial_id} goes back in the queue" if trial_id else ""
                    log(f"Worker {tuner_id} is gone{requeued}.")
            if servicer.stop_triggered and not oracle.ongoing_trials and not oracle.tuner_ids:
                break
    finally:
        server.stop(grace=2)


def patient_client(oracle_client, wait: float = 0.5):
    """Makes a worker's oracle client wait ``wait`` seconds before asking again after an
    IDLE answer (KerasTuner asks again at once, flooding the chief)."""
    _, status = keras_tuner_trial()
    create_trial = oracle_client.create_trial

    def create_trial_patiently(tuner_id):
        trial = create_trial(tuner_id)
        if trial.status == status.IDLE:
            time.sleep(wait)
        return trial

    oracle_client.create_trial = create_trial_patiently
    return oracle_client
