"""
Title: Hyperband search over LeNet and ResNet, resumable
Author: cnnzoo
Date created: 2026/11/30
Last modified: 2026/11/30
Description: Tune LeNet-5 and ResNet-20 with Hyperband; stop it at any time and run it again.

Run: `python recipes/tune_hyperband.py [--quick] [--out DIR] [--max-epochs N]`; after an
interruption, run the same command again: the search continues where it stopped.
"""

"""
## Hyperband in one paragraph

Most hyperparameter settings are bad, and a bad one is usually visibly bad after an
epoch or two. Hyperband (Li et al. 2018) exploits that: it starts many trials with a
small budget of epochs, keeps the best third (`factor=3`) and trains those longer, and
so on up to `max_epochs`, with several such brackets that trade many short trials for
few long ones. Epochs, not trials, are the budget.

`cnnzoo.tuning.search(model, train, validation, tuner="hyperband", ...)` runs it over a
space that comes from each family's spec table (`cnnzoo tune MODEL --space` prints it),
so every trial builds a registered model you could build by hand. This recipe searches
two spaces on the bundled digits:

- **LeNet-5** (`lenet5_modern`): width multiplier, activation, dropout, learning rate;
- **ResNet** (`resnet20`, the CIFAR stem): depth (20 or 32), width multiplier,
  optimizer (Adam, or SGD with Nesterov momentum), learning rate.

Everything else stays at its default (`tune=[...]`).
"""

import argparse
import json
from pathlib import Path

from cnnzoo.data import load_sample
from cnnzoo.tuning import search
from cnnzoo.tuning.results import trial_rows

"""
## The searches

The bundled sample's training split feeds the trials and its validation split scores
them (`objective="val_accuracy"`). The quick run uses a few hundred images and a budget
of 3 epochs: for LeNet, one bracket of three 1-epoch trials whose best goes on to 3
epochs, then one of two 3-epoch trials; for ResNet-20, at a quarter or half of its
width, only the first two trials (`max_trials=2`).
"""


def spaces(quick: bool) -> dict:
    lenet = dict(tune=["width", "activation", "dropout", "learning_rate"])
    resnet = dict(
        tune=["depth", "width", "optimizer", "learning_rate"],
        space={"depth": [20, 32], "optimizer": ["adam", "sgd"]},
    )
    if quick:  # two thin ResNet-20 trials: each spends most of its time building its graph
        lenet["space"] = {"activation": ["relu", "tanh"]}
        resnet["space"].update(depth=[20], width=[0.25, 0.5])
        resnet["max_trials"] = 2
    return {"lenet5_modern": lenet, "resnet20": resnet}


def digits(quick: bool, seed: int):
    splits = load_sample("mnist", seed=seed)
    train, validation = tuple(splits.train), tuple(splits.validation)
    if quick:
        train = tuple(array[:384] for array in train)
        validation = tuple(array[:192] for array in validation)
    return train, validation


"""
## Resuming

A search keeps everything in its project folder (`DIR/<project>/`): KerasTuner's
oracle and one folder per trial, plus cnnzoo's record of what the search is. Run the
same command again, after a kill, a crash or a closed laptop, and `search` reloads the
project: finished trials are kept (not trained again), the trial that was interrupted
runs again, and the search goes on to the end; the trial table then holds every trial
once. The recipe reads the table before searching to show which trials were already
done, and marks them `kept` in the table it prints.

Two things to know: the same `seed` proposes the same hyperparameters, so a fresh
search with the same seed repeats this one; and a project refuses a *different* search
(another space, budget or seed) rather than mixing the two. The quick and the full run
are different searches, so they get different projects (`-quick`).
"""


def run_search(model: str, options: dict, data, args) -> dict:
    project = model + ("-quick" if args.quick else "")
    project_dir = args.out / project
    finished_before = {
        row["trial_id"] for row in trial_rows(project_dir) if row["status"] == "COMPLETED"
    }
    if finished_before:
        print(f"\n{project}: resuming; trials finished before (kept): {len(finished_before)}")
    else:
        print(f"\n{project}: starting a new search in {project_dir}")
    result = search(
        model, *data, tuner="hyperband", max_epochs=args.max_epochs, factor=3,
        directory=args.out, project_name=project, seed=args.seed, input_range=(0, 1),
        verbose=0, **options,
    )  # fmt: skip
    print_table(result.trials, finished_before, options["tune"])
    if result.best_hyperparameters is not None:
        best = {k: v for k, v in result.best_hyperparameters.items() if k in options["tune"]}
        print(f"Best val_accuracy {result.best_score:.4f} with {best}")
    print(f"Results in {result.project_dir}: trials.csv, trials.json, best_model.keras,")
    print("  best_hyperparameters.json, scores.png")
    return {
        "project_dir": str(result.project_dir),
        "trials": len(result.trials),
        "completed": sum(row["status"] == "COMPLETED" for row in result.trials),
        "kept": sorted(finished_before),
        "best_score": result.best_score,
        "best_hyperparameters": result.best_hyperparameters,
    }


def print_table(rows, kept, names) -> None:
    header = f"{'trial':<6}{'':<5}{'status':<10}{'score':>7}{'epochs':>7}{'budget':>7}"
    print(header + "".join(f"{name:>15}" for name in names))
    for row in rows:
        score = "" if row["score"] is None else f"{row['score']:.4f}"
        mark = "kept" if row["trial_id"] in kept else "new"
        line = f"{row['trial_id']:<6}{mark:<5}{row['status']:<10}{score:>7}"
        line += f"{row['epochs'] or '':>7}{row.get('budget', ''):>7}"
        for name in names:
            value = row.get(name, "")
            line += f"{value:>15.3g}" if isinstance(value, float) else f"{value!s:>15}"
        print(line)


"""
## Run it
"""


def main(argv=None) -> dict:
    parser = argparse.ArgumentParser(description=__doc__.split("\n")[1])
    parser.add_argument("--quick", action="store_true", help="a run of about a minute")
    parser.add_argument("--out", type=Path, default=Path("tuning"), help="projects folder")
    parser.add_argument("--max-epochs", type=int, help="Hyperband's most epochs (9; quick 3)")
    parser.add_argument("--models", nargs="+", choices=("lenet5_modern", "resnet20"))
    parser.add_argument("--seed", type=int, default=0)
    args = parser.parse_args(argv)
    args.max_epochs = args.max_epochs or (3 if args.quick else 9)
    args.out.mkdir(parents=True, exist_ok=True)

    data = digits(args.quick, args.seed)
    report = {}
    for model, options in spaces(args.quick).items():
        if args.models is None or model in args.models:
            report[model] = run_search(model, options, data, args)
    (args.out / "results.json").write_text(json.dumps(report, indent=2, default=str))
    return report


"""
## Reading the results

`trials.csv` has one row per trial: its hyperparameters, score, status, the epochs it
trained, its Hyperband `budget` (the epochs it was allowed) and, for a trial that
continues an earlier one, that trial's id (`continues`). `best_model.keras` is the best
trial's model, trained, and `best_hyperparameters.json` its values. `scores.png` plots
each trial's score and the best so far.
"""

if __name__ == "__main__":
    main()
