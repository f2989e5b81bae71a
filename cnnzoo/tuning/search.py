"""``search``: one call that runs a KerasTuner search, resumes it after an interruption,
and writes the trial table, the best model and hyperparameters and a plot."""

from __future__ import annotations

import time
import warnings
from collections.abc import Mapping, Sequence
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import keras
import keras_tuner

from cnnzoo import _compat
from cnnzoo.checks import check_choice, check_positive_int
from cnnzoo.files import write_json
from cnnzoo.tuning import distributed as dist
from cnnzoo.tuning.data import load_data
from cnnzoo.tuning.hypermodel import CNNHyperModel, search_model
from cnnzoo.tuning.record import SEARCH_RECORD, check_record, search_record
from cnnzoo.tuning.record import differences as differences  # still importable from here
from cnnzoo.tuning.results import (
    best_table,
    plot_scores,
    record_trial,
    trial_line,
    trial_rows,
    write_table,
)
from cnnzoo.tuning.state import (
    atomic_keras_tuner_files,
    repair_project,
    tuner_file_for_resume,
)


class _Recording:
    """Tuner mixin: notes each trial's time, epochs and worker next to KerasTuner's files,
    mends a damaged project before reloading it, and declares a :class:`CNNHyperModel`'s
    space without building a model (KerasTuner builds one with the defaults, which may be
    a configuration that cannot be built)."""

    recovered: tuple[str, ...] = ()
    report = True  # one line per trial
    _summary: dict[str, Any] | None = None

    def reload(self):
        if self._is_worker():  # the chief owns the oracle's files
            return super().reload()
        self.recovered = (*self.recovered, *repair_project(self))
        if not _compat.oracle_file(self.oracle).exists():
            return self._populate_initial_space()  # nothing could be recovered
        return super().reload()

    def _populate_initial_space(self):
        if not isinstance(self.hypermodel, CNNHyperModel):
            return super()._populate_initial_space()
        hp = self.oracle.get_space()
        self.hypermodel.values(hp)  # every hyperparameter, conditional ones included
        self.oracle.update_space(hp)

    def on_search_begin(self):
        self.oracle.verbose = 0  # one line per trial instead of KerasTuner's tables
        super().on_search_begin()

    def run_trial(self, trial, *args, **kwargs):
        start, histories = time.time(), []
        try:
            with warnings.catch_warnings():  # Hyperband reloads checkpoints, optimizer aside
                warnings.filterwarnings("ignore", message="Skipping variable loading for optimizer")
                histories = super().run_trial(trial, *args, **kwargs)
            return histories
        finally:
            epochs = sum(len(getattr(h, "history", {}).get("loss", [])) for h in histories)
            seconds = time.time() - start
            record_trial(
                self.get_trial_dir(trial.trial_id), seconds=seconds, epochs=epochs,
                worker=self.tuner_id,
            )  # fmt: skip
            objective = self.oracle.objective
            scores = [
                value for h in histories for value in getattr(h, "history", {}).get(
                    objective.name, []
                )
            ]  # fmt: skip
            better = max if objective.direction == "max" else min
            self._summary = {
                "seconds": seconds, "epochs": epochs, "score": better(scores) if scores else None
            }  # fmt: skip

    def on_trial_end(self, trial):
        super().on_trial_end(trial)
        if self.report:
            space = self.oracle.get_space()
            total = getattr(self.oracle, "max_trials", None)
            print(
                trial_line(
                    trial, self._summary or {}, objective=self.oracle.objective.name,
                    defaults={hp.name: hp.default for hp in space.space}, total=total,
                ),
                flush=True,
            )  # fmt: skip
        self._summary = None


TUNERS = {
    "hyperband": keras_tuner.Hyperband,
    "bayesian": keras_tuner.BayesianOptimization,
    "random": keras_tuner.RandomSearch,
    "grid": keras_tuner.GridSearch,
}


@dataclass
class SearchResult:
    """What :func:`search` leaves behind.

    Attributes:
        project_dir: The project folder (KerasTuner's files, ``trials.csv``,
            ``trials.json``, ``best_model.keras``, ``best_hyperparameters.json``,
            ``scores.png``).
        trials: One row per trial (see :func:`cnnzoo.tuning.results.trial_rows`).
        best_hyperparameters: The best trial's values (``None`` on a worker, or when every
            trial failed).
        best_model: The best model, trained (``None`` likewise).
        best_score: The best trial's score.
        tuner: The KerasTuner tuner, for anything else.
        recovered: One line per damaged file that the resume mended (see
            :func:`cnnzoo.tuning.state.repair_project`).
    """

    project_dir: Path
    trials: list[dict[str, Any]] = field(default_factory=list)
    best_hyperparameters: dict[str, Any] | None = None
    best_model: keras.Model | None = None
    best_score: float | None = None
    tuner: Any = None
    recovered: list[str] = field(default_factory=list)


def search(
    hypermodel: str | keras_tuner.HyperModel,
    train,
    validation=None,
    *,
    tuner: str = "hyperband",
    objective: str = "val_accuracy",
    max_trials: int | None = None,
    max_epochs: int = 10,
    directory: str | Path = "tuning",
    project_name: str | None = None,
    overwrite: bool = False,
    seed: int = 0,
    patience: int | None = 3,
    factor: int = 3,
    space: Mapping[str, Any] | None = None,
    fixed: Mapping[str, Any] | None = None,
    tune: Sequence[str] | None = None,
    pretrained: str | Path | None = None,
    input_shape: tuple[int, ...] | None = None,
    max_params: int | None = None,
    input_range: tuple[float, float] | None = None,
    cluster=None,
    worker_timeout: float = 60.0,
    verbose: int = 1,
    distributed=None,
) -> SearchResult:
    """Runs a hyperparameter search and writes its results; resumes an interrupted one.

    Each trial trains with early stopping on ``objective`` (``patience`` epochs). At the
    end the project folder (``directory/project_name``) holds ``trials.csv`` and
    ``trials.json`` (every trial's hyperparameters, score, status, epochs, seconds,
    worker and failure reason), ``best_model.keras``, ``best_hyperparameters.json`` and
    ``scores.png``. Started again with the same arguments after a kill, the search goes
    on: finished trials are kept, the interrupted one runs again, and the table holds
    every trial once. Configurations that cannot be built (a spatial size that
    collapses, more than ``max_params``) end as failed trials with the reason.

    Args:
        hypermodel: A registered model or family name (searched with :class:`CNNHyperModel` and
            ``space``, ``fixed``, ``pretrained``, ``input_shape``, ``max_params``) or any
            KerasTuner hypermodel.
        train: A data source (``"mnist-sample"``, a folder, ``"tfds:NAME"``, which brings
            its validation split), ``(images, labels)`` arrays, or a ``tf.data.Dataset``.
        validation: Validation data (arrays or a dataset) to score the trials on.
        tuner: ``"hyperband"`` (epochs are its budget, up to ``max_epochs``),
            ``"bayesian"``, ``"random"`` or ``"grid"`` (each trial up to ``max_epochs``).
        objective: The metric trials are ranked by.
        max_trials: Most trials (the Hyperband schedule's own count when ``None`` with
            Hyperband; 10 for the other tuners).
        max_epochs: Most epochs of one trial.
        directory: Folder of the projects.
        project_name: The project (default: the model's name).
        overwrite: Start afresh, deleting the project's earlier trials.
        seed: Seed of the tuner's sampling and of the trials' weights: the same seed
            tries the same sequence of hyperparameters.
        patience: Early-stopping patience of each trial (``None``: off).
        factor: Hyperband's reduction factor.
        space: ``{name: [choices] or (low, high)}`` (with a model name).
        fixed: ``{name: value}`` (with a model name).
        tune: Names to tune, the others at their defaults (with a model name).
        pretrained: A saved cnnzoo model or ``"imagenet"``: fine-tune-aware trials.
        input_shape: The model's input (default: its own size, the data's channels).
        max_params: Larger configurations fail.
        input_range: ``(low, high)`` of the pixels of array or dataset data (``None``:
            from the dtype, see :func:`cnnzoo.data.pipeline`).
        cluster: ``None`` (the ``KERASTUNER_*`` variables, if set, else this process
            alone), a :class:`~cnnzoo.tuning.SearchCluster` or a dict of its
            fields. The chief serves the trials and writes the results; each worker runs
            trials. The project folder must be shared.
        worker_timeout: Seconds without a heartbeat after which the chief gives a
            worker's trial to another one.
        verbose: ``0``: silent; ``1``: one line per trial (its number, score, epochs,
            time and the hyperparameters that differ from the defaults), then the best
            trial as a small table; ``2``: Keras' line per epoch too.
        distributed: Deprecated name of ``cluster``.

    Returns:
        A :class:`SearchResult`.

    Raises:
        ValueError: For a bad argument, or a project that holds a different search
            (pass ``overwrite=True`` or a new ``project_name``).

    Example:
        >>> import tempfile
        >>> from cnnzoo.data import load_sample
        >>> splits = load_sample("mnist", seed=0)
        >>> train = splits.train.images[:256], splits.train.labels[:256]
        >>> validation = splits.validation.images[:128], splits.validation.labels[:128]
        >>> result = search("lenet5_modern", train, validation, tuner="random", max_trials=2,
        ...                 max_epochs=1, fixed={"batch_size": 64}, input_range=(0, 1),
        ...                 verbose=0,
        ...                 directory=tempfile.mkdtemp())
        >>> [row["status"] for row in result.trials]
        ['COMPLETED', 'COMPLETED']
        >>> files = sorted(path.name for path in result.project_dir.glob("*.*"))
        >>> files  # doctest: +NORMALIZE_WHITESPACE
        ['best_hyperparameters.json', 'best_model.keras', 'cnnzoo_search.json',
         'oracle.json', 'scores.png', 'trials.csv', 'trials.json', 'tuner0.json']
    """
    check_choice("tuner", tuner, tuple(TUNERS))
    check_positive_int("max_epochs", max_epochs)
    if max_trials is not None:
        check_positive_int("max_trials", max_trials)
    settings = dist.SearchCluster.resolve(_renamed(cluster, distributed))
    train, validation, num_classes, channels, source_range = load_data(train, validation, seed)
    hypermodel = _hypermodel(
        hypermodel, num_classes, channels, source_range, seed, space=space, fixed=fixed,
        tune=tune, pretrained=pretrained, input_shape=input_shape, max_params=max_params,
        input_range=input_range,
    )  # fmt: skip
    project_name = project_name or hypermodel.name or "search"
    project_dir = Path(directory) / project_name
    is_worker = settings is not None and not settings.is_chief
    record = search_record(tuner, objective, max_trials, max_epochs, factor, seed, hypermodel)
    recovered = [] if is_worker else check_record(project_dir, record, overwrite)
    keras.utils.set_random_seed(seed)
    kwargs = _tuner_arguments(
        tuner, max_trials, max_epochs, factor, objective=objective, directory=str(directory),
        project_name=project_name, overwrite=overwrite and not is_worker, seed=seed,
    )  # fmt: skip
    tuner_class = type(TUNERS[tuner].__name__, (_Recording, TUNERS[tuner]), {})
    with dist.environment(settings), atomic_keras_tuner_files():
        if not is_worker and not overwrite:
            recovered += tuner_file_for_resume(project_dir)
        search_tuner = tuner_class(hypermodel, **kwargs)
        recovered += search_tuner.recovered
        if recovered and verbose:
            print(f"Recovered {project_dir}:" + "".join(f"\n  {note}" for note in recovered))
        if tuner == "hyperband" and max_trials is not None:
            search_tuner.oracle.max_trials = max_trials
        if not is_worker:
            write_json(project_dir / SEARCH_RECORD, record)
        search_tuner.report = verbose >= 1
        search_tuner.oracle.verbose = 0  # the chief's too: cnnzoo prints its own lines
        _run(
            search_tuner, settings, project_dir, train, validation, objective=objective,
            patience=patience, max_epochs=max_epochs, worker_timeout=worker_timeout,
            verbose=verbose,
        )  # fmt: skip
    if is_worker:
        return SearchResult(
            project_dir, trial_rows(project_dir), tuner=search_tuner, recovered=recovered
        )
    result = _finish(search_tuner, project_dir, objective)
    result.recovered = recovered
    if verbose and result.best_hyperparameters is not None:
        _print_best(search_tuner, result, objective)
    return result


def _hypermodel(hypermodel, num_classes, channels, source_range, seed, **options):
    """A :class:`CNNHyperModel` of a model name with the search's ``options``; any other
    hypermodel unchanged (the options go with a model name only)."""
    if isinstance(hypermodel, str):
        from cnnzoo.registry import model_info

        hypermodel = search_model(hypermodel)
        default = model_info(hypermodel).default_input_shape
        return CNNHyperModel(
            hypermodel, num_classes=num_classes, space=options["space"], fixed=options["fixed"],
            tune=options["tune"], pretrained=options["pretrained"],
            input_shape=options["input_shape"] or (*default[:-1], channels),
            max_params=options["max_params"],
            input_range=options["input_range"] or source_range, seed=seed,
        )  # fmt: skip
    if any(value is not None for value in options.values()):
        raise ValueError(
            "space, fixed, tune, pretrained, input_shape, max_params and input_range go with "
            "a model name; set them on the hypermodel you pass instead."
        )
    return hypermodel


def _tuner_arguments(tuner: str, max_trials, max_epochs: int, factor: int, **kwargs) -> dict:
    kwargs["max_consecutive_failed_trials"] = 10**9  # a failed configuration is not a crash
    if tuner == "hyperband":
        return {**kwargs, "max_epochs": max_epochs, "factor": factor}
    return {**kwargs, "max_trials": max_trials or 10}


def _run(search_tuner, settings, project_dir: Path, train, validation, *, objective: str,
         patience, max_epochs: int, worker_timeout: float, verbose: int) -> None:  # fmt: skip
    """Runs the trials: in this process alone, as the chief serving them, or as a worker."""
    callbacks = []
    if patience is not None:
        callbacks.append(keras.callbacks.EarlyStopping(monitor=objective, patience=patience))
    fit = dict(
        validation_data=validation, epochs=max_epochs, callbacks=callbacks,
        verbose=2 if verbose >= 2 else 0,
    )  # fmt: skip
    if settings is None:
        search_tuner.search(train, **fit)
    elif settings.is_chief:
        search_tuner.save()
        heartbeats = dist.Heartbeats(project_dir, worker_timeout)
        dist.serve(search_tuner.oracle, settings, heartbeats, log=print if verbose else _quiet)
    else:
        _work(search_tuner, settings, project_dir, worker_timeout, train, fit)


def _print_best(search_tuner, result: SearchResult, objective: str) -> None:
    best_id = search_tuner.oracle.get_best_trials(1)[0].trial_id
    best = next(row for row in result.trials if row["trial_id"] == best_id)
    defaults = {hp.name: hp.default for hp in search_tuner.oracle.get_space().space}
    print(best_table(best, result.best_hyperparameters, defaults, objective,
                     len(result.trials)))  # fmt: skip


def _quiet(*args) -> None:
    pass


def _renamed(cluster, distributed):
    """``cluster``, or the value given under its old name ``distributed`` (deprecated)."""
    if distributed is None:
        return cluster
    warnings.warn(
        "search(distributed=...) is deprecated; use search(cluster=...).",
        DeprecationWarning,
        stacklevel=3,
    )
    if cluster is not None:
        raise ValueError("Pass cluster=..., not both cluster= and distributed=.")
    return distributed


def _work(search_tuner, settings, project_dir: Path, worker_timeout: float, train, fit) -> None:
    heartbeats = dist.Heartbeats(project_dir, worker_timeout)
    heartbeats.start(settings.tuner_id)
    try:
        dist.patient_client(search_tuner.oracle)
        search_tuner.search(train, **fit)
    finally:
        heartbeats.stop()


def _finish(search_tuner, project_dir: Path, objective: str) -> SearchResult:
    rows = trial_rows(project_dir)
    write_table(project_dir, rows)
    direction = search_tuner.oracle.objective.direction  # KerasTuner infers it from the name
    plot_scores(rows, project_dir / "scores.png", objective, direction)
    result = SearchResult(project_dir, rows, tuner=search_tuner)
    best = search_tuner.oracle.get_best_trials(1)
    if best and best[0].score is not None:
        result.best_hyperparameters = dict(best[0].hyperparameters.values)
        result.best_score = best[0].score
        write_json(project_dir / "best_hyperparameters.json", result.best_hyperparameters)
        with warnings.catch_warnings():  # the checkpoint's optimizer state is not needed
            warnings.filterwarnings("ignore", message="Skipping variable loading for optimizer")
            result.best_model = search_tuner.load_model(best[0])
        model = result.best_model
        if model.optimizer is not None:  # saved with its variables, it reloads without warnings
            model.optimizer.build(model.trainable_variables)
        model.save(project_dir / "best_model.keras")
    return result
