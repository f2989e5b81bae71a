"""Transfer learning: feature extraction over shared weights, freezing with batch norm."""

import keras
import numpy as np
import pytest
from conftest import random_images

from cnnzoo import googlenet, lenet5, resnet18
from cnnzoo.transfer import feature_extractor, freeze, stage_outputs


def test_default_features_are_every_stage_output_with_the_models_values():
    model = resnet18(input_shape=(64, 64, 3), num_classes=3)
    features = feature_extractor(model)
    x = random_images((64, 64, 3), high=255)
    maps = features.predict(x, verbose=0)
    assert list(maps) == ["stage1_out", "stage2_out", "stage3_out", "stage4_out"]
    assert [maps[name].shape[1:] for name in maps] == [
        (16, 16, 64), (8, 8, 128), (4, 4, 256), (2, 2, 512)
    ]  # fmt: skip
    probe = keras.Model(model.input, model.get_layer("stage3_out").output)
    np.testing.assert_allclose(maps["stage3_out"], probe.predict(x, verbose=0), rtol=1e-5)


def test_features_share_the_weights():
    model = resnet18(input_shape=(32, 32, 3), num_classes=3)
    features = feature_extractor(model, "stage1_out")
    before = features.predict(random_images((32, 32, 3), high=255), verbose=0)["stage1_out"]
    kernel = model.get_layer("stem_conv").kernel
    kernel.assign(kernel.numpy() * 2)
    after = features.predict(random_images((32, 32, 3), high=255), verbose=0)["stage1_out"]
    assert not np.allclose(before, after)
    assert features.count_params() < model.count_params()


def test_pooled_embeddings_in_one_dimension_and_any_layer_name():
    model = lenet5(variant="modern", input_shape=(32, 1))
    features = feature_extractor(model, ["c1_act", "stage2_out"], pooled=True)
    maps = features.predict(random_images((32, 1), high=255), verbose=0)
    assert {key: value.shape for key, value in maps.items()} == {
        "c1_act": (2, 6), "stage2_out": (2, 16)
    }  # fmt: skip
    aux = googlenet(input_shape=(65, 65, 3), aux_logits=True, num_classes=3)
    assert set(feature_extractor(aux, ["inception4a_concat", "stage5_out"]).output) == {
        "inception4a_concat", "stage5_out"
    }  # fmt: skip


def test_works_on_a_reloaded_model(tmp_path):
    model = resnet18(input_shape=(32, 32, 3), num_classes=3)
    model.save(tmp_path / "m.keras")
    reloaded = keras.saving.load_model(tmp_path / "m.keras")
    x = random_images((32, 32, 3), high=255)
    ours = feature_extractor(reloaded, "stage4_out", pooled=True).predict(x, verbose=0)
    theirs = feature_extractor(model, "stage4_out", pooled=True).predict(x, verbose=0)
    np.testing.assert_allclose(ours["stage4_out"], theirs["stage4_out"], rtol=1e-5)
    assert stage_outputs(reloaded) == stage_outputs(model)


def test_errors_list_what_exists():
    model = resnet18(input_shape=(32, 32, 3))
    with pytest.raises(ValueError, match=r"does not have: \['stage9_out'\].*'stage1_out'"):
        feature_extractor(model, ["stage2_out", "stage9_out"])
    with pytest.raises(ValueError, match=r"outputs must name at least one layer"):
        feature_extractor(model, [])
    plain = keras.Sequential([keras.Input((4,)), keras.layers.Dense(2)])
    with pytest.raises(ValueError, match=r"has no stage\{i\}_out layers"):
        feature_extractor(plain)
    with pytest.raises(ValueError, match=r"pooled must be True or False; received pooled=1"):
        feature_extractor(model, pooled=1)


# ----- freeze -----------------------------------------------------------------------------


def _snapshot(model):
    return {w.path: w.numpy().copy() for w in model.weights}


def _train_a_few_steps(model, shape, steps=3):
    if not model.compiled:
        model.compile(optimizer=keras.optimizers.SGD(0.05), loss="sparse_categorical_crossentropy")
    x = random_images(shape, 8, high=255)
    model.fit(x, np.arange(8) % 3, batch_size=4, epochs=steps // 2 + 1, verbose=0)


def _changed(before, model, prefix):
    return {
        w.path: not np.array_equal(before[w.path], w.numpy())
        for w in model.weights if w.path.startswith(prefix)
    }  # fmt: skip


def test_frozen_backbone_and_batch_norm_statistics_do_not_move():
    model = resnet18(input_shape=(32, 32, 3), num_classes=3)
    summary = freeze(model)
    before = _snapshot(model)
    _train_a_few_steps(model, (32, 32, 3))
    backbone = {p: c for p, c in _changed(before, model, "").items() if "predictions" not in p}
    assert backbone and not any(backbone.values())  # kernels, gamma/beta, moving mean/var
    assert all(_changed(before, model, "predictions").values())
    assert summary.trainable_layers == ("predictions",)
    assert summary.trainable_params == 512 * 3 + 3
    assert str(summary).startswith("Frozen: 40 layers, ") and "Trainable: 1 layer, 1,539 " in str(
        summary
    )


@pytest.mark.parametrize("keep_batchnorm_frozen", [True, False])
def test_last_stage_trains_and_batch_norm_follows_the_switch(keep_batchnorm_frozen):
    model = resnet18(input_shape=(32, 32, 3), num_classes=3)
    freeze(model, trainable_stages=1, keep_batchnorm_frozen=keep_batchnorm_frozen)
    before = _snapshot(model)
    _train_a_few_steps(model, (32, 32, 3))
    assert not any(_changed(before, model, "stage3_").values())
    stage4 = _changed(before, model, "stage4_")
    kernels = {p: c for p, c in stage4.items() if p.endswith("kernel")}
    moving = {p: c for p, c in stage4.items() if "moving" in p}
    assert kernels and all(kernels.values())
    assert moving and all(moving.values()) != keep_batchnorm_frozen


def test_until_and_fraction_select_the_frozen_part():
    model = resnet18(input_shape=(32, 32, 3), num_classes=3)
    freeze(model, until="stage2_out")
    assert not model.get_layer("stem_conv").trainable
    assert not model.get_layer("stage2_block2_2_conv").trainable
    assert model.get_layer("stage3_block1_1_conv").trainable
    summary = freeze(model, fraction=0.5)
    convs = [layer for layer in model.layers if isinstance(layer, keras.layers.Conv2D)]
    frozen = [layer.name for layer in convs if not layer.trainable]
    assert frozen[0] == "stem_conv" and 0.4 < len(frozen) / len(convs) < 0.6
    assert "predictions" in summary.trainable_layers
    freeze(model, trainable_stages=4)
    assert all(layer.trainable for layer in convs)  # a later call re-declares the phase


@pytest.mark.slow
def test_a_compiled_model_is_recompiled_with_a_fresh_optimizer():
    model = resnet18(input_shape=(32, 32, 3), num_classes=3)
    model.compile(optimizer=keras.optimizers.Adam(1e-3), loss="sparse_categorical_crossentropy")
    _train_a_few_steps(model, (32, 32, 3))
    summary = freeze(model, trainable_stages=1)
    assert summary.recompiled and "fresh optimizer" in str(summary)
    assert int(model.optimizer.iterations.numpy()) == 0
    assert isinstance(model.optimizer, keras.optimizers.Adam)
    before = _snapshot(model)
    _train_a_few_steps(model, (32, 32, 3))
    assert not any(_changed(before, model, "stage2_").values())


def test_freeze_errors_name_the_choices():
    model = resnet18(input_shape=(32, 32, 3))
    with pytest.raises(ValueError, match=r"at most one of .*until='stage2_out', fraction=0.5"):
        freeze(model, until="stage2_out", fraction=0.5)
    with pytest.raises(ValueError, match=r"until must name a layer .*until='stage9'.*stage4_out"):
        freeze(model, until="stage9")
    with pytest.raises(ValueError, match=r"trainable_stages must be an int from 0 to 4.*=5"):
        freeze(model, trainable_stages=5)
    with pytest.raises(ValueError, match=r"fraction must be in \(0, 1\]; received fraction=0"):
        freeze(model, fraction=0)
    plain = keras.Sequential([keras.Input((4,)), keras.layers.Dense(2, name="dense")])
    with pytest.raises(ValueError, match=r"no stage\{i\}_out layers; select layers with until"):
        freeze(plain)
    assert freeze(plain, until="dense").frozen_layers == ("dense",)
