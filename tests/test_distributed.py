"""Data-parallel training across processes: two real processes on 127.0.0.1 (JAX, gloo
collectives on the CPU), and the checks that come before any process starts.

The multi-process tests need the JAX backend: ``make test-backends`` runs this file with
``KERAS_BACKEND=jax``; ``make test`` (TensorFlow) runs the rest.
"""

import json
import socket
import subprocess
import sys
import time
from pathlib import Path

import keras
import numpy as np
import pytest
from conftest import kill_after_epochs, quiet_env

from cnnzoo import lenet5
from cnnzoo.cli import main
from cnnzoo.data import from_folder
from cnnzoo.data.shard import shard_sequences
from cnnzoo.training import history_rows, train
from cnnzoo.training.cluster import TrainingCluster, check_distribution
from cnnzoo.training.coordinator import MultiProcessCoordinator

RUNNER = Path(__file__).parent / "distributed_run.py"
jax_only = pytest.mark.skipif(
    keras.backend.backend() != "jax", reason="several processes train on the JAX backend"
)


def free_port() -> int:
    with socket.socket() as probe:
        probe.bind(("127.0.0.1", 0))
        return probe.getsockname()[1]


def command(port, process_id, out, data, epochs, report, *extra):
    return [sys.executable, str(RUNNER), str(port), str(process_id), str(out), str(data),
            str(epochs), str(report), *extra]  # fmt: skip


ENV = quiet_env(KERAS_BACKEND="jax")


def run_pair(tmp_path, data, epochs, *extra, out="run"):
    """Both processes to the end; returns their reports (process 0's, then 1's)."""
    port = free_port()
    processes = [
        subprocess.Popen(
            command(
                port,
                i,
                tmp_path / (out if i == 0 else f"{out}-process1"),
                data,
                epochs,
                tmp_path / f"report{i}.npz",
                *extra,
            ),
            env=ENV,
            stdout=subprocess.PIPE,
            stderr=subprocess.STDOUT,
            text=True,
        )
        for i in (0, 1)
    ]
    for process in processes:
        output, _ = process.communicate(timeout=600)
        assert process.returncode == 0, output[-3000:]
    return [np.load(tmp_path / f"report{i}.npz") for i in (0, 1)]


def weights(report):
    return [report[f"arr_{i}"] for i in range(sum(k.startswith("arr_") for k in report.files))]


@jax_only
def test_two_processes_train_on_their_own_shares_to_identical_weights(tmp_path, digits_folder):
    chief, worker = run_pair(tmp_path, digits_folder, 3)
    for mine, theirs in zip(weights(chief), weights(worker), strict=True):
        np.testing.assert_array_equal(mine, theirs)
    rows = history_rows(tmp_path / "run" / "history.csv")
    assert [row["epoch"] for row in rows] == [0, 1, 2]
    assert rows[-1]["loss"] < rows[0]["loss"]  # it learned, from both shares
    assert json.loads(str(worker["history"]))["loss"] == [row["loss"] for row in rows]
    metrics = json.loads((tmp_path / "run" / "metrics.json").read_text())
    assert json.loads(str(chief["metrics"])) == metrics and json.loads(str(worker["metrics"])) == {}
    assert not (tmp_path / "run-process1").exists()  # only process 0 writes
    logs = {path.parent.name for path in (tmp_path / "run" / "logs").rglob("events.out.*")}
    assert logs == {"train", "validation"}  # its TensorBoard callback saw every hook
    # Each process reads its own half of the 20 training images.
    assert len(chief["labels"]) == len(worker["labels"]) == 10
    config = json.loads((tmp_path / "run" / "config.json").read_text())
    assert config["distribution"] == "data_parallel" and config["batch_size"] == 8


@jax_only
def test_a_killed_process_stops_the_other_which_then_resumes(tmp_path, digits_folder):
    port = free_port()
    run = tmp_path / "run"
    chief = subprocess.Popen(
        command(port, 0, run, digits_folder, 4, tmp_path / "report0.npz"),
        env=ENV, stdout=subprocess.DEVNULL, stderr=subprocess.PIPE, text=True,
    )  # fmt: skip
    worker_command = command(port, 1, tmp_path / "w", digits_folder, 4, tmp_path / "r1.npz")
    kill_after_epochs(worker_command, run / "history.csv", 1, ENV)
    killed_at = time.monotonic()
    _, errors = chief.communicate(timeout=180)  # JAX notices the lost peer: no hang
    assert chief.returncode != 0 and time.monotonic() - killed_at < 120
    assert "another task died" in errors
    done = len(history_rows(run / "history.csv"))
    assert done >= 1 and not (run / "metrics.json").exists()

    chief, worker = run_pair(tmp_path, digits_folder, 4, "--resume")
    rows = history_rows(run / "history.csv")
    assert [row["epoch"] for row in rows] == [0, 1, 2, 3]  # every epoch once
    # Both continued from process 0's backup: the same epochs, the same weights.
    assert len(json.loads(str(worker["history"]))["loss"]) == 4 - done
    for mine, theirs in zip(weights(chief), weights(worker), strict=True):
        np.testing.assert_array_equal(mine, theirs)


def test_shares_are_disjoint_equal_and_cover_all_but_a_remainder(digits_folder):
    paths = [from_folder(digits_folder, batch_size=None, verbose=False, shard=(i, 3)).train
             for i in range(3)]  # fmt: skip
    files = [set(dataset.file_paths) for dataset in paths]
    assert [len(f) for f in files] == [8, 8, 8]  # 24 files
    assert not (files[0] & files[1] or files[1] & files[2] or files[0] & files[2])
    images, labels = shard_sequences((np.arange(10), np.arange(10) % 2), (1, 4))
    assert images.tolist() == [1, 5] and labels.tolist() == [1, 1]
    with pytest.raises(ValueError, match=r"shard must be None or \(index, count\).*\(2, 2\)"):
        from_folder(digits_folder, shard=(2, 2), verbose=False)


@pytest.mark.parametrize(
    ("settings", "environ", "message"),
    [
        ({"num_processes": 2, "process_id": 0}, {}, "needs coordinator, the host:port"),
        ({"coordinator": "10.0.0.1", "num_processes": 2, "process_id": 0}, {},
         "coordinator must be host:port .* received coordinator='10.0.0.1'"),
        ({"coordinator": "h:1", "num_processes": 2, "process_id": 2}, {},
         r"needs process_id \(0 to 1\) .* received process_id=2"),
        ({"num_processes": 0}, {}, "num_processes must be >= 1; received num_processes=0"),
        ({"workers": 2}, {}, r"Unknown cluster setting\(s\) \['workers'\]"),
        ({}, {"KERAS_DISTRIBUTION_NUM_PROCESSES": "two"},
         "KERAS_DISTRIBUTION_NUM_PROCESSES must be an int; received .*'two'"),
        ({}, {"KERAS_DISTRIBUTION_PROCESS_ID": "1"}, "process_id must be 0 in a run of one"),
    ],
)  # fmt: skip
def test_cluster_settings_are_checked_before_anything_starts(settings, environ, message):
    with pytest.raises(ValueError, match=message):
        TrainingCluster.resolve(settings, environ=environ)


def test_the_environment_fills_what_is_not_given(monkeypatch):
    monkeypatch.setenv("KERAS_DISTRIBUTION_JOB_ADDRESSES", "10.0.0.1:1234,10.0.0.2:1234")
    monkeypatch.setenv("KERAS_DISTRIBUTION_NUM_PROCESSES", "2")
    monkeypatch.setenv("KERAS_DISTRIBUTION_PROCESS_ID", "1")
    cluster = check_distribution("data_parallel")
    assert (cluster.num_processes, cluster.process_id, cluster.is_chief) == (2, 1, False)
    assert check_distribution({"process_id": 0}).is_chief  # an argument wins
    assert check_distribution(None) is None
    with pytest.raises(
        ValueError, match=r"distribution must be None .* received distribution='tpu'"
    ):
        check_distribution("tpu")


@pytest.mark.slow
@pytest.mark.skipif(keras.backend.backend() != "tensorflow", reason="TensorFlow's engine")
def test_tensorflow_trains_on_one_machine_and_refuses_several(tmp_path, digits_folder):
    built = lenet5(num_classes=2)  # built outside the strategy: train copies it inside
    result = train(
        built, digits_folder, epochs=2, batch_size=8, out=tmp_path / "run", verbose=0,
        distribution="data_parallel", patience=None,
    )  # fmt: skip
    assert result.epochs == 2 and 0 <= result.metrics["validation_accuracy"] <= 1
    assert not np.allclose(result.model.get_weights()[0], built.get_weights()[0])
    assert json.loads((result.run_dir / "config.json").read_text())["steps_per_execution"] == 1
    with pytest.raises(ValueError, match="steps_per_execution must be 1 with distribution"):
        train("lenet5", digits_folder, distribution="data_parallel", steps_per_execution=8)
    cluster = {"coordinator": "127.0.0.1:1234", "num_processes": 2, "process_id": 0}
    with pytest.raises(ValueError, match="num_processes=2 processes needs the JAX backend"):
        train("lenet5", digits_folder, out=tmp_path / "never", distribution=cluster)
    assert not (tmp_path / "never").exists()


@pytest.mark.skipif(keras.backend.backend() != "torch", reason="PyTorch's refusal")
def test_pytorch_refuses_distribution(digits_folder):
    with pytest.raises(ValueError, match="needs the JAX or TensorFlow backend; this is 'torch'"):
        train("lenet5", digits_folder, distribution="data_parallel")


def test_the_command_line_needs_distribute_for_cluster_flags(capsys):
    with pytest.raises(SystemExit) as exit_info:
        main(["train", "lenet5", "--num-processes", "2", "--process-id", "1"])
    assert exit_info.value.code == 2
    assert "--num-processes, --process-id needs --distribute" in capsys.readouterr().err


def test_a_batch_that_does_not_split_between_processes_is_refused():
    two = MultiProcessCoordinator("jax.DataParallel", TrainingCluster("h:1", 2, 0), 1)
    assert two.local_batch_size(8) == 4
    with pytest.raises(ValueError, match=r"multiple of the 2 devices .* received batch_size=7"):
        two.local_batch_size(7)
