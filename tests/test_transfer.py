"""Transfer learning: named feature extraction over shared weights."""

import keras
import numpy as np
import pytest

from cnnzoo import googlenet, lenet5, resnet18
from cnnzoo.transfer import feature_extractor, stage_outputs


def _images(shape, n=2):
    return np.random.default_rng(0).uniform(0, 255, (n, *shape)).astype("float32")


def test_default_features_are_every_stage_output_with_the_models_values():
    model = resnet18(input_shape=(64, 64, 3), num_classes=3)
    features = feature_extractor(model)
    x = _images((64, 64, 3))
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
    before = features.predict(_images((32, 32, 3)), verbose=0)["stage1_out"]
    kernel = model.get_layer("stem_conv").kernel
    kernel.assign(kernel.numpy() * 2)
    after = features.predict(_images((32, 32, 3)), verbose=0)["stage1_out"]
    assert not np.allclose(before, after)
    assert features.count_params() < model.count_params()


def test_pooled_embeddings_in_one_dimension_and_any_layer_name():
    model = lenet5(variant="modern", input_shape=(32, 1))
    features = feature_extractor(model, ["c1_act", "stage2_out"], pooled=True)
    maps = features.predict(_images((32, 1)), verbose=0)
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
    x = _images((32, 32, 3))
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
