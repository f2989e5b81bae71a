"""Hyperparameter search: the space (existence, defaults, overrides, errors, in the
keras-tuner test pattern), real small searches with every tuner, failed trials, seeded
repeats, a changed search refused, one-hot labels, and fine-tune-aware trials."""

import json

import keras
import keras_tuner
import numpy as np
import pytest

from cnnzoo import create_model
from cnnzoo.data import load_sample
from cnnzoo.tuning import CNNHyperModel, describe_space, search
from cnnzoo.tuning.hypermodel import architecture_kwargs
from cnnzoo.tuning.results import plot_scores
from cnnzoo.tuning.space import KNOB_NAMES, knobs_for

QUICK = {"batch_size": 64}  # fixed in the searches below: fast trials


@pytest.fixture(scope="module")
def digits():
    """256 training and 128 validation digits (float images in [0, 1])."""
    splits = load_sample("mnist", seed=0)
    return (
        (splits.train.images[:256], splits.train.labels[:256]),
        (splits.validation.images[:128], splits.validation.labels[:128]),
    )


def quick_search(digits, tmp_path, **kwargs):
    settings = dict(
        tuner="random", max_trials=2, max_epochs=1, directory=tmp_path, verbose=0,
        fixed=QUICK, input_range=(0, 1),
    )  # fmt: skip
    return search("lenet5_modern", *digits, **{**settings, **kwargs})


def declared(hypermodel, hp=None):
    hp = hp or keras_tuner.HyperParameters()
    hypermodel.build(hp)
    return hp


# ----- the space -----------------------------------------------------------------------


@pytest.mark.parametrize(
    "model, expected",
    [
        ("lenet5_modern", {"width", "kernel_size", "padding", "pooling", "batch_norm"}),
        ("vgg11", {"depth", "width", "kernel_size", "padding", "pooling", "batch_norm"}),
        ("resnet20", {"depth", "width", "pooling", "batch_norm"}),
        ("googlenet", {"pooling", "batch_norm"}),
    ],
)
def test_each_family_declares_its_architecture_and_the_training_space(model, expected):
    hypermodel = CNNHyperModel(model, num_classes=10, input_shape=(32, 32, 3))
    hp = keras_tuner.HyperParameters()
    hypermodel.values(hp)
    names = {item.name for item in hp.space}
    common = {"activation", "dropout", "l2", "augmentation", "augmentation_strength"}
    training = {"optimizer", "learning_rate", "weight_decay", "label_smoothing", "batch_size"}
    assert names == expected | common | training | {"schedule"}


@pytest.mark.parametrize("model", ["lenet5_modern", "resnet20", "vgg11_bn"])
def test_the_defaults_build_the_registered_model(model):
    hp = keras_tuner.HyperParameters()
    built = CNNHyperModel(model, num_classes=10, input_shape=(32, 32, 3)).build(hp)
    reference = create_model(model, num_classes=10, input_shape=(32, 32, 3))
    assert built.count_params() == reference.count_params()
    assert [type(layer) for layer in built.layers] == [type(layer) for layer in reference.layers]
    assert hp.values["learning_rate"] == 1e-3 and hp.values["optimizer"] == "adam"
    assert hp.values["batch_size"] == 32 and "augmentation_strength" not in hp.values


def test_a_family_name_searches_from_its_usual_model():
    hypermodel = CNNHyperModel("vgg", num_classes=10, input_shape=(32, 32, 3))
    hp = keras_tuner.HyperParameters()
    hypermodel.values(hp)
    assert hypermodel.model == "vgg16" and hp.values["depth"] == 16


def test_every_knob_is_documented_once():
    rows = describe_space()
    assert [row["name"] for row in rows] == list(KNOB_NAMES)
    assert all(row["help"] and row["values"] for row in rows)
    per_model = {row["name"]: row for row in describe_space("resnet20")}
    assert per_model["depth"]["values"] == "20, 32, 44, 56" and per_model["depth"]["default"] == 20


def test_tuned_values_reach_the_factory():
    name, kwargs = architecture_kwargs(
        "vgg16", {"depth": 11, "width": 0.5, "activation": "gelu", "l2": 1e-4}
    )
    assert name == "vgg11" and kwargs["widths"] == (32, 64, 128, 256, 256)
    model = create_model(name, num_classes=3, input_shape=(32, 32, 3), **kwargs)
    convs = [layer for layer in model.layers if isinstance(layer, keras.layers.Conv2D)]
    assert len(convs) == 8 and convs[0].filters == 32  # configuration A at half width
    assert all(layer.kernel_regularizer is not None for layer in convs)
    name, kwargs = architecture_kwargs("resnet20", {"depth": 32, "width": 2.0, "batch_norm": False})
    assert (name, kwargs) == ("resnet32", {"width": 2.0, "norm": None})


def test_fixed_values_are_hp_fixed_and_used():
    hypermodel = CNNHyperModel("lenet5_modern", num_classes=10, fixed={"activation": "tanh"})
    hp = declared(hypermodel)
    assert isinstance(hp._hps["activation"][0], keras_tuner.engine.hyperparameters.Fixed)
    model = hypermodel.build(hp)
    assert model.get_layer("c1_act").get_config()["activation"] == "tanh"


def test_space_overrides_restrict_choices_and_ranges():
    hypermodel = CNNHyperModel(
        "resnet20", num_classes=10,
        space={"learning_rate": (1e-3, 1e-1), "depth": [20, 32], "batch_size": [8]},
    )  # fmt: skip
    hp = keras_tuner.HyperParameters()
    hypermodel.values(hp)
    spaces = {item.name: item for item in hp.space}
    assert spaces["depth"].values == [20, 32]
    rate = spaces["learning_rate"]
    assert (rate.min_value, rate.max_value, rate.sampling) == (1e-3, 1e-1, "log")
    assert spaces["batch_size"].values == [8]


@pytest.mark.parametrize(
    "overrides, message",
    [
        ({"fixed": {"activaton": "relu"}}, r"'activaton'\. Did you mean 'activation'"),
        ({"space": {"depth": [1, 2]}}, r"'depth' does not apply to this model"),
        ({"fixed": {"unfreeze_stages": 1}}, r"'unfreeze_stages' does not apply"),
        ({"fixed": {"dropout": 0.1}, "space": {"dropout": [0.2]}}, r"in both fixed and space"),
        ({"space": {"learning_rate": (1e-2, 1e-4)}}, r"low < high"),
        ({"space": {"activation": "relu"}}, r"tuple or a non-empty list"),
    ],
)  # fmt: skip
def test_bad_overrides_name_the_problem(overrides, message):
    with pytest.raises(ValueError, match=message):
        CNNHyperModel("lenet5_modern", num_classes=10, **overrides)


def test_grayscale_input_leaves_out_colour_presets():
    gray = {item.name: item for item in knobs_for("lenet5_modern", channels=1)}
    assert "alexnet" not in gray["augmentation"].values


# ----- searches --------------------------------------------------------------------------


@pytest.mark.slow
@pytest.mark.parametrize("tuner", ["hyperband", "bayesian", "random", "grid"])
def test_a_small_search_runs_with_each_tuner_and_writes_its_results(digits, tmp_path, tuner):
    space, fixed = None, QUICK
    if tuner == "grid":  # a grid over the learning rate alone: everything else fixed
        defaults = {
            item.name: item.default_for("lenet5_modern") for item in knobs_for("lenet5_modern")
        }
        fixed = {**defaults, **QUICK}
        del fixed["learning_rate"], fixed["augmentation_strength"]
        space = {"learning_rate": [1e-3, 3e-3]}
    result = quick_search(
        digits, tmp_path, tuner=tuner, max_trials=3, max_epochs=2, space=space, fixed=fixed
    )
    project = result.project_dir
    rows = json.loads((project / "trials.json").read_text())
    assert len(rows) == len(result.trials) >= 2
    assert all(row["status"] == "COMPLETED" and row["epochs"] >= 1 for row in rows)
    assert all(0 <= row["score"] <= 1 and row["seconds"] > 0 for row in rows)
    header = (project / "trials.csv").read_text().splitlines()[0].split(",")
    assert header[:7] == ["trial_id", "status", "score", "epochs", "seconds", "worker", "reason"]
    best = json.loads((project / "best_hyperparameters.json").read_text())
    assert best == result.best_hyperparameters and result.best_score == max(
        r["score"] for r in rows
    )
    assert (project / "scores.png").read_bytes()[:4] == b"\x89PNG"
    reloaded = keras.saving.load_model(project / "best_model.keras")
    images = digits[1][0][:8] * 255
    padded = np.pad(images, ((0, 0), (2, 2), (2, 2), (0, 0)))  # 28 -> the model's 32
    expected = result.best_model.predict(padded, verbose=0)
    np.testing.assert_allclose(reloaded.predict(padded, verbose=0), expected, atol=1e-5)
    if tuner == "hyperband":
        assert {row["budget"] for row in rows} <= {1, 2}
    if tuner == "grid":
        assert sorted(row["learning_rate"] for row in rows) == [1e-3, 3e-3]


@pytest.mark.slow
def test_configurations_that_cannot_be_built_fail_with_their_reason(digits, tmp_path):
    result = search(
        "vgg11", *digits, tuner="grid", max_trials=4, max_epochs=1, directory=tmp_path,
        input_shape=(32, 32, 1), input_range=(0, 1), verbose=0, max_params=3_000_000,
        fixed={"batch_size": 64, "pooling": "avg", "dropout": 0.0},
        space={"padding": ["valid", "same"], "width": [0.25, 1.0]}, tune=["padding", "width"],
    )  # fmt: skip
    by_setting = {(row["padding"], row["width"]): row for row in result.trials}
    assert by_setting["valid", 0.25]["status"] == "FAILED"
    assert "is too small" in by_setting["valid", 0.25]["reason"]  # collapses at 32x32
    assert "Too large" in by_setting["same", 1.0]["reason"]  # 28.1M parameters
    assert by_setting["same", 0.25]["status"] == "COMPLETED"
    assert result.best_hyperparameters["padding"] == "same"


@pytest.mark.slow
def test_a_changed_search_in_an_existing_project_is_refused(digits, tmp_path):
    quick_search(digits, tmp_path, max_trials=1)
    with pytest.raises(ValueError, match=r"tuner: 'random' -> 'bayesian'\n.*overwrite=True"):
        quick_search(digits, tmp_path, max_trials=1, tuner="bayesian")
    with pytest.raises(ValueError) as refused:
        quick_search(digits, tmp_path, max_trials=1, fixed={**QUICK, "batch_size": 32})
    # The changed settings by name, in a few lines (not the whole recorded search).
    message = str(refused.value)
    assert "hypermodel.fixed.batch_size: 64 -> 32" in message
    assert "hypermodel.hyperparameters[batch_size].value: 64 -> 32" in message
    assert len(message.splitlines()) <= 6 and len(message) < 800, message
    fresh = quick_search(digits, tmp_path, max_trials=1, tuner="bayesian", overwrite=True)
    assert len(fresh.trials) == 1


@pytest.mark.slow
def test_a_search_prints_one_line_per_trial_and_the_best_as_a_table(digits, tmp_path, capsys):
    result = quick_search(digits, tmp_path, max_trials=3, verbose=1, tune=["learning_rate"])
    out = capsys.readouterr().out
    lines = [line for line in out.splitlines() if line.startswith("Trial ")]
    assert [line.split(":")[0] for line in lines] == ["Trial 1/3", "Trial 2/3", "Trial 3/3"]
    for line, row in zip(lines, result.trials, strict=True):
        assert f"val_accuracy {row['score']:.4f}, 1 epochs, " in line
        assert line.endswith(f"learning_rate={row['learning_rate']:.3g}")  # not the default
    assert "Search: Running Trial" not in out and "tuner/" not in out  # KerasTuner's tables
    best = out[out.index("Best trial: ") :].splitlines()
    number = 1 + [row["score"] for row in result.trials].index(result.best_score)
    assert best[0].startswith(f"Best trial: {number} of 3, val_accuracy {result.best_score:.4f}")
    assert best[1].split() == ["hyperparameter", "value", "default"]
    assert any(line.split()[0] == "learning_rate" and line.endswith("*") for line in best[2:])


@pytest.mark.slow
def test_the_same_seed_tries_the_same_hyperparameters_and_one_hot_labels_are_accepted(
    digits, tmp_path
):
    (x, y), (vx, vy) = digits
    one_hot = ((x, keras.utils.to_categorical(y, 10)), (vx, keras.utils.to_categorical(vy, 10)))
    sparse = quick_search(digits, tmp_path / "sparse", max_trials=2, max_epochs=2)
    dense = quick_search(one_hot, tmp_path / "one_hot", max_trials=2, max_epochs=2)
    assert [row["status"] for row in dense.trials] == ["COMPLETED"] * 2

    def tried(result):
        return [
            {k: v for k, v in row.items() if k not in ("score", "seconds")} for row in result.trials
        ]

    # The same seed tries the same values of every tuned knob (two separate searches) ...
    assert tried(sparse) == tried(dense)
    assert len({row["learning_rate"] for row in sparse.trials}) == 2  # and they vary
    # ... and the same cross-entropy, whichever way the labels come.
    for a, b in zip(sparse.trials, dense.trials, strict=True):
        assert abs(a["score"] - b["score"]) < 0.05


@pytest.mark.slow
def test_fine_tune_aware_trials_tune_the_unfrozen_stages(digits, tmp_path):
    (x, y), (vx, vy) = digits
    train5, validation5 = (x[y < 5], y[y < 5]), (vx[vy < 5], vy[vy < 5])  # digits 0-4
    base = create_model("lenet5_modern", num_classes=10)
    base.compile("adam", "sparse_categorical_crossentropy")
    base.fit(np.pad(x, ((0, 0), (2, 2), (2, 2), (0, 0))) * 255, y, epochs=1, verbose=0)
    saved = tmp_path / "base.keras"
    base.save(saved)
    result = search(
        "lenet5_modern", train5, validation5, tuner="random", max_trials=2,
        max_epochs=2, directory=tmp_path, pretrained=saved, input_range=(0, 1), verbose=0,
        fixed={"batch_size": 64}, space={"unfreeze_stages": [1, 3]},
    )  # fmt: skip
    assert {"unfreeze_stages", "finetune_learning_rate"} <= set(result.trials[0])
    assert "width" not in result.trials[0]  # the saved architecture is kept
    assert all(row["status"] == "COMPLETED" and row["epochs"] == 2 for row in result.trials)

    # phase 2 trains the last `unfreeze_stages` stages: 1 leaves C1 as saved, 3 trains it
    def c1_after(unfreeze_stages):
        hypermodel = CNNHyperModel(
            "lenet5_modern", num_classes=5, input_shape=(32, 32, 1), pretrained=saved,
            fixed={"unfreeze_stages": unfreeze_stages, "batch_size": 64}, input_range=(0, 1),
        )  # fmt: skip
        hp = keras_tuner.HyperParameters()
        model = hypermodel.build(hp)
        hypermodel.fit(
            hp, model, x[y < 5], y[y < 5], validation_data=(vx[vy < 5], vy[vy < 5]), epochs=2
        )
        return model.get_layer("c1_conv").kernel.numpy()

    saved_c1 = base.get_layer("c1_conv").kernel.numpy()
    np.testing.assert_array_equal(c1_after(1), saved_c1)
    assert not np.allclose(c1_after(3), saved_c1)


def test_search_arguments_are_checked(digits, tmp_path):
    with pytest.raises(ValueError, match=r"tuner must be one of"):
        quick_search(digits, tmp_path, tuner="genetic")
    with pytest.raises(ValueError, match=r"validation is needed"):
        search("lenet5_modern", digits[0], directory=tmp_path)
    with pytest.raises(ValueError, match=r"Unknown hyperparameter 'depht'"):
        search("resnet", *digits, directory=tmp_path, fixed={"depht": 20})  # family name
    with pytest.raises(ValueError, match=r"Unknown model name 'lenet6'"):
        search("lenet6", *digits, directory=tmp_path)


def test_the_score_plot_follows_the_objective_direction(tmp_path):
    rows = [
        {"score": s, "status": "COMPLETED" if s is not None else "FAILED"}
        for s in (0.5, None, 0.3, 0.7)
    ]
    for direction, expected in (("max", [0.5, 0.5, 0.7]), ("min", [0.5, 0.3, 0.3])):
        figure = plot_scores(rows, tmp_path / f"{direction}.png", "val_x", direction)
        best_line = figure.axes[0].get_lines()[1]
        assert list(best_line.get_ydata()) == expected
        assert (tmp_path / f"{direction}.png").exists()
        assert figure.axes[0].get_title() == "4 trials, 1 failed"
