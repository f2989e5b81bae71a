"""Layer-wise learning rates for fine-tuning (``layer_decay``): the groups and their rates,
that one step moves each stage by its factor (SGD and Adam), that a saved model keeps
them, and the argument in fit_in_phases, finetune, the command line and the search space."""

import json

import keras
import numpy as np
import pytest
from conftest import small_kwargs

from cnnzoo import create_model, resnet18
from cnnzoo.cli import main
from cnnzoo.transfer import (
    fit_in_phases,
    freeze,
    layer_decay_factors,
    layer_decay_optimizer,
    layer_groups,
    learning_rates,
)
from cnnzoo.tuning import CNNHyperModel
from cnnzoo.tuning.space import knobs_for


def _resnet():
    # A narrow ResNet-18: the real stem, four stages and head, 1/4 of the filters.
    return resnet18(input_shape=(32, 32, 3), num_classes=3, width=0.25)


def _batch(model, n=4, seed=0):
    rng = np.random.default_rng(seed)
    x = rng.uniform(0, 1, (n, *model.input_shape[1:])).astype("float32")
    return x, np.arange(n) % 3


def _group_of(model) -> dict[str, str]:
    """Variable path to its group."""
    return {
        weight.path: group
        for group, names in layer_groups(model).items()
        for name in names
        for weight in model.get_layer(name).weights
    }


@pytest.mark.parametrize(
    ("name", "groups"),
    [
        ("resnet18", ["stem", "stage1", "stage2", "stage3", "stage4", "head"]),
        ("googlenet", ["stage1", "stage2", "stage3", "stage4", "stage5", "head"]),
    ],
)
def test_each_group_learns_at_the_base_rate_times_the_decay_per_step_below_the_head(name, groups):
    kwargs = {"width": 0.25} if name == "resnet18" else {}
    model = create_model(name, **{**small_kwargs(name, num_classes=3), **kwargs})
    optimizer = layer_decay_optimizer(model, keras.optimizers.Adam(1e-3), 0.7)
    model.compile(optimizer, "sparse_categorical_crossentropy")
    optimizer.build(model.trainable_variables)
    rates = learning_rates(optimizer)
    assert list(rates) == groups
    for steps_below_head, group in enumerate(reversed(groups)):
        assert rates[group] == pytest.approx(1e-3 * 0.7**steps_below_head, rel=1e-6), group
    assert layer_decay_factors(model, 0.7)[groups[0]] == pytest.approx(0.7 ** (len(groups) - 1))
    # Each group's optimizer holds the moments of its own variables and of no other's.
    group_of = {path.replace("/", "_"): group for path, group in _group_of(model).items()}
    for inner in optimizer.optimizers:
        group = inner.name.rsplit("_", 1)[-1]
        moments = [
            v.name.removesuffix("_momentum") for v in inner.variables if "momentum" in v.name
        ]
        assert moments and {group_of[moment] for moment in moments} == {group}
    if name == "googlenet":  # named by module, grouped by the stage outputs
        assert layer_groups(model)["stage3"][0].startswith("inception3a")


@pytest.mark.parametrize("optimizer", ["sgd", "adam"])
def test_one_step_moves_each_stage_by_its_factor_of_the_single_rate_step(optimizer):
    # SGD: the step is the rate times the gradient. Adam: the first step is about the rate
    # whatever the gradient's scale, so scaling gradients would change nothing; layer
    # decay scales the update, so both move each group by exactly its factor.
    model = _resnet()
    x, y = _batch(model)
    start = model.get_weights()

    def step(layer_decay):
        model.set_weights(start)
        opt = keras.optimizers.get({"class_name": optimizer, "config": {"learning_rate": 0.01}})
        opt = layer_decay_optimizer(model, opt, layer_decay)
        model.compile(opt, "sparse_categorical_crossentropy", run_eagerly=True)  # no tracing
        before = {w.path: w.numpy() for w in model.trainable_weights}
        model.train_on_batch(x, y)
        return {w.path: w.numpy() - before[w.path] for w in model.trainable_weights}

    single, decayed = step(1.0), step(0.5)
    factors = layer_decay_factors(model, 0.5)
    group_of = _group_of(model)
    assert factors["stem"] == 0.5**5
    for path, delta in single.items():
        factor = factors[group_of[path]]
        np.testing.assert_allclose(
            decayed[path], factor * delta, rtol=1e-3, atol=1e-7, err_msg=path
        )
    stem = np.abs(decayed["stem_conv/kernel"]).mean() / np.abs(single["stem_conv/kernel"]).mean()
    assert stem == pytest.approx(0.5**5, rel=1e-3)


def test_a_saved_model_keeps_its_groups_rates_schedule_and_optimizer_state(tmp_path):
    model = _resnet()
    freeze(model, trainable_stages=2)  # the frozen groups' optimizers hold nothing
    schedule = keras.optimizers.schedules.ExponentialDecay(0.1, decay_steps=1, decay_rate=0.5)
    model.compile(
        layer_decay_optimizer(model, keras.optimizers.Adam(schedule), 0.6),
        "sparse_categorical_crossentropy",
        run_eagerly=True,  # a traced step costs seconds here; fit_in_phases' tests trace
    )
    x, y = _batch(model)
    model.train_on_batch(x, y)
    model.train_on_batch(x, y)  # two steps: the schedule has halved twice
    rates = learning_rates(model.optimizer)
    factors = layer_decay_factors(model, 0.6)
    assert rates == pytest.approx({g: 0.1 * 0.25 * f for g, f in factors.items()}, rel=1e-6)

    model.save(tmp_path / "model.keras")
    reloaded = keras.saving.load_model(tmp_path / "model.keras")
    reloaded.run_eagerly = True
    assert learning_rates(reloaded.optimizer) == rates
    for saved, loaded in zip(model.optimizer.variables, reloaded.optimizer.variables, strict=True):
        np.testing.assert_array_equal(saved.numpy(), loaded.numpy())
    model.train_on_batch(x, y)
    reloaded.train_on_batch(x, y)  # the same next step: moments, step count and rates kept
    np.testing.assert_allclose(
        reloaded.predict(x, verbose=0), model.predict(x, verbose=0), rtol=1e-5, atol=1e-6
    )
    assert not reloaded.get_layer("stage2_block1_1_conv").trainable

    # The run folder's backup: weights and optimizer state in a .weights.h5, loaded into
    # the model rebuilt and compiled from config.json's settings (PhaseBackup.restore).
    model.save_weights(tmp_path / "latest.weights.h5")
    rebuilt = _resnet()
    freeze(rebuilt, trainable_stages=2)
    rebuilt.compile(
        layer_decay_optimizer(rebuilt, keras.optimizers.Adam(schedule), 0.6),
        "sparse_categorical_crossentropy",
    )
    rebuilt.optimizer.build(rebuilt.trainable_variables)
    rebuilt.load_weights(tmp_path / "latest.weights.h5")
    assert learning_rates(rebuilt.optimizer) == learning_rates(model.optimizer)
    for saved, loaded in zip(model.optimizer.variables, rebuilt.optimizer.variables, strict=True):
        np.testing.assert_array_equal(saved.numpy(), loaded.numpy())


def test_fit_in_phases_uses_it_in_every_phase_and_refuses_bad_values():
    model = create_model("lenet5", num_classes=3)
    x, y = _batch(model, n=8)
    result = fit_in_phases(
        model, (x, y), layer_decay=0.5, verbose=0,
        phases=[{"epochs": 1}, {"epochs": 1, "learning_rate": 1e-4, "trainable_stages": None}],
    )  # fmt: skip
    assert result.learning_rates[1] == pytest.approx(
        {"stage1": 1.25e-5, "stage2": 2.5e-5, "stage3": 5e-5, "head": 1e-4}
    )
    for bad in (0, 1.5, -0.1, True, "0.7"):
        with pytest.raises(ValueError, match=r"layer_decay must be a number in \(0, 1\]"):
            fit_in_phases(model, (x, y), layer_decay=bad, verbose=0)
    plain = keras.Sequential([keras.Input((2,)), keras.layers.Dense(1)])
    with pytest.raises(ValueError, match="no stage"):
        fit_in_phases(plain, (np.zeros((2, 2)), np.zeros(2)), layer_decay=0.5, verbose=0)


def test_the_command_refuses_a_bad_layer_decay_in_one_line_and_writes_nothing(tmp_path, capsys):
    run = tmp_path / "run"
    with pytest.raises(SystemExit) as exit:
        main(["finetune", "lenet5", "--weights", "imagenet", "--layer-decay", "1.5",
              "--out", str(run)])  # fmt: skip
    err = capsys.readouterr().err.strip()
    assert exit.value.code == 2 and len(err.splitlines()) == 1
    assert "--layer-decay must be a number in (0, 1]" in err and "--layer-decay 1.5" in err
    assert list(tmp_path.iterdir()) == []


def test_the_search_space_tunes_it_when_fine_tuning(monkeypatch, tmp_path):
    assert "layer_decay" not in {k.name for k in knobs_for("resnet20")}
    knob = {k.name: k for k in knobs_for("resnet20", pretrained=True)}["layer_decay"]
    assert knob.default == 1.0 and 1.0 in knob.values and min(knob.values) < 1
    import cnnzoo.transfer

    seen = {}

    def record(*args, layer_decay=1.0, **kwargs):
        seen["layer_decay"] = layer_decay
        return cnnzoo.transfer.FineTuneHistory()

    monkeypatch.setattr(cnnzoo.transfer, "fit_in_phases", record)
    saved = tmp_path / "base.keras"
    create_model("lenet5_modern", num_classes=10).save(saved)
    hypermodel = CNNHyperModel(
        "lenet5_modern", num_classes=3, input_shape=(32, 32, 1), pretrained=saved,
        fixed={"layer_decay": 0.65, "batch_size": 16},
    )  # fmt: skip
    import keras_tuner

    hp = keras_tuner.HyperParameters()
    model = hypermodel.build(hp)
    x, y = _batch(model, n=8)
    hypermodel.fit(hp, model, x, y, epochs=2)
    assert hp.values["layer_decay"] == 0.65 and seen["layer_decay"] == 0.65


@pytest.mark.slow
def test_a_finetune_run_records_and_prints_the_rates_of_each_group(tmp_path, capsys):
    from cnnzoo.training import finetune

    source = create_model("lenet5", num_classes=10)
    result = finetune(
        source, out=tmp_path / "run", layer_decay=0.5, verbose=1,
        phases=[{"epochs": 1}, {"epochs": 1, "learning_rate": 1e-4, "trainable_stages": None}],
    )  # fmt: skip
    config = json.loads((result.run_dir / "config.json").read_text())
    assert config["layer_decay"] == 0.5
    assert config["layer_decay_factors"] == {
        "stage1": 0.125, "stage2": 0.25, "stage3": 0.5, "head": 1.0
    }  # fmt: skip
    out = capsys.readouterr().out
    assert "group   factor  learning rate" in out and "stage1  0.125   1.25e-05" in out
    with pytest.raises(ValueError, match=r"other settings \(layer_decay: 0.5 -> 0.7"):
        finetune(source, out=tmp_path / "run", layer_decay=0.7, resume=True, verbose=0,
                 phases=[{"epochs": 1}, {"epochs": 1, "learning_rate": 1e-4,
                                         "trainable_stages": None}])  # fmt: skip
    saved = keras.saving.load_model(result.run_dir / "model.keras")
    assert learning_rates(saved.optimizer) == pytest.approx(
        {"stage1": 1.25e-5, "stage2": 2.5e-5, "stage3": 5e-5, "head": 1e-4}
    )
