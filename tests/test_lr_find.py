"""The learning-rate finder (issue 22): the sweep, its suggestion and plot,
``train(learning_rate="auto")`` and its resume, ``finetune`` with an "auto" phase, and
``cnnzoo lr-find``."""

from __future__ import annotations

import json

import keras
import numpy as np
import pytest

from cnnzoo import lenet5
from cnnzoo.cli import main
from cnnzoo.training import find_learning_rate, finetune, train
from cnnzoo.training import run as run_module
from cnnzoo.training.lr_sweep import (
    smooth_losses,
    smoothing_window,
    suggest_learning_rate,
    sweep,
    sweep_rates,
)


def tiny_model() -> keras.Model:
    inputs = keras.Input((8, 8, 1))
    x = keras.layers.Conv2D(4, 3, name="conv")(inputs)
    x = keras.layers.BatchNormalization(name="bn")(x)
    x = keras.layers.GlobalAveragePooling2D()(x)
    return keras.Model(inputs, keras.layers.Dense(3, activation="softmax")(x))


def tiny_batches(count: int = 64, batch_size: int = 16):
    import tensorflow as tf

    rng = np.random.default_rng(0)
    images = rng.uniform(0, 1, (count, 8, 8, 1)).astype("float32")
    labels = (images.mean(axis=(1, 2, 3)) * 6).astype("int64") % 3
    return tf.data.Dataset.from_tensor_slices((images, labels)).batch(batch_size)


LOSS = keras.losses.SparseCategoricalCrossentropy()


def test_the_rates_grow_exponentially_over_the_whole_range():
    found = sweep(tiny_model(), tiny_batches(), loss=LOSS, min_lr=1e-5, max_lr=1e-2, num_steps=10)
    rates = np.asarray(found.learning_rates)
    assert found.stop_reason == "completed" and found.steps == 10  # 4 batches, repeated
    assert rates[0] == pytest.approx(1e-5) and rates[-1] == pytest.approx(1e-2)
    np.testing.assert_allclose(rates[1:] / rates[:-1], 10 ** (3 / 9))
    np.testing.assert_allclose(sweep_rates(1e-5, 1e-2, 10), rates)
    assert len(found.losses) == len(found.smoothed) == 10
    losses = np.asarray(found.losses)
    np.testing.assert_allclose(found.smoothed[0], losses[:2].mean())  # 3 wide, cut at the end
    np.testing.assert_allclose(found.smoothed[1:-1], (losses[:-2] + losses[1:-1] + losses[2:]) / 3)


def test_the_smoothed_curve_turns_where_the_losses_turn():
    """The centred mean has no lag: on a noisy V whose bottom is at batch 60, its minimum
    is there too, where fastai's moving average (0.98) still falls 15 batches later."""
    rng = np.random.default_rng(0)
    losses = 1 + np.abs(np.arange(100) - 60) / 20 + rng.normal(0, 0.05, 100)
    assert smoothing_window(100) == 11
    assert abs(int(np.argmin(smooth_losses(losses, 11))) - 60) <= 2
    average, lagged = 0.0, []
    for count, loss in enumerate(losses, 1):
        average = 0.98 * average + 0.02 * loss
        lagged.append(average / (1 - 0.98**count))
    assert int(np.argmin(lagged)) >= 75
    np.testing.assert_allclose(smooth_losses([3.0, 2.0, 1.0, 4.0], 3), [2.5, 2.0, 7 / 3, 2.5])


@pytest.mark.parametrize(
    ("optimizer", "rule", "divisor"), [("sgd", "minimum/4", 4), ("adam", "minimum/10", 10)]
)
def test_without_a_rule_the_optimizer_picks_it(optimizer, rule, divisor):
    found = sweep(tiny_model(), tiny_batches(), loss=LOSS, optimizer=optimizer, min_lr=1e-4,
                  max_lr=1.0, num_steps=20)  # fmt: skip
    assert found.rule == rule and found.record()["rule"] == rule
    index = found.suggestion_index
    assert found.suggestion == pytest.approx(found.learning_rates[index] / divisor)
    assert found.smoothed[index] == min(found.smoothed[2:15])  # the first tenth, last five out


def test_the_model_its_statistics_and_its_optimizer_are_left_as_they_were():
    model = tiny_model()
    model.compile(optimizer=keras.optimizers.Adam(1e-3), loss=LOSS)
    model.fit(tiny_batches(), epochs=1, verbose=0)  # Adam's moments are not zero any more
    optimizer = model.optimizer
    weights = [np.array(w) for w in model.get_weights()]
    state = [np.array(v) for v in optimizer.variables]
    sweep(model, tiny_batches(), loss=LOSS, min_lr=1e-4, max_lr=1.0, num_steps=8)
    assert model.optimizer is optimizer
    for before, after in zip(weights, model.get_weights(), strict=True):
        np.testing.assert_array_equal(before, after)  # batch-norm moving statistics too
    for before, after in zip(state, optimizer.variables, strict=True):
        np.testing.assert_array_equal(before, np.array(after))
    model.fit(tiny_batches(), epochs=1, verbose=0)  # still compiled as the caller left it


def test_a_runaway_loss_ends_the_sweep_early():
    found = sweep(tiny_model(), tiny_batches(), loss=LOSS, min_lr=1e-3, max_lr=1e8, num_steps=60)
    assert found.stop_reason in ("diverged", "non-finite loss")
    assert found.steps < 60
    assert all(np.isfinite(found.losses)) and 1e-3 <= found.suggestion <= 1e8


def test_each_rule_reads_the_curve_it_documents():
    rates = sweep_rates(1e-6, 1.0, 40)
    smoothed = 2 + np.cos(np.linspace(0, np.pi, 40))  # falls from 3 to 1, no tail
    smoothed[-3:] = [5.0, 7.0, 9.0]  # the divergence, left out with the last five points
    rate, index = suggest_learning_rate(rates, smoothed)  # "minimum/10", the default
    assert index == 34 and rate == pytest.approx(rates[34] / 10)
    rate, index = suggest_learning_rate(rates, smoothed, "minimum/4")
    assert index == 34 and rate == pytest.approx(rates[34] / 4)
    rate, index = suggest_learning_rate(rates, smoothed, "valley")
    assert rate == rates[index] and 4 <= index <= 34  # inside the fall, not at its ends
    assert suggest_learning_rate(rates, smoothed, "valley") == (rate, index)
    with pytest.raises(ValueError, match="rule must be one of"):
        suggest_learning_rate(rates, smoothed, "fastest")


def test_the_suggestion_is_in_the_range_and_repeats_with_the_seed(tmp_path):
    settings = {"num_steps": 30, "min_lr": 1e-5, "max_lr": 1.0, "seed": 3}
    first, second = (
        find_learning_rate("lenet5", **settings),
        find_learning_rate("lenet5", **settings),
    )
    assert 1e-5 <= first.suggestion <= 1.0
    assert first.suggestion == second.suggestion and first.losses == second.losses
    figure = first.plot(tmp_path / "sweep.png")
    assert (tmp_path / "sweep.png").read_bytes()[:8] == b"\x89PNG\r\n\x1a\n"
    axis = figure.axes[0]
    marked = [line for line in axis.get_lines() if list(line.get_xdata()) == [first.suggestion] * 2]
    assert marked and axis.get_xscale() == "log"


@pytest.mark.parametrize(
    ("settings", "message"),
    [
        ({"max_lr": -1.0}, "max_lr must be a number above min_lr"),
        ({"num_steps": 1}, "num_steps must be an int >= 2; received num_steps=1"),
        ({"min_lr": 0}, "min_lr must be a number > 0"),
        ({"smoothing": 1.0}, "smoothing must be a number in"),
        ({"rule": "best"}, "rule must be one of"),
    ],
)
def test_bad_settings_are_refused_naming_the_argument(settings, message):
    with pytest.raises(ValueError, match=message):
        find_learning_rate("lenet5", **settings)


@pytest.mark.slow
def test_train_auto_sweeps_records_the_rate_and_trains_with_it(tmp_path):
    result = train("lenet5", epochs=1, learning_rate="auto", out=tmp_path / "run", verbose=0)
    config = json.loads((tmp_path / "run" / "config.json").read_text())
    found = config["lr_find"]["learning_rate"]
    assert config["learning_rate"] == "auto" and 1e-7 <= found <= 10
    assert config["lr_find"]["rule"] == "minimum/10" and config["lr_find"]["steps"] >= 2
    assert (tmp_path / "run" / "lr_find.png").exists()
    assert (tmp_path / "run" / "lr_find.csv").read_text().startswith("step,learning_rate,loss")
    assert float(result.model.optimizer.learning_rate) == pytest.approx(found)
    assert result.metrics["test_accuracy"] > 0.3


class StopBeforeEpoch(keras.callbacks.Callback):
    """Ends a run as a kill would, after ``epoch`` finished (and was backed up)."""

    def __init__(self, epoch: int):
        super().__init__()
        self.epoch = epoch

    def on_epoch_begin(self, epoch, logs=None):
        if epoch == self.epoch:
            raise KeyboardInterrupt


@pytest.mark.slow
def test_a_resumed_auto_run_takes_the_recorded_rate_without_sweeping(
    tmp_path, monkeypatch, digits_folder
):
    settings = {"epochs": 2, "learning_rate": "auto", "out": tmp_path / "run", "verbose": 0,
                "batch_size": 8}  # fmt: skip
    with pytest.raises(KeyboardInterrupt):  # 24 digits: what is resumed is the point
        train("lenet5", digits_folder, callbacks=[StopBeforeEpoch(1)], **settings)
    recorded = json.loads((tmp_path / "run" / "config.json").read_text())["lr_find"]

    def no_sweep(*args, **kwargs):
        raise AssertionError("the finder ran again on resume")

    monkeypatch.setattr(run_module, "sweep", no_sweep)
    result = train("lenet5", digits_folder, resume=True, **settings)
    assert result.epochs == 2
    assert json.loads((tmp_path / "run" / "config.json").read_text())["lr_find"] == recorded
    assert float(result.model.optimizer.learning_rate) == pytest.approx(recorded["learning_rate"])


@pytest.mark.slow
def test_finetune_sweeps_for_an_auto_phase_and_records_it(tmp_path):
    phases = [{"epochs": 1, "learning_rate": "auto"}]
    result = finetune(lenet5(), phases=phases, out=tmp_path / "ft", verbose=0)
    config = json.loads((tmp_path / "ft" / "config.json").read_text())
    assert config["phases"][0]["learning_rate"] == "auto"
    assert 1e-7 <= config["lr_find"]["phase 1"]["learning_rate"] <= 10
    assert (tmp_path / "ft" / "lr_find_phase1.png").exists() and result.epochs == 1


def test_cli_lr_find_prints_the_suggestion_and_draws_the_curve(tmp_path, capsys):
    plot = tmp_path / "lenet.png"
    assert (
        main(["lr-find", "lenet5", "--steps", "20", "--min-lr", "1e-5", "--plot", str(plot)]) == 0
    )
    out = capsys.readouterr().out
    assert "suggested learning rate" in out and "--lr " in out and plot.exists()


@pytest.mark.parametrize(
    ("flags", "words"),
    [
        (["--max-lr", "-1"], "--max-lr must be a number above --min-lr"),
        (["--steps", "0"], "--steps must be an int >= 2; received --steps 0"),
        (["--min-lr", "0"], "--min-lr must be a number > 0"),
    ],
)
def test_cli_lr_find_refuses_a_bad_flag_in_one_line_writing_nothing(
    flags, words, tmp_path, monkeypatch, capsys
):
    monkeypatch.chdir(tmp_path)
    with pytest.raises(SystemExit) as exit_:
        main(["lr-find", "lenet5", *flags])
    error = capsys.readouterr().err
    assert exit_.value.code == 2 and error.count("\n") == 1 and words in error, error
    assert list(tmp_path.iterdir()) == []


def test_cli_lr_auto_reaches_train_and_bad_values_exit_2(tmp_path, capsys):
    with pytest.raises(SystemExit) as exit_:
        main(["train", "lenet5", "--lr", "fast", "--out", str(tmp_path / "run")])
    assert exit_.value.code == 2 and "'auto'" in capsys.readouterr().err
    assert not (tmp_path / "run").exists()
