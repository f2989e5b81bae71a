"""A search's files on disk: every one written atomically, and a damaged project
repaired before KerasTuner reads it.

KerasTuner writes ``oracle.json`` and the running trial's ``trial.json`` after every
epoch by truncating the file and writing it anew, so a process killed at that moment
leaves an empty or half-written file, and the next run fails in ``oracle.reload`` with a
``JSONDecodeError``. Within :func:`atomic_keras_tuner_files` every such file is written to
a temporary file beside it and renamed into place, so a kill leaves the old file whole.
:func:`repair_project` mends what an older version or another tool left damaged: it
rebuilds the oracle's state from the trial files, keeps unreadable files as
``*.damaged`` and says what it recovered.
"""

from __future__ import annotations

import contextlib
import copy
import json
import os
import shutil
from pathlib import Path
from typing import Any

from cnnzoo import _compat
from cnnzoo._compat import keras_tuner_trial, keras_tuner_utils
from cnnzoo.files import read_json, write_json, write_text

ENDED = ("COMPLETED", "FAILED", "INVALID")
TRIAL_RECORD = "cnnzoo_trial.json"  # per trial folder: seconds, epochs, worker


@contextlib.contextmanager
def atomic_keras_tuner_files():
    """Within the block, KerasTuner writes its oracle, tuner and trial files atomically
    (it writes every one of them through one function, which this replaces).

    Local paths only; a remote one (``gs://...``) is written as KerasTuner does."""
    utils = keras_tuner_utils()
    original = utils.save_json

    def save_json(path, obj):
        if "://" in str(path):
            return original(path, obj)
        text = json.dumps(obj)
        write_text(path, text)
        return text

    utils.save_json = save_json
    try:
        yield
    finally:
        utils.save_json = original


def _trial_order(trial_id: str) -> tuple[int, str]:
    return (int(trial_id), trial_id) if trial_id.isdigit() else (10**9, trial_id)


def set_aside(path: Path, notes: list[str], why: str) -> None:
    """Renames a damaged file of a project to ``NAME.damaged`` and notes why."""
    damaged = path.with_name(path.name + ".damaged")
    path.replace(damaged)
    in_trial = path.parent.name.startswith("trial_")
    notes.append(
        f"{path.parent.name + '/' if in_trial else ''}{path.name}: {why}; kept as {damaged.name}"
    )


def _search_space(tuner):
    """The tuner's search space: the hypermodel's, declared afresh if the oracle has not
    read it yet (it is declared from the project's files only when they are whole)."""
    if not tuner.oracle.hyperparameters.space:
        _compat.populate_initial_space(tuner)
    return tuner.oracle.get_space()


def _load_trials(project: Path, tuner, notes: list[str]) -> dict[str, Any]:
    """Every trial on disk. An unreadable ``trial.json`` of the last trial (the one a kill
    interrupts) sets its folder aside, so that the trial runs again under its ID with new
    values; an earlier one is set aside and its trial kept as a failed one (so that no
    later trial takes its ID)."""
    trial_class, status = keras_tuner_trial()
    folders = sorted(
        (folder for folder in project.glob("trial_*") if (folder / "trial.json").exists()),
        key=lambda folder: _trial_order(folder.name.removeprefix("trial_")),
    )
    trials = {}
    for folder in folders:
        path = folder / "trial.json"
        try:
            trial = trial_class.load(str(path))
        except Exception as error:  # any damage: empty, cut short, not a trial at all
            trial_id, why = folder.name.removeprefix("trial_"), type(error).__name__
            if folder == folders[-1]:
                aside = folder.with_name("damaged_" + folder.name)  # out of the trial_* glob
                shutil.rmtree(aside, ignore_errors=True)
                folder.replace(aside)
                notes.append(
                    f"{folder.name}/trial.json: unreadable ({why}); the trial runs again "
                    f"(its folder kept as {aside.name})"
                )
                continue
            set_aside(path, notes, f"unreadable ({why}), counted as failed")
            trial = trial_class(_search_space(tuner), trial_id=trial_id, status=status.FAILED)
            trial.message = "trial.json was damaged; its hyperparameters could not be read"
            trial.save(str(path))
        record = folder / TRIAL_RECORD
        if record.exists() and not isinstance(read_json(record), dict):
            set_aside(record, notes, "unreadable, the trial's time and epochs are unknown")
        trials[trial.trial_id] = trial
    return trials


def _referenced_ids(state: dict) -> set[str]:
    ids = set(state["ongoing_trials"].values()) | set(state["start_order"])
    ids |= set(state["end_order"]) | set(state["retry_queue"])
    for bracket in state.get("brackets", []):
        ids |= {entry["id"] for round_ in bracket["rounds"] for entry in round_}
    return ids


def _consistent(state: Any, template: dict, trials: dict) -> bool:
    """Whether a read oracle state has every key, names exactly the trials on disk, and
    runs again exactly the trials that did not end (KerasTuner saves the oracle with an
    ended trial still listed as running, so a kill then would train it twice)."""
    if not isinstance(state, dict) or not set(template) <= set(state):
        return False
    try:
        if not _referenced_ids(state) == set(trials) == set(state["start_order"]):
            return False
        pending = set(state["ongoing_trials"].values()) | set(state["retry_queue"])
    except (AttributeError, KeyError, TypeError):
        return False
    running = {i for i, trial in trials.items() if trial.status not in ENDED}
    return running <= pending and not any(
        trials[i].status in ("COMPLETED", "FAILED") for i in pending
    )


def _hyperband_brackets(oracle, trials: dict, order: list[str]) -> dict:
    """Hyperband's brackets, rounds and position, from the ``tuner/...`` values that
    every Hyperband trial carries (a continued trial's bracket is its first round's)."""
    brackets: list[dict] = []
    bracket_of: dict[str, dict] = {}
    iteration, last = 0, None
    for trial_id in order:
        values = trials[trial_id].hyperparameters.values
        round_num = values.get("tuner/round")
        if round_num is None:
            continue
        past = values.get("tuner/trial_id")
        if round_num == 0:
            number = values["tuner/bracket"]
            open_ = [
                b for b in brackets
                if b["bracket_num"] == number
                and len(b["rounds"][0]) < _compat.hyperband_round_size(oracle, number, 0)
            ]  # fmt: skip
            if open_:
                bracket = open_[-1]
            else:
                if last is not None and number >= last:
                    iteration += 1  # the sweep through the brackets started again
                bracket = {"bracket_num": number, "rounds": [[] for _ in range(number + 1)]}
                brackets.append(bracket)
                last = number
        elif past in bracket_of:
            bracket = bracket_of[past]
        else:
            continue  # continues a trial that is gone: it stays a trial, out of the brackets
        bracket["rounds"][round_num].append({"past_id": past, "id": trial_id})
        bracket_of[trial_id] = bracket
    if last is None:
        return {}
    return {"brackets": brackets, "current_bracket": last, "current_iteration": iteration}


def _rebuilt_state(tuner, template: dict, trials: dict) -> dict:
    """The oracle's state as the trial files on disk tell it: ended trials stay ended,
    the others run again."""
    oracle = tuner.oracle
    order = sorted(trials, key=_trial_order)
    ended = [i for i in order if trials[i].status in ENDED]
    space = _search_space(tuner)
    for trial_id in order:  # with any hyperparameter a trial added on the way
        space.merge(trials[trial_id].hyperparameters.space, overwrite=False)
    hashes = {i: _compat.values_hash(oracle, trials[i].hyperparameters.values) for i in order}
    state = copy.deepcopy(template)
    state.update(
        ongoing_trials={},
        hyperparameters=space.get_config() | {"values": {}},
        start_order=order,
        end_order=ended,
        run_times={i: 1 for i in ended},
        retry_queue=[i for i in order if i not in ended][::-1],  # popped from the end
        seed=oracle.seed,
        seed_state=oracle.seed + len(order) * 1000,  # past every value drawn before
        tried_so_far=sorted(set(hashes.values())),
        id_to_hash=hashes,
        display={"search_start": None, "trial_start": {}, "trial_number": {}},
    )
    if "brackets" in template:
        state.update(_hyperband_brackets(oracle, trials, order))
    return state


def tuner_file_for_resume(project_dir: str | Path) -> list[str]:
    """Writes the tuner's file where a project holds trials without it (a kill in the
    first trial, or a file deleted), so that KerasTuner reloads the project instead of
    starting over and writing over its trials; returns a note when it did."""
    project = Path(project_dir)
    name = f"{os.environ.get('KERASTUNER_TUNER_ID', 'tuner0')}.json"
    has_state = (project / "oracle.json").exists() or any(project.glob("trial_*/trial.json"))
    if not has_state or (project / name).exists():
        return []
    write_json(project / name, {})  # a KerasTuner tuner's own state is empty
    return [f"{name}: missing; written so that the search resumes"]


def repair_project(tuner) -> list[str]:
    """Mends ``tuner``'s project folder so that KerasTuner can reload it; returns one
    line per file it recovered (none when every file is whole).

    An unreadable ``trial.json`` of the last trial sets its folder aside
    (``damaged_trial_N``) and the trial runs again; an earlier one becomes a failed trial
    (the file kept as ``trial.json.damaged``); an oracle state that is missing,
    unreadable or names other trials than those on disk is rebuilt from the trial files
    (finished trials kept, interrupted ones queued to run again, Hyperband's brackets from
    the trials' ``tuner/...`` values); an unreadable
    tuner file is written anew; temporary files left by a kill are removed.
    """
    project = Path(tuner.project_dir)
    notes: list[str] = []
    for partial in [*project.glob(".*.tmp"), *project.glob("trial_*/.*.tmp")]:
        partial.unlink(missing_ok=True)
    oracle = tuner.oracle
    trials = _load_trials(project, tuner, notes)
    template = oracle.get_state()
    oracle_path = _compat.oracle_file(oracle)
    state = read_json(oracle_path)
    if trials and not _consistent(state, template, trials):
        why = "missing" if not oracle_path.exists() else "unreadable" if state is None else ""
        if oracle_path.exists():
            set_aside(oracle_path, [], "damaged")
        rebuilt = _rebuilt_state(tuner, template, trials)
        write_json(oracle_path, rebuilt)
        finished, again = len(rebuilt["end_order"]), len(rebuilt["retry_queue"])
        notes.append(
            f"oracle.json: {why or 'out of step with the trial files'}; rebuilt from "
            f"{len(trials)} trial files ({finished} ended, {again} to run again)"
        )
    elif not trials and (state is None or not _consistent(state, template, {})):
        if oracle_path.exists():
            set_aside(oracle_path, notes, "unreadable, and no trial to rebuild it from")
        return notes  # nothing to reload: the search starts afresh
    tuner_path = _compat.tuner_file(tuner)
    if tuner_path.exists() and not isinstance(read_json(tuner_path), dict):
        set_aside(tuner_path, notes, "unreadable, written anew")
        write_json(tuner_path, tuner.get_state())
    return notes
