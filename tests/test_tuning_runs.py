"""Searches as processes, through ``cnnzoo tune``: killed with SIGKILL and resumed, and
distributed over a chief and two workers on 127.0.0.1, one of them killed mid-search."""

import csv
import json
import signal
import socket
import subprocess
import sys
import time

import pytest
from conftest import quiet_env, run_command

from cnnzoo.cli import main
from cnnzoo.tuning.distributed import Heartbeats, SearchCluster

ENV = quiet_env()


def tune_command(folder, directory, *extra, trials=4):
    """A small random search on the digits folder (3 epochs a trial at most)."""
    return [
        sys.executable, "-m", "cnnzoo", "tune", "lenet5_modern", "--data", str(folder),
        "--tuner", "random", "--max-trials", str(trials), "--max-epochs", "3",
        "--patience", "-1", "--directory", str(directory), "--fix", "batch_size=8", *extra,
    ]  # fmt: skip


def wait_for(condition, what, timeout=300, processes=()):
    deadline = time.monotonic() + timeout
    while not condition():
        dead = [p for p in processes if p.poll() is not None]
        assert not dead, f"a process ended before {what}: {dead[0].args}"
        assert time.monotonic() < deadline, f"timed out waiting for {what}"
        time.sleep(0.05)


def table(project):
    with open(project / "trials.csv") as file:
        return list(csv.DictReader(file))


@pytest.mark.slow
def test_a_search_killed_mid_trial_resumes_without_rerunning_finished_trials(
    tmp_path, digits_folder
):
    project = tmp_path / "lenet5_modern"
    command = tune_command(digits_folder, tmp_path)
    process = subprocess.Popen(command, env=ENV, stdout=subprocess.DEVNULL, stderr=subprocess.PIPE)
    wait_for(
        lambda: (
            (project / "trial_1" / "trial.json").exists()
            and (project / "trial_0" / "cnnzoo_trial.json").exists()
        ),
        "the second trial",
        processes=[process],
    )
    process.send_signal(signal.SIGKILL)
    process.wait()
    first_trial = json.loads((project / "trial_0" / "cnnzoo_trial.json").read_text())
    assert not (project / "trial_1" / "cnnzoo_trial.json").exists(), "killed mid-trial"
    assert not (project / "trials.csv").exists()

    resumed = run_command(command, env=ENV)
    assert resumed.returncode == 0, resumed.stderr[-3000:]
    rows = table(project)
    assert [row["trial_id"] for row in rows] == ["0", "1", "2", "3"]  # each trial once
    assert all(row["status"] == "COMPLETED" and row["epochs"] == "3" for row in rows)
    again = json.loads((project / "trial_0" / "cnnzoo_trial.json").read_text())
    assert again == first_trial  # the finished trial was not run again
    assert (project / "best_model.keras").exists()
    # One line per trial run here (the finished one is not run again), then the best.
    lines = resumed.stdout.splitlines()
    assert [line.split(":")[0] for line in lines if line.startswith("Trial ")] == [
        "Trial 2/4", "Trial 3/4", "Trial 4/4"
    ]  # fmt: skip
    assert "Best trial: " in resumed.stdout and "tuner/" not in resumed.stdout


def free_port() -> int:
    with socket.socket() as probe:
        probe.bind(("127.0.0.1", 0))
        return probe.getsockname()[1]


def start_cluster(folder, directory, trials):
    oracle = f"127.0.0.1:{free_port()}"

    def start(tuner_id):
        extra = ("--tuner-id", tuner_id, "--oracle", oracle, "--worker-timeout", "20")
        return subprocess.Popen(
            tune_command(folder, directory, *extra, trials=trials), env=ENV,
            stdout=subprocess.PIPE, stderr=subprocess.STDOUT, text=True,
        )  # fmt: skip

    return start("chief"), start("tuner0"), start("tuner1")


def finish(process, timeout=420):
    try:
        out, _ = process.communicate(timeout=timeout)
    except subprocess.TimeoutExpired:
        process.kill()
        out, _ = process.communicate()
        pytest.fail(f"{process.args[-5]} did not finish:\n{out[-3000:]}")
    return process.returncode, out


@pytest.mark.slow
def test_a_chief_and_two_workers_run_every_trial_once(tmp_path, digits_folder):
    chief, *workers = start_cluster(digits_folder, tmp_path, trials=6)
    for worker in workers:
        code, out = finish(worker)
        assert code == 0, out[-3000:]
    code, out = finish(chief)
    assert code == 0, out[-3000:]
    rows = table(tmp_path / "lenet5_modern")
    assert sorted(row["trial_id"] for row in rows) == ["0", "1", "2", "3", "4", "5"]
    assert all(row["status"] == "COMPLETED" for row in rows)
    assert {row["worker"] for row in rows} <= {"tuner0", "tuner1"}
    assert "Best trial: " in out  # the chief writes the results
    assert (tmp_path / "lenet5_modern" / "best_model.keras").exists()


@pytest.mark.slow
def test_the_search_completes_when_a_worker_is_killed(tmp_path, digits_folder):
    project = tmp_path / "lenet5_modern"
    chief, doomed, survivor = start_cluster(digits_folder, tmp_path, trials=5)

    def doomed_is_running_a_trial():
        try:
            oracle = json.loads((project / "oracle.json").read_text())
        except (OSError, ValueError):
            return False
        return "tuner0" in oracle.get("ongoing_trials", {})

    wait_for(doomed_is_running_a_trial, "tuner0's first trial", processes=[chief, survivor])
    doomed.send_signal(signal.SIGKILL)
    doomed.wait()
    code, out = finish(survivor)
    assert code == 0, out[-3000:]
    code, out = finish(chief)
    assert code == 0, out[-3000:]
    assert "Worker tuner0 is gone" in out
    rows = table(project)
    assert sorted(row["trial_id"] for row in rows) == ["0", "1", "2", "3", "4"]
    assert all(row["status"] == "COMPLETED" for row in rows)
    assert all(row["worker"] == "tuner1" for row in rows)  # tuner0 died in its first trial


# ----- settings, checked before anything starts -------------------------------------------


def test_distributed_settings_are_checked_up_front():
    with pytest.raises(ValueError, match=r"KERASTUNER_TUNER_ID is not"):
        SearchCluster.resolve(
            environ={"KERASTUNER_ORACLE_IP": "127.0.0.1", "KERASTUNER_ORACLE_PORT": "8000"}
        )
    with pytest.raises(ValueError, match=r"port number \(1-65535\); received -1"):
        SearchCluster.resolve({"tuner_id": "tuner0", "port": "http"})
    with pytest.raises(ValueError, match=r"must have a 'tuner_id'"):
        SearchCluster.resolve({"id": "tuner0"})
    assert SearchCluster.resolve({"tuner_id": "chief", "port": 9000}).is_chief


def test_a_worker_id_in_use_by_a_live_process_is_refused(tmp_path):
    other = subprocess.Popen([sys.executable, "-c", "import time; time.sleep(60)"])
    try:
        heartbeats = Heartbeats(tmp_path, timeout=60)
        heartbeats.folder.mkdir(parents=True)
        beat = {"pid": other.pid, "host": socket.gethostname(), "time": time.time()}
        (heartbeats.folder / "tuner0.json").write_text(json.dumps(beat))
        with pytest.raises(ValueError, match=rf"'tuner0' is already used by process {other.pid}"):
            heartbeats.start("tuner0")
    finally:
        other.kill()
        other.wait()
    heartbeats.start("tuner0")  # its process is gone: the ID is free again
    assert heartbeats.alive("tuner0")
    heartbeats.stop()
    assert not heartbeats.alive("tuner0")


def test_the_command_needs_both_distributed_flags(tmp_path, digits_folder, capsys):
    command = tune_command(digits_folder, tmp_path, "--tuner-id", "tuner0")
    with pytest.raises(SystemExit) as exit_:  # in this process: a usage error, no search
        main(command[3:])  # after `python -m cnnzoo`
    error = capsys.readouterr().err
    assert exit_.value.code == 2 and "--tuner-id and --oracle go together" in error, error
    assert not list(tmp_path.iterdir())  # refused before the project is made
    assert SearchCluster("tuner0").environ()["KERASTUNER_TUNER_ID"] == "tuner0"
