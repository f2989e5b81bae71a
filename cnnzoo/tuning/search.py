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
import numpy as np
import tensorflow as tf

from cnnzoo.checks import check_choice, check_positive_int
from cnnzoo.files import read_json, write_json
from cnnzoo.tuning import distributed as dist
from cnnzoo.tuning.hypermodel import CNNHyperModel, search_model
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
    set_aside,
    tuner_file_for_resume,
)

SEARCH_RECORD = "cnnzoo_search.json"  # what defines the search, to refuse a changed one


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
        if not Path(self.oracle._get_oracle_fname()).exists():
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


def _channels_and_classes(data) -> tuple[int | None, int | None]:
    """Channels of the images and classes of the labels of numpy data or a dataset."""
    if isinstance(data, tf.data.Dataset):
        spec = data.element_spec
        image, label = (spec["image"], spec["label"]) if isinstance(spec, dict) else spec
        channels = image.shape[-1] if image.shape.rank in (3, 4) else 1
        if label.shape.rank >= 1 and label.shape[-1] is not None:  # one-hot
            return channels, label.shape[-1]
        labels = data.map(lambda *item: item[1]["label"] if isinstance(spec, dict) else item[1])
        return channels, int(max(np.max(batch) for batch in labels.as_numpy_iterator())) + 1
    images, labels = np.asarray(data[0]), np.asarray(data[1])
    channels = images.shape[-1] if images.ndim == 4 else 1
    classes = labels.shape[-1] if labels.ndim == 2 else int(labels.max()) + 1
    return channels, classes


def _load(train, validation, seed: int):
    """``(train, validation, num_classes, channels, input_range)`` from a data source name
    or arrays/datasets."""
    if isinstance(train, (str, Path)):
        from cnnzoo.training.sources import load_run_data

        data = load_run_data(str(train), seed=seed, validation_split=0.2)
        channels, _ = _channels_and_classes(data.train)
        validation = data.validation if validation is None else validation
        return data.train, validation, len(data.class_names), channels, data.input_range
    if isinstance(train, list):
        train = tuple(train)
    if not isinstance(train, (tuple, tf.data.Dataset)):
        raise ValueError(
            "train must be a data source ('mnist-sample', a folder, 'tfds:NAME'), (images, "
            f"labels) arrays or a tf.data.Dataset; received {type(train).__name__}."
        )
    if validation is None:
        raise ValueError("validation is needed: (images, labels) or a dataset to score trials on.")
    channels, classes = _channels_and_classes(train)
    return train, validation, classes, channels, None


def _brief(value: Any) -> str:
    text = "(none)" if value is None else repr(value)
    return text if len(text) <= 60 else text[:57] + "..."


def differences(before: Any, after: Any, path: str = "") -> list[str]:
    """One line per setting that differs between two search records: dictionaries
    compared key by key, hyperparameters by name, each value cut to 60 characters.

    Example:
        >>> differences({"max_trials": 3, "hypermodel": {"fixed": {}}},
        ...             {"max_trials": 4, "hypermodel": {"fixed": {"batch_size": 32}}})
        ['hypermodel.fixed.batch_size: (none) -> 32', 'max_trials: 3 -> 4']
    """
    if isinstance(before, dict) and isinstance(after, dict):
        lines = []
        for key in sorted(set(before) | set(after), key=str):
            lines += differences(before.get(key), after.get(key), f"{path}{key}.")
        return lines
    if _named(before) and _named(after):  # hyperparameter configurations
        return differences(_by_name(before), _by_name(after), path.removesuffix("."))
    if before == after:
        return []
    return [f"{path.removesuffix('.')}: {_brief(before)} -> {_brief(after)}"]


def _named(value: Any) -> bool:
    return (
        bool(value)
        and isinstance(value, list)
        and all(isinstance(item, dict) and "name" in item for item in value)
    )


def _by_name(items: list[dict]) -> dict[str, Any]:
    return {f"[{item['name']}]": item for item in items}


def _check_record(project_dir: Path, record: dict, overwrite: bool) -> list[str]:
    """Refuses a project that holds another search; returns a note when the record of
    the earlier search cannot be read (it is then written anew)."""
    path = project_dir / SEARCH_RECORD
    if overwrite or not path.exists():
        return []
    before = read_json(path)
    if not isinstance(before, dict):
        notes: list[str] = []
        set_aside(path, notes, "unreadable, so the earlier settings could not be compared")
        return notes
    changes = differences(before, record)
    if changes:
        shown = "".join(f"\n  {line}" for line in changes[:8])
        more = f"\n  ... and {len(changes) - 8} more" if len(changes) > 8 else ""
        raise ValueError(
            f"The project {str(project_dir)!r} holds a different search:{shown}{more}\n"
            "Pass overwrite=True to start it afresh, or a new project_name."
        )
    return []


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
    train, validation, num_classes, channels, source_range = _load(train, validation, seed)
    if isinstance(hypermodel, str):
        from cnnzoo.registry import model_info

        hypermodel = search_model(hypermodel)
        default = model_info(hypermodel).default_input_shape
        hypermodel = CNNHyperModel(
            hypermodel, num_classes=num_classes, space=space, fixed=fixed, tune=tune,
            pretrained=pretrained,
            input_shape=input_shape or (*default[:-1], channels), max_params=max_params,
            input_range=input_range or source_range, seed=seed,
        )  # fmt: skip
    elif any(
        v is not None
        for v in (space, fixed, tune, pretrained, input_shape, max_params, input_range)
    ):
        raise ValueError(
            "space, fixed, tune, pretrained, input_shape, max_params and input_range go with "
            "a model name; set them on the hypermodel you pass instead."
        )
    project_name = project_name or hypermodel.name or "search"
    project_dir = Path(directory) / project_name
    is_worker = settings is not None and not settings.is_chief
    record = {
        "tuner": tuner, "objective": objective, "max_trials": max_trials,
        "max_epochs": max_epochs, "factor": factor if tuner == "hyperband" else None,
        "seed": seed, "hypermodel": _describe(hypermodel),
    }  # fmt: skip
    recovered = [] if is_worker else _check_record(project_dir, record, overwrite)
    keras.utils.set_random_seed(seed)
    kwargs = dict(
        objective=objective, directory=str(directory), project_name=project_name,
        overwrite=overwrite and not is_worker, seed=seed,
        max_consecutive_failed_trials=10**9,  # a failed configuration is not a crash
    )  # fmt: skip
    if tuner == "hyperband":
        kwargs.update(max_epochs=max_epochs, factor=factor)
    else:
        kwargs.update(max_trials=max_trials or 10)
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
        callbacks = []
        if patience is not None:
            callbacks.append(keras.callbacks.EarlyStopping(monitor=objective, patience=patience))
        search_tuner.report = verbose >= 1
        search_tuner.oracle.verbose = 0  # the chief's too: cnnzoo prints its own lines
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
    if is_worker:
        return SearchResult(
            project_dir, trial_rows(project_dir), tuner=search_tuner, recovered=recovered
        )
    result = _finish(search_tuner, project_dir, objective)
    result.recovered = recovered
    if verbose and result.best_hyperparameters is not None:
        best_id = search_tuner.oracle.get_best_trials(1)[0].trial_id
        best = next(row for row in result.trials if row["trial_id"] == best_id)
        defaults = {hp.name: hp.default for hp in search_tuner.oracle.get_space().space}
        print(best_table(best, result.best_hyperparameters, defaults, objective,
                         len(result.trials)))  # fmt: skip
    return result


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


def _describe(hypermodel) -> Any:
    if isinstance(hypermodel, CNNHyperModel):
        hp = keras_tuner.HyperParameters()
        hypermodel.values(hp)
        return {**hypermodel.describe(), "hyperparameters": [h.get_config() for h in hp.space]}
    return type(hypermodel).__name__


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
