"""A search's files survive a kill at any moment, and a damaged project resumes.

The interruptions land on purpose, not by timing: an in-process "kill" (an exception no
trial catches) raised on the Nth write of a chosen file, and a real SIGKILL that the
search's process sends itself half-way through writing a chosen file."""

import json
import os
import shutil
import sys
import textwrap

import pytest
from conftest import quiet_env, run_command

from cnnzoo import files
from cnnzoo.data import load_sample
from cnnzoo.files import read_json, write_text
from cnnzoo.tuning import search
from cnnzoo.tuning import state as state_module

ENV = quiet_env()


class Killed(BaseException):
    """Stands for a kill: no trial catches it, so the search stops where it is raised."""


@pytest.fixture(scope="session")
def digits():
    splits = load_sample("mnist", seed=0)
    train = splits.train.images[:96], splits.train.labels[:96]
    return train, (splits.validation.images[:64], splits.validation.labels[:64])


# Interrupted as trial 1 starts, a random search of 2 trials resumes to run that trial
# again (and no other: the resumed searches cost a trial each).
SETTINGS = {
    "random": dict(tuner="random", max_trials=2, max_epochs=2),
    "hyperband": dict(tuner="hyperband", max_trials=5, max_epochs=3, factor=3),
    # killed in its own process (KILLER below) as trial 1 ends too, so a third to resume to
    "killed": dict(tuner="random", max_trials=3, max_epochs=2),
}


def run_search(digits, directory, tuner="random"):
    return search(
        "lenet5_modern", *digits, **SETTINGS[tuner], fixed={"batch_size": 32}, patience=None,
        input_range=(0, 1), verbose=0, directory=directory, project_name="project",
    )  # fmt: skip


def kill_on_write(monkeypatch, name: str, nth: int):
    """Raises :class:`Killed` on the ``nth`` write of a file called ``name``, half of
    its bytes written (as a kill mid-write would leave it)."""
    original, seen = files._write_file, []

    def write(path, data):
        if os.path.basename(str(path)).startswith(f".{name}."):
            seen.append(path)
            if len(seen) == nth:
                original(path, data[: len(data) // 2])
                raise Killed(path)
        original(path, data)

    monkeypatch.setattr(files, "_write_file", write)


def interrupt_a_search(digits, directory, tuner):
    """A search stopped as its second trial starts training (trial 0 ended), and the state
    its oracle had then: ``(tuner, project folder, oracle state)``. (KerasTuner writes
    nothing more of a trial until it has trained, so this is what a kill at any moment of
    that training leaves on disk, the checkpoint aside.)"""
    with pytest.MonkeyPatch.context() as monkeypatch:
        kill_on_write(monkeypatch, "build_config.json", 2)
        with pytest.raises(Killed):
            run_search(digits, directory, tuner)
    project = directory / "project"
    assert read_json(project / "trial_1" / "trial.json")["status"] == "RUNNING"
    assert read_json(project / "trial_0" / "trial.json")["status"] == "COMPLETED"
    assert not list(project.rglob(".*.tmp")), "the temporary file is removed"
    return tuner, project, read_json(project / "oracle.json")


@pytest.fixture(scope="session")
def interruptions(digits, tmp_path_factory):
    """``interruptions(tuner)``: :func:`interrupt_a_search` once per tuner and worker. (A
    module-scoped fixture with parameters was made again whenever its parameter changed or
    another module's test ran in between: up to 9 times a session, 12 to 22 s each.)"""
    made = {}

    def interrupted(tuner):
        if tuner not in made:
            made[tuner] = interrupt_a_search(digits, tmp_path_factory.mktemp(tuner), tuner)
        return made[tuner]

    return interrupted


@pytest.fixture(params=["random", pytest.param("hyperband", marks=pytest.mark.slow)])
def interrupted(request, interruptions):
    """The interrupted search of the parameter's tuner (tests copy it before changing it)."""
    return interruptions(request.param)


def copy_project(interrupted, tmp_path):
    tuner, project, oracle_state = interrupted
    copy = tmp_path / "project"
    shutil.copytree(project, copy)
    return tuner, copy, oracle_state


def ids(result):
    return [row["trial_id"] for row in result.trials]


@pytest.mark.slow
def test_a_kill_mid_write_leaves_every_file_whole(interrupted):
    _, project, oracle_state = interrupted
    for path in project.rglob("*.json"):
        assert read_json(path) is not None, f"{path} is damaged"
    assert oracle_state["ongoing_trials"] == {"tuner0": "1"}


@pytest.mark.slow
def test_the_interrupted_search_resumes_and_keeps_the_finished_trial(interrupted, digits, tmp_path):
    tuner, project, _ = copy_project(interrupted, tmp_path)
    first = read_json(project / "trial_0" / "cnnzoo_trial.json")
    result = run_search(digits, tmp_path, tuner)
    assert result.recovered == []
    assert len(ids(result)) == SETTINGS[tuner]["max_trials"]
    assert all(row["status"] == "COMPLETED" for row in result.trials)
    assert read_json(project / "trial_0" / "cnnzoo_trial.json") == first  # not run again


def test_the_oracle_rebuilt_from_the_trial_files_matches_the_one_written(interrupted, tmp_path):
    """An empty oracle.json is rebuilt from the trials: the same trials in the same order,
    ended and queued alike, the same values tried, the same Hyperband brackets."""
    import keras_tuner

    tuner, project, written = copy_project(interrupted, tmp_path)
    (project / "oracle.json").write_text("")
    if tuner == "random":
        tuner_class, settings = (
            keras_tuner.RandomSearch,
            {"max_trials": SETTINGS[tuner]["max_trials"]},
        )
    else:
        tuner_class, settings = keras_tuner.Hyperband, {"max_epochs": 3, "factor": 3}
    # A tuner of the same kind made elsewhere, then pointed at the damaged project.
    probe = tuner_class(
        lambda hp: None, objective="val_accuracy", directory=str(tmp_path / "probe"),
        project_name="project", seed=0, **settings,
    )  # fmt: skip
    probe.oracle._set_project_dir(str(tmp_path), "project")
    probe.directory = str(tmp_path)
    notes = state_module.repair_project(probe)
    assert notes[0].startswith("oracle.json: unreadable; rebuilt from 2 trial files")
    assert (project / "oracle.json.damaged").read_text() == ""
    rebuilt = read_json(project / "oracle.json")
    assert rebuilt["start_order"] == written["start_order"] == ["0", "1"]
    assert rebuilt["end_order"] == written["end_order"] == ["0"]
    assert rebuilt["retry_queue"] == ["1"]  # the interrupted trial runs again
    assert sorted(rebuilt["tried_so_far"]) == sorted(written["tried_so_far"])
    assert rebuilt["id_to_hash"] == written["id_to_hash"]
    assert rebuilt["hyperparameters"]["space"] == written["hyperparameters"]["space"]
    if tuner == "hyperband":
        assert rebuilt["brackets"] == written["brackets"]
        assert rebuilt["current_bracket"] == written["current_bracket"]


def half(path):
    text = path.read_text()
    path.write_text(text[: len(text) // 2])


DAMAGE = {
    "oracle.json emptied": ("oracle.json", lambda p: p.write_text(""), "oracle.json: unreadable"),
    "oracle.json cut short": ("oracle.json", half, "oracle.json: unreadable"),
    "oracle.json deleted": ("oracle.json", os.remove, "oracle.json: missing"),
    "tuner0.json emptied": ("tuner0.json", lambda p: p.write_text(""), "tuner0.json: unreadable"),
    "tuner0.json deleted": ("tuner0.json", os.remove, "tuner0.json: missing"),
    "running trial cut short": ("trial_1/trial.json", half, "trial_1/trial.json: unreadable"),
    "running trial not JSON of a trial": (
        "trial_1/trial.json",
        lambda p: p.write_text('{"a": 1}'),
        "trial_1/trial.json: unreadable",
    ),
    "ended trial emptied": (
        "trial_0/trial.json",
        lambda p: p.write_text(""),
        "trial_0/trial.json: unreadable",
    ),
    "trial record cut short": (
        "trial_0/cnnzoo_trial.json",
        half,
        "trial_0/cnnzoo_trial.json: unreadable",
    ),
    "search record emptied": (
        "cnnzoo_search.json",
        lambda p: p.write_text(""),
        "cnnzoo_search.json: unreadable",
    ),
}


# Every damage on a random search; on Hyperband, those that rebuild its brackets.
@pytest.mark.slow
@pytest.mark.parametrize(
    ("interrupted", "damage"),
    [("random", damage) for damage in DAMAGE]
    + [
        pytest.param("hyperband", damage, marks=pytest.mark.slow)
        for damage in ("oracle.json emptied", "running trial cut short")
    ],
    indirect=["interrupted"],
)
def test_a_damaged_file_is_recovered_and_the_search_resumes(
    damage, interrupted, digits, tmp_path, capsys
):
    tuner, project, _ = copy_project(interrupted, tmp_path)
    name, spoil, note = DAMAGE[damage]
    spoil(project / name)
    result = run_search(digits, tmp_path, tuner)
    assert any(line.startswith(note) for line in result.recovered), result.recovered
    assert len(ids(result)) == SETTINGS[tuner]["max_trials"]
    assert ids(result) == sorted(set(ids(result)))  # every trial once
    statuses = {row["trial_id"]: row["status"] for row in result.trials}
    if damage == "ended trial emptied":  # its values are lost: kept as a failed trial
        assert statuses.pop("0") == "FAILED"
        assert "hyperparameters could not be read" in result.trials[0]["reason"]
    assert set(statuses.values()) == {"COMPLETED"}
    assert result.best_model is not None and (project / "trials.csv").exists()
    if damage.startswith("running trial"):  # its values are lost: it runs again
        assert (project / "damaged_trial_1" / "trial.json").exists()
    elif not damage.endswith("deleted"):
        assert (project / f"{name}.damaged").exists()
    for path in [*project.glob("*.json"), *project.glob("trial_*/*.json")]:
        assert read_json(path) is not None, path


@pytest.mark.slow
def test_a_project_whose_files_are_all_unreadable_starts_afresh(interrupted, digits, tmp_path):
    tuner, project, _ = copy_project(interrupted, tmp_path)
    for path in [project / "oracle.json", *project.glob("trial_*/trial.json")]:
        path.write_text("{")
    result = run_search(digits, tmp_path, tuner)
    assert ids(result)[:2] == ["0", "1"] and len(ids(result)) == SETTINGS[tuner]["max_trials"]
    assert result.trials[0]["status"] == "FAILED"  # kept, not hidden
    assert {row["status"] for row in result.trials[1:]} == {"COMPLETED"}  # the last runs again


def test_write_text_keeps_the_old_file_when_the_write_fails(tmp_path, monkeypatch):
    path = tmp_path / "state.json"
    write_text(path, "old")
    kill_on_write(monkeypatch, "state.json", 1)
    with pytest.raises(Killed):
        write_text(path, "new text")
    assert path.read_text() == "old"
    assert [p.name for p in tmp_path.iterdir()] == ["state.json"]


# The search runs in its own process, which SIGKILLs itself half-way through writing the
# chosen file (the temporary file then holds half of it, and is left behind).
KILLER = textwrap.dedent(
    """
    import json, os, signal, sys
    from cnnzoo.data import load_sample
    from cnnzoo import files
    from cnnzoo.tuning import search

    name, nth, directory, settings = sys.argv[1], int(sys.argv[2]), sys.argv[3], sys.argv[4]
    write, seen = files._write_file, []

    def killing_write(path, data):
        if os.path.basename(str(path)).startswith("." + name + "."):
            seen.append(path)
            if len(seen) == nth:
                with open(path, "wb") as file:
                    file.write(data[: len(data) // 2])
                os.kill(os.getpid(), signal.SIGKILL)
        write(path, data)

    files._write_file = killing_write
    splits = load_sample("mnist", seed=0)
    search(
        "lenet5_modern", (splits.train.images[:96], splits.train.labels[:96]),
        (splits.validation.images[:64], splits.validation.labels[:64]),
        **json.loads(settings), fixed={"batch_size": 32},
        patience=None, input_range=(0, 1), verbose=0, directory=directory,
        project_name="project",
    )
    """
)


@pytest.mark.slow
@pytest.mark.parametrize(
    ("name", "nth"),
    [
        ("trial.json", 4),  # trial 1's, as it is created
        ("tuner0.json", 1),  # the first time, as trial 0 ends: the file is not there yet
        # The oracle saved as trial 1 ends: KerasTuner still lists the ended trial as
        # running there, so the oracle is rebuilt (or trial 1 would train twice).
        ("oracle.json", 5),
    ],
)
def test_a_real_kill_while_a_state_file_is_written_leaves_a_search_that_resumes(
    name, nth, digits, tmp_path
):
    settings = json.dumps(SETTINGS["killed"])
    killed = run_command([sys.executable, "-c", KILLER, name, nth, tmp_path, settings], env=ENV)
    assert killed.returncode == -9, killed.stderr[-2000:]
    project = tmp_path / "project"
    assert list(project.rglob(f".{name}.*.tmp")), "killed with the temporary file half-written"
    for path in project.rglob("*.json"):
        assert read_json(path) is not None, f"{path} is damaged"
    records = {path: path.read_text() for path in project.glob("trial_*/cnnzoo_trial.json")}
    result = run_search(digits, tmp_path, "killed")
    if name == "oracle.json":
        assert result.recovered == [
            "oracle.json: out of step with the trial files; rebuilt from 2 trial files "
            "(2 ended, 0 to run again)"
        ]
        assert len(records) == 2
    elif name == "tuner0.json":
        assert result.recovered == ["tuner0.json: missing; written so that the search resumes"]
        assert len(records) == 1
    else:
        assert result.recovered == [] and len(records) == 1
    assert all(path.read_text() == text for path, text in records.items())  # not run again
    assert ids(result) == ["0", "1", "2"]
    assert all(row["status"] == "COMPLETED" for row in result.trials)
    assert not list(project.rglob("*.tmp"))
    assert json.loads((project / "trials.json").read_text()) == result.trials
