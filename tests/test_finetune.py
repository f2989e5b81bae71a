"""Transfer learning: unfreeze, new heads and two-phase fine-tuning, on reloaded models."""

import keras
import numpy as np
import pytest

from cnnzoo import googlenet, lenet5, resnet18, resnet20, vgg11
from cnnzoo.transfer import Phase, fit_in_phases, freeze, replace_head, unfreeze

SHAPE = (16, 16, 3)


def _data(n=16, classes=3, seed=0):
    rng = np.random.default_rng(seed)
    return rng.uniform(0, 1, (n, *SHAPE)).astype("float32"), np.arange(n) % classes


def _reloaded(model, tmp_path):
    model.save(tmp_path / "source.keras")
    return keras.saving.load_model(tmp_path / "source.keras")


def _weights(model, prefix):
    return {w.path: w.numpy().copy() for w in model.weights if w.path.startswith(prefix)}


def _moved(before, model):
    now = {w.path: w.numpy() for w in model.weights}
    return {path: not np.array_equal(value, now[path]) for path, value in before.items()}


# ----- unfreeze ---------------------------------------------------------------------------


def test_unfreeze_counts_from_the_top():
    model = resnet18(input_shape=(32, 32, 3), num_classes=3)
    freeze(model)
    summary = unfreeze(model)
    assert not summary.frozen_layers[0].startswith("stem_conv")
    assert all(layer.trainable for layer in model.layers if "_bn" not in layer.name)
    assert not model.get_layer("stem_bn").trainable  # batch norm stays in inference mode
    unfreeze(model, trainable_stages=1)
    assert not model.get_layer("stage3_block2_2_conv").trainable
    assert model.get_layer("stage4_block1_1_conv").trainable
    unfreeze(model, until="stage1_out")
    assert not model.get_layer("stage1_block2_2_conv").trainable
    assert model.get_layer("stage2_block1_1_conv").trainable
    unfreeze(model, fraction=0.25)
    convs = [layer for layer in model.layers if isinstance(layer, keras.layers.Conv2D)]
    trainable = [layer.name for layer in convs if layer.trainable]
    assert trainable[-1] == "stage4_block2_2_conv" and 0.15 < len(trainable) / len(convs) < 0.35
    summary = unfreeze(model, keep_batchnorm_frozen=False)
    assert summary.frozen_layers == () and not summary.batchnorm_frozen
    with pytest.raises(
        ValueError, match=r"at most one of .*until=.stage1_out., trainable_stages=1"
    ):
        unfreeze(model, until="stage1_out", trainable_stages=1)


# ----- replace_head -----------------------------------------------------------------------


def test_replace_head_on_a_reloaded_model_shares_the_backbone(tmp_path):
    source = vgg11(input_shape=(32, 32, 3), num_classes=10, fc_units=(32, 32))
    reloaded = _reloaded(source, tmp_path)
    model = replace_head(reloaded, 4, dropout=0.3, hidden_units=(16,), pooling="max")
    assert model.output_shape == (None, 4)
    names = [layer.name for layer in model.layers]
    assert names[-5:] == [
        "head_max_pool", "head_fc1", "head_fc1_act", "head_fc1_dropout", "predictions"
    ]  # fmt: skip
    assert model.get_layer("stage5_out") is reloaded.get_layer("stage5_out")
    x = _data(2)[0].repeat(2, axis=1).repeat(2, axis=2)
    features = keras.Model(model.input, model.get_layer("stage5_out").output)
    original = keras.Model(source.input, source.get_layer("stage5_out").output)
    np.testing.assert_allclose(features(x), original(x), rtol=1e-5, atol=1e-6)
    logits = replace_head(reloaded, 2, classifier_activation=None, pooling="flatten")
    assert logits.get_layer("predictions").activation.__name__ == "linear"


def test_replace_head_drops_auxiliary_heads_and_cuts_anywhere():
    aux = googlenet(input_shape=(65, 65, 3), aux_logits=True, num_classes=3)
    model = replace_head(aux, 7)
    assert model.output_shape == (None, 7)
    assert not any(layer.name.startswith("aux") for layer in model.layers)
    cut = replace_head(lenet5(), 5, at="stage2_out")
    assert "c5_conv" not in [layer.name for layer in cut.layers]


def test_replace_head_errors():
    model = lenet5()
    with pytest.raises(ValueError, match=r"at must name a layer .*at='stage9_out'.*stage3_out"):
        replace_head(model, 3, at="stage9_out")
    plain = keras.Sequential([keras.Input((4,)), keras.layers.Dense(2)])
    with pytest.raises(ValueError, match=r"Cannot find the backbone .*at=<layer name>"):
        replace_head(plain, 3)
    with pytest.raises(ValueError, match=r"num_classes must be a positive int.*=0"):
        replace_head(model, 0)
    with pytest.raises(ValueError, match=r"pooling must be one of .*received pooling=None"):
        replace_head(model, 3, pooling=None)
    with pytest.raises(ValueError, match=r"dropout must be a number in \[0, 1\).*=1.5"):
        replace_head(model, 3, dropout=1.5)


# ----- fit_in_phases ----------------------------------------------------------------------


def test_first_phase_trains_only_the_head(tmp_path):
    model = replace_head(_reloaded(resnet20(input_shape=SHAPE, num_classes=10), tmp_path), 3)
    backbone = {
        **_weights(model, "stem"), **_weights(model, "stage")
    }  # fmt: skip
    head = _weights(model, "predictions")
    result = fit_in_phases(model, _data(), _data(8, seed=1), phases=[{"epochs": 2}], verbose=0)
    assert result.phase == [1, 1] and result.epochs == 2
    assert not any(_moved(backbone, model).values())  # kernels and moving statistics
    assert all(_moved(head, model).values())
    assert set(result.history) == {"loss", "accuracy", "val_loss", "val_accuracy"}
    assert result.summaries[0].trainable_layers == ("predictions",)


def test_second_phase_unfreezes_with_a_fresh_optimizer_and_keeps_batch_norm(tmp_path):
    model = replace_head(_reloaded(resnet20(input_shape=SHAPE, num_classes=10), tmp_path), 3)
    last_stage = _weights(model, "stage3_")
    first_stage = _weights(model, "stage1_")
    phases = [
        Phase(epochs=1, patience=None),
        Phase(epochs=2, learning_rate=1e-3, trainable_stages=1),
    ]
    seen = []
    record = keras.callbacks.LambdaCallback(
        on_epoch_begin=lambda epoch, logs: seen.append(
            (epoch, int(model.optimizer.iterations.numpy()), model.optimizer.learning_rate.numpy())
        )
    )
    result = fit_in_phases(model, _data(), _data(8, seed=1), phases=phases, callbacks=[record],
                           batch_size=8, verbose=0)  # fmt: skip
    assert result.phase == [1, 2, 2]
    assert [epoch for epoch, _, _ in seen] == [0, 1, 2]  # epochs numbered on across phases
    assert seen[1][1] == 0  # phase 2 starts with a fresh optimizer
    np.testing.assert_allclose(seen[1][2], 1e-3)
    moved = _moved(last_stage, model)
    assert all(moved[p] for p in moved if p.endswith("kernel"))
    assert not any(moved[p] for p in moved if "moving" in p)
    assert not any(_moved(first_stage, model).values())
    assert len(result.history["loss"]) == 3 and result.summaries[1].batchnorm_frozen


def test_early_stopping_ends_a_phase_and_restores_its_best_weights():
    keras.utils.set_random_seed(0)
    model = replace_head(lenet5(input_shape=SHAPE, padding="same"), 3)
    phases = [Phase(epochs=20, learning_rate=0.0, patience=0)]
    result = fit_in_phases(model, _data(), _data(8, seed=1), phases=phases, verbose=0)
    assert result.phase == [1, 1]  # no improvement in the second epoch: stop
    no_validation = fit_in_phases(model, _data(), phases=phases, verbose=0)
    assert no_validation.epochs == 2 and "val_loss" not in no_validation.history
    validation = _data(8, seed=1)  # random labels: validation loss soon rises, then restore
    bouncy = fit_in_phases(model, _data(), validation, phases=[Phase(6, 0.05, None)], verbose=0)
    val_losses = bouncy.history["val_loss"]
    assert val_losses.index(min(val_losses)) < 5
    final = model.evaluate(*validation, verbose=0, return_dict=True)["loss"]
    assert final == pytest.approx(min(val_losses), rel=1e-4)


def test_fine_tune_errors_name_the_setting():
    model = replace_head(lenet5(input_shape=SHAPE, padding="same"), 3)
    with pytest.raises(ValueError, match=r"phases\[1\] has unknown settings \['epoch'\]; known"):
        fit_in_phases(model, _data(), phases=[{}, {"epoch": 3}])
    with pytest.raises(ValueError, match=r"phases\[0\].epochs must be a positive int.*0"):
        fit_in_phases(model, _data(), phases=[Phase(epochs=0)])
    with pytest.raises(ValueError, match=r"phases\[0\].optimizer must be the name of a Keras"):
        fit_in_phases(model, _data(), phases=[{"optimizer": "adamm"}])
    with pytest.raises(ValueError, match=r"phases must be a non-empty list"):
        fit_in_phases(model, _data(), phases=Phase())
    with pytest.raises(ValueError, match=r"trainable_stages must be an int from 0 to 3"):
        fit_in_phases(model, _data(), phases=[{"trainable_stages": 7}])
