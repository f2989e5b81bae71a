"""Tests of the model registry: listing, creating and describing models by name."""

import dataclasses
import inspect

import keras
import pytest
from conftest import run_python

import cnnzoo
from cnnzoo import registry

EXPECTED_NAMES = [
    "alexnet",
    "alexnet_single_tower",
    "googlenet",
    "googlenet_bn",
    "inception_v3",
    "lenet5",
    "lenet5_modern",
    "resnet18",
    "resnet20",
    "resnet32",
    "resnet34",
    "resnet44",
    "resnet50",
    "resnet50v2",
    "resnet56",
    "resnet101",
    "resnet101v2",
    "resnet110",
    "resnet152",
    "resnet152v2",
    "vgg11",
    "vgg11_bn",
    "vgg13",
    "vgg13_bn",
    "vgg16",
    "vgg16_bn",
    "vgg19",
    "vgg19_bn",
]


def test_list_models_all_in_natural_order():
    names = cnnzoo.list_models()
    assert names == sorted(names, key=registry.natural_key)
    assert names.index("resnet18") < names.index("resnet101")  # 18 < 101, "18" > "101"
    assert set(EXPECTED_NAMES) <= set(names)
    assert cnnzoo.list_models("*") == names


@pytest.mark.parametrize(
    ("pattern", "expected"),
    [
        ("vgg*_bn", ["vgg11_bn", "vgg13_bn", "vgg16_bn", "vgg19_bn"]),
        ("vgg1[69]", ["vgg16", "vgg19"]),
        ("alexnet*", ["alexnet", "alexnet_single_tower"]),
        ("lenet?", ["lenet5"]),
        ("vgg??", ["vgg11", "vgg13", "vgg16", "vgg19"]),
        ("resnet*v2", ["resnet50v2", "resnet101v2", "resnet152v2"]),
        ("resnet1??", ["resnet101", "resnet110", "resnet152"]),
        ("densenet*", []),
        ("VGG16", []),  # case-sensitive
        ("", []),
    ],
)
def test_list_models_patterns(pattern, expected):
    assert cnnzoo.list_models(pattern) == expected


def test_create_model_applies_registered_defaults():
    model = cnnzoo.create_model("alexnet_single_tower", input_shape=(64, 64, 3), include_top=False)
    names = [layer.name for layer in model.layers]
    assert model.name == "alexnet_single_tower"
    assert model.get_layer("stage1_block1_conv").filters == 64  # single-tower widths
    assert not any(name.endswith("_lrn") for name in names)
    assert model.output_shape == (None, 1, 1, 256)


def test_create_model_passes_kwargs():
    model = cnnzoo.create_model("lenet5_modern", num_classes=3, input_shape=(32, 32, 2))
    assert model.output_shape == (None, 3)
    assert model.input_shape == (None, 32, 32, 2)
    assert model.get_layer("c1_act").get_config()["activation"] == "relu"


def test_user_kwargs_override_registered_defaults():
    model = cnnzoo.create_model(
        "alexnet_single_tower", variant="original", input_shape=(67, 67, 3), include_top=False
    )
    assert model.get_layer("stage1_block1_conv").filters == 96
    assert [layer.name for layer in model.layers if layer.name.endswith("_lrn")] == [
        "stage1_lrn",
        "stage2_lrn",
    ]


def test_user_name_overrides_the_registered_name():
    model = cnnzoo.create_model("lenet5_modern", name="custom")
    assert model.name == "custom"


def test_registered_defaults_are_not_mutated_by_create_model():
    before = dict(cnnzoo.model_info("lenet5_modern").defaults)
    cnnzoo.create_model("lenet5_modern", variant="original", num_classes=3)
    assert cnnzoo.model_info("lenet5_modern").defaults == before


@pytest.mark.parametrize(
    ("name", "family", "model_name"),
    [
        ("lenet5", "lenet", "lenet5"),
        ("lenet5_modern", "lenet", "lenet5_modern"),
        ("vgg11_bn", "vgg", "vgg11_bn"),
        ("vgg13", "vgg", "vgg13"),
    ],
)
def test_create_model_builds_the_named_model(name, family, model_name):
    info = cnnzoo.model_info(name)
    assert info.family == family
    kwargs = {"input_shape": (32, 32, info.default_input_shape[-1])}
    if family == "vgg":
        kwargs.update(include_top=False, widths=(4, 4, 4, 4, 4))
    model = cnnzoo.create_model(name, **kwargs)
    assert model.name == model_name


def test_lenet5_registered_variants_differ():
    original = cnnzoo.create_model("lenet5")
    modern = cnnzoo.create_model("lenet5_modern")
    assert original.count_params() == cnnzoo.model_info("lenet5").reference_params
    assert modern.count_params() == cnnzoo.model_info("lenet5_modern").reference_params


def test_vgg_bn_registered_with_batch_norm():
    model = cnnzoo.create_model(
        "vgg11_bn", input_shape=(32, 32, 3), include_top=False, widths=(4, 4, 4, 4, 4)
    )
    assert isinstance(model.get_layer("stage1_block1_bn"), keras.layers.BatchNormalization)
    assert model.get_layer("stage1_block1_conv").use_bias


@pytest.mark.parametrize("name", EXPECTED_NAMES)
def test_model_info_is_filled(name):
    info = cnnzoo.model_info(name)
    assert isinstance(info, cnnzoo.ModelInfo)
    assert info.name == name
    assert info.family in ("lenet", "alexnet", "vgg", "resnet", "googlenet", "inception")
    assert name.startswith(info.family)
    assert isinstance(info.paper, str) and len(info.paper) > 20
    assert isinstance(info.year, int) and 1990 < info.year < 2030
    assert isinstance(info.default_input_shape, tuple)
    assert len(info.default_input_shape) == 3
    assert all(isinstance(n, int) and n > 0 for n in info.default_input_shape)
    assert isinstance(info.min_input_size, int)
    assert 0 < info.min_input_size <= min(info.default_input_shape[:-1])
    assert isinstance(info.notes, str) and info.notes
    assert isinstance(info.defaults, dict)
    assert info.reference_params is None or info.reference_params > 0


def test_model_info_values():
    assert cnnzoo.model_info("lenet5").year == 1998
    assert cnnzoo.model_info("alexnet").default_input_shape == (227, 227, 3)
    assert cnnzoo.model_info("alexnet").min_input_size == 67
    assert cnnzoo.model_info("alexnet_single_tower").min_input_size == 63
    assert cnnzoo.model_info("vgg16").min_input_size == 32
    assert cnnzoo.model_info("vgg16").reference_params == 138357544


def test_model_info_is_frozen():
    info = cnnzoo.model_info("vgg16")
    assert dataclasses.is_dataclass(info)
    with pytest.raises(dataclasses.FrozenInstanceError):
        info.year = 2015
    with pytest.raises(dataclasses.FrozenInstanceError):
        info.min_input_size = 1
    assert cnnzoo.model_info("vgg16").year == 2014


@pytest.mark.parametrize(
    ("typo", "suggestion"),
    [("vgg61", "vgg16"), ("alexnt", "alexnet"), ("lenet", "lenet5"), ("vgg16bn", "vgg16_bn")],
)
@pytest.mark.parametrize("function", [cnnzoo.model_info, cnnzoo.create_model])
def test_unknown_names_suggest_close_names(function, typo, suggestion):
    with pytest.raises(ValueError) as info:
        function(typo)
    message = str(info.value)
    assert f"Unknown model name {typo!r}" in message
    assert "Closest registered names:" in message
    assert suggestion in message.split("Closest registered names:")[1]
    assert "list_models()" in message


@pytest.mark.parametrize(
    ("typo", "expected"),
    [
        ("lenet6", ["lenet5", "lenet5_modern"]),  # alexnet is as close to "lenet6", but no LeNet
        ("alexnt", ["alexnet", "alexnet_single_tower"]),
        ("vgg61", ["vgg16", "vgg11", "vgg13", "vgg19", "vgg16_bn"]),  # vgg16: the same letters
        ("resnet50_v2", ["resnet50v2", "resnet50", "resnet101v2", "resnet152v2", "resnet152"]),
        ("zzzzzz", []),
    ],
)
def test_suggestions_come_from_the_family_first(typo, expected):
    families = {name: cnnzoo.model_info(name).family for name in cnnzoo.list_models()}
    assert registry.suggest_names(typo, families) == expected


def test_unknown_name_without_close_names():
    with pytest.raises(ValueError, match=r"Unknown model name 'zzzzzz'\. list_models\(\)") as info:
        cnnzoo.model_info("zzzzzz")
    assert "Closest" not in str(info.value)


@pytest.fixture
def dummy_name(registry_restored):
    name = "test_registry_dummy_model"
    assert name not in registry._FACTORIES
    return name


DUMMY_INFO = dict(
    family="dummy",
    paper="Nobody. A test model. 2024",
    year=2024,
    default_input_shape=(8, 8, 1),
    min_input_size=1,
    notes="Registered by the tests.",
    defaults={"units": 3},
)


def dummy_factory(units=1, input_shape=(8, 8, 1), name="dummy"):
    inputs = keras.Input(input_shape)
    outputs = keras.layers.Dense(units)(keras.layers.Flatten()(inputs))
    return keras.Model(inputs, outputs, name=name)


def test_register_model(dummy_name):
    cnnzoo.register_model(dummy_name, dummy_factory, **DUMMY_INFO)
    assert dummy_name in cnnzoo.list_models()
    assert cnnzoo.list_models("test_registry_*") == [dummy_name]
    info = cnnzoo.model_info(dummy_name)
    assert info.family == "dummy"
    assert info.reference_params is None
    assert cnnzoo.create_model(dummy_name).output_shape == (None, 3)
    assert cnnzoo.create_model(dummy_name, units=5).output_shape == (None, 5)


def test_registering_a_duplicate_name_raises(dummy_name):
    cnnzoo.register_model(dummy_name, dummy_factory, **DUMMY_INFO)
    with pytest.raises(ValueError, match=rf"'{dummy_name}' is already registered"):
        cnnzoo.register_model(dummy_name, dummy_factory, **{**DUMMY_INFO, "year": 2025})
    assert cnnzoo.model_info(dummy_name).year == 2024  # the first registration stays


def test_registering_an_existing_builtin_name_raises():
    with pytest.raises(ValueError, match=r"'vgg16' is already registered"):
        cnnzoo.register_model("vgg16", dummy_factory, **DUMMY_INFO)
    assert cnnzoo.model_info("vgg16").family == "vgg"


def test_dummy_registration_was_cleaned_up():
    assert "test_registry_dummy_model" not in cnnzoo.list_models()


@pytest.mark.slow
def test_importing_cnnzoo_and_the_registry_loads_no_keras():
    """The command line's list, info and --help rely on it; the names load on first use."""
    code = (
        "import sys, cnnzoo, cnnzoo.registry, cnnzoo.compute.rows\n"
        "print('keras' in sys.modules, 'tensorflow' in sys.modules)\n"
        "from cnnzoo import vgg16, list_models\n"
        "print(len(list_models()) >= 28, vgg16.__module__, 'keras' in sys.modules)\n"
    )
    result = run_python(code)
    assert result.returncode == 0, result.stderr
    assert result.stdout.split() == ["False", "False", "True", "cnnzoo.models.vgg", "True"]


def test_the_public_names_resolve():
    """Every public name (the laziness itself is the subprocess test above)."""
    assert set(cnnzoo.__all__) == {*cnnzoo.models.__all__, "ModelInfo", "count_macs",
                                   "create_model", "list_models", "list_pretrained", "model_info",
                                   "register_family", "register_model"}  # fmt: skip
    namespace = {}
    exec("from cnnzoo import *", namespace)
    assert namespace["resnet50"] is cnnzoo.models.resnet50
    assert cnnzoo.layers.__name__ == "cnnzoo.layers"  # a subpackage, as an attribute
    with pytest.raises(AttributeError, match="no attribute 'lenet6'"):
        cnnzoo.lenet6  # noqa: B018


@pytest.mark.parametrize(
    ("factory", "fixed", "defaults"),
    [
        (cnnzoo.vgg16, "config", {"norm": None, "dropout": 0.5}),
        (cnnzoo.vgg16_bn, "config", {"norm": "batch"}),
        (cnnzoo.resnet18, "depth", {"variant": "v1.5", "downsample": "first"}),
        (cnnzoo.resnet50v2, "depth", {"variant": "v2", "downsample": "last"}),
        (cnnzoo.resnet20, "depth", {"stem": "cifar", "shortcut": "zero_pad", "num_classes": 10}),
    ],
)
def test_named_factories_show_the_family_arguments_with_their_own_defaults(
    factory, fixed, defaults
):
    # They were `(**kwargs)`: help(), the docs and inspect saw no argument at all.
    parameters = inspect.signature(factory).parameters
    assert fixed not in parameters
    assert {"widths", "input_shape", "weights"} <= set(parameters)
    for argument, default in defaults.items():
        assert parameters[argument].default == default, argument


def test_cifar_resnet_shows_its_depth_then_the_resnet_arguments():
    parameters = list(inspect.signature(cnnzoo.cifar_resnet).parameters.values())
    assert (parameters[0].name, parameters[0].default) == ("depth", 20)
    assert {p.name for p in parameters[1:]} == set(inspect.signature(cnnzoo.resnet).parameters) - {
        "depth"
    }
