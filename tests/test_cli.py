"""The ``cnnzoo`` command, through subprocesses as a user runs it: output, exit codes and
the files written."""

import json
import sys
from pathlib import Path

import keras
import numpy as np
import pytest
from conftest import run_command, run_python, user_env

from cnnzoo import create_model
from cnnzoo.cli import main
from cnnzoo.cli.catalog import describe, shipped_names, shipped_sheet
from cnnzoo.data import load_sample
from cnnzoo.registry import list_models, model_info, natural_key

# Lines of TensorFlow's start-up logs that no command may print.
TENSORFLOW_NOISE = ("oneDNN", "cuInit", "cudart", "cuda drivers", "absl::InitializeLog")


def cnnzoo(*args, check=True):
    """``python -m cnnzoo ARGS`` as a user's shell runs it."""
    result = run_command([sys.executable, "-m", "cnnzoo", *args], env=user_env())
    if check:
        assert result.returncode == 0, result.stdout[-2000:] + result.stderr[-3000:]
    return result


def test_the_console_script_is_installed():
    script = Path(sys.executable).parent / "cnnzoo"
    assert script.exists(), "pip install -e . installs the 'cnnzoo' script beside python"


def test_help_of_every_subcommand_has_examples(capsys):
    from cnnzoo.cli.commands import COMMANDS

    for command in COMMANDS:
        with pytest.raises(SystemExit) as done:  # in-process: the same parser, no start-up
            main([command, "--help"])
        out = capsys.readouterr().out
        assert done.value.code == 0 and "examples:" in out and f"cnnzoo {command}" in out


def test_tune_space_prints_the_model_hyperparameters(capsys):
    assert main(["tune", "resnet20", "--space"]) == 0
    rows = {line.split()[0]: line for line in capsys.readouterr().out.splitlines()[2:]}
    assert "20, 32, 44, 56" in rows["depth"] and "kernel_size" not in rows
    assert "0.0001 to 0.01" in rows["learning_rate"]


def test_list_shows_counts_and_filters():
    out = cnnzoo("list", "resnet5*").stdout.splitlines()
    assert out[0].split() == [
        "model",
        "family",
        "params",
        "MACs",
        "default",
        "input",
        "min",
        "input",
    ]
    rows = {line.split()[0]: line.split() for line in out[2:]}
    assert set(rows) == {"resnet50", "resnet50v2", "resnet56"}
    assert rows["resnet50"][2:5] == ["25.61M", "4.09G", "224x224x3"]  # torchvision's figures


def test_shipped_catalog_covers_the_registry_and_agrees_where_cheap_to_check():
    assert shipped_names() == list_models()
    for name in shipped_names():
        sheet, info = shipped_sheet(name), model_info(name)
        assert (sheet.family, sheet.paper, sheet.year, sheet.notes, sheet.min_input_size) == (
            info.family, info.paper, info.year, info.notes, info.min_input_size,
        ), f"python -m cnnzoo.cli.catalog to regenerate ({name})"  # fmt: skip
        assert sheet.default_input_shape == tuple(info.default_input_shape)
    for name in ("lenet5", "lenet5_modern", "resnet20", "googlenet", "alexnet"):
        assert describe(name) == shipped_sheet(name), f"python -m cnnzoo.cli.catalog ({name})"


def test_info_table_and_set_values_reach_the_factory():
    out = cnnzoo("info", "vgg11", "--input-shape", "32,32,3", "--set", "fc_units=(64,64)",
                 "--set", "norm=batch", "--num-classes", "7").stdout  # fmt: skip
    model = create_model("vgg11", input_shape=(32, 32, 3), fc_units=(64, 64), norm="batch",
                         num_classes=7)  # fmt: skip
    assert "Simonyan" in out and f"parameters {model.count_params():,}" in out
    assert f"Total params: {model.count_params():,}" in out
    rows = {line.split()[0]: line.split() for line in out.splitlines() if line.strip()}
    assert rows["head_fc1"][2] == "64" and rows["predictions"][2] == "7"
    assert rows["stage1_block1_bn"][1:3] == ["batch", "norm"]


@pytest.mark.parametrize(
    ("args", "message"),
    [
        (
            ("info", "lenet6"),
            "Unknown model name 'lenet6'. Closest registered names: lenet5, lenet5_modern. "
            "'cnnzoo list' shows all",
        ),
        (("info", "lenet5", "--set", "colour=3"), "unknown argument 'colour'"),
        (("info", "lenet5", "--set", "dropout"), "--set takes key=value; received 'dropout'"),
        (
            ("train", "lenet5", "--data", "no/such/folder"),
            "'no/such/folder', which is not a folder",
        ),
        (("evaluate", "."), "is not a run folder of 'cnnzoo train'"),
        (("list", "nothing*"), "no registered model matches 'nothing*'"),
        (("finetune", "lenet5", "--weights", "no.keras"), "weights names no file"),
        (
            (
                "finetune",
                "lenet5",
                "--weights",
                "no.keras",
                "--phases",
                "epochs=1",
                "--freeze",
                "c3",
            ),
            "--freeze sets phase 2; with --phases give until=LAYER there",
        ),
        (("finetune", "lenet5", "--weights", "x", "--unfreeze-stages", "two"), "number or 'all'"),
        (
            ("finetune", "lenet5", "--weights", "x", "--steps-per-execution", "0"),
            "--steps-per-execution must be a positive int; received --steps-per-execution 0.",
        ),
    ],
)
def test_bad_arguments_exit_2_with_one_line(args, message, capsys):
    # In this process (a process each cost 5 to 15 s): the status and the line are those a
    # shell sees, and an uncaught exception (a Traceback there) fails the test here.
    # test_a_refused_command_exits_2_as_a_process checks one as a real process.
    with pytest.raises(SystemExit) as exit_:
        main(list(args))
    stderr = capsys.readouterr().err
    assert exit_.value.code == 2, stderr
    assert message in stderr, stderr
    assert stderr.strip().splitlines()[-1].startswith(f"cnnzoo {args[0]}: error: ")


@pytest.mark.slow
def test_a_refused_command_exits_2_as_a_process(tmp_path):
    result = cnnzoo("train", "lenet5", "--data", tmp_path / "no_such_folder", check=False)
    assert result.returncode == 2, result.stderr[-3000:]
    assert "which is not a folder" in result.stderr and "Traceback" not in result.stderr
    assert result.stderr.strip().splitlines()[-1].startswith("cnnzoo train: error: ")


@pytest.fixture(scope="session")
def trained_run(tmp_path_factory):
    """A one-epoch LeNet-5 run on a folder of real digits (0, 1, 7)."""
    root = tmp_path_factory.mktemp("cli")
    sample = load_sample("mnist").train
    for digit in (0, 1, 7):
        (root / "images" / f"digit{digit}").mkdir(parents=True)
        for i, index in enumerate(np.flatnonzero(sample.labels == digit)[:20]):
            image = (sample.images[index] * 255).astype("uint8")
            keras.utils.save_img(root / "images" / f"digit{digit}" / f"{i}.png", image, scale=False)
    result = cnnzoo("train", "lenet5", "--data", root / "images", "--epochs", 2, "--batch-size", 8,
                    "--out", root / "run", "--set", "variant='modern'", "--lr", 3e-3)  # fmt: skip
    return root, result


@pytest.mark.slow
def test_train_prints_metrics_and_the_run_folder(trained_run):
    root, result = trained_run
    assert (
        "validation_accuracy: " in result.stdout and f"Run folder: {root / 'run'}" in result.stdout
    )
    config = json.loads((root / "run" / "config.json").read_text())
    assert config["model_kwargs"] == {"variant": "modern"} and config["learning_rate"] == 3e-3


@pytest.mark.slow
def test_evaluate_writes_the_confusion_matrix_and_per_class_table(trained_run):
    root, _ = trained_run
    out = cnnzoo("evaluate", root / "run").stdout
    assert "Accuracy on the validation split" in out
    assert [line.split()[0] for line in out.splitlines() if line.startswith("digit")] == [
        "digit0", "digit1", "digit7"
    ]  # fmt: skip
    report = json.loads((root / "run" / "evaluation.json").read_text())
    assert report["split"] == "validation" and 0 <= report["accuracy"] <= 1
    assert (root / "run" / "confusion.png").read_bytes()[:4] == b"\x89PNG"


@pytest.mark.slow
def test_predict_gives_top_k_classes(trained_run):
    root, _ = trained_run
    images = sorted((root / "images" / "digit1").glob("*.png"))[:2]
    out = cnnzoo("predict", root / "run", *images, "--top-k", 2).stdout.splitlines()
    predictions = [line.split(": ", 1)[1] for line in out]
    assert len(out) == 2 and all(line.count("digit") == 2 for line in predictions)
    probabilities = [float(word.rstrip(",")) for word in predictions[0].split()[1::2]]
    assert probabilities == sorted(probabilities, reverse=True) and sum(probabilities) <= 1.0001


@pytest.mark.slow
def test_export_formats(trained_run, capsys):
    root, _ = trained_run
    run = root / "run"
    assert "model.keras" in cnnzoo("export", run).stdout  # one export as a real process
    assert keras.saving.load_model(run / "export" / "model.keras").output_shape == (None, 3)
    # The other formats in this process (a process each cost 5 to 10 s). TFLite, the
    # costliest conversion, is tests/test_export.py's, with its verification and sizes.
    assert main(["export", str(run), "--format", "saved_model"]) == 0
    assert (run / "export" / "saved_model" / "saved_model.pb").exists()
    try:
        status = main(["export", str(run), "--format", "onnx"])
    except SystemExit as exit_:  # the optional packages are not installed here
        err = capsys.readouterr().err
        assert exit_.code == 2 and "pip install" in err and "tf2onnx" in err, err
    else:
        assert status == 0 and (run / "export" / "model.onnx").stat().st_size > 10_000


@pytest.mark.slow
def test_speed_flags_reach_the_run(tmp_path, digits_folder):
    run = tmp_path / "run"
    cnnzoo("train", "lenet5", "--data", digits_folder, "--epochs", 1, "--batch-size", 4,
           "--out", run, "--set", "variant=modern", "--mixed-precision", "--jit",
           "--steps-per-execution", 2)  # fmt: skip
    config = json.loads((run / "config.json").read_text())
    assert config["mixed_precision"] is True and config["jit_compile"] is True
    assert config["steps_per_execution"] == 2
    model = keras.saving.load_model(run / "model.keras", compile=False)
    assert model.get_layer("c1_conv").dtype_policy.name == "mixed_float16"
    assert model.get_layer("predictions").dtype_policy.name == "float32"  # a stable softmax
    probabilities = model.predict(np.full((1, 32, 32, 1), 128.0), verbose=0)
    assert probabilities.dtype == np.float32 and abs(probabilities.sum() - 1) < 1e-5


# ----- start-up, stderr and messages -----------------------------------------------------


def console(*args):
    """The installed ``cnnzoo`` script, run as a user's shell runs it."""
    return run_command([Path(sys.executable).parent / "cnnzoo", *args], env=user_env())


def tensorflow_noise(stderr: str) -> list[str]:
    return [line for line in stderr.splitlines() if any(word in line for word in TENSORFLOW_NOISE)]


@pytest.mark.parametrize(
    "args",
    [("--help",), ("list",), ("info", "lenet5"), ("info", "lenet5", "--num-classes", "7")],
    ids=["help", "list", "info", "info-that-builds"],
)
@pytest.mark.slow
def test_commands_write_nothing_to_stderr(args):
    result = console(*args)
    assert result.returncode == 0 and result.stdout
    assert result.stderr == ""  # TensorFlow's start-up lines included (the last one imports it)


@pytest.mark.slow
def test_training_writes_no_tensorflow_start_up_lines(trained_run):
    _, result = trained_run
    assert tensorflow_noise(result.stderr) == []


def test_list_info_and_help_do_not_import_tensorflow():
    code = (
        "import contextlib, io, sys\n"
        "from cnnzoo.cli import main\n"
        "with contextlib.redirect_stdout(io.StringIO()):\n"
        "    main(['list'])\n"
        "    main(['info', 'vgg16'])\n"
        "    with contextlib.suppress(SystemExit):\n"
        "        main(['--help'])\n"
        "print([name for name in ('keras', 'tensorflow') if name in sys.modules])\n"
    )
    result = run_python(code)
    assert result.returncode == 0 and result.stdout.strip() == "[]", result.stderr


@pytest.mark.slow
def test_the_filter_keeps_warnings_and_errors():
    # TensorFlow imported inside the filter, as the commands do, then a warning from the
    # user's code and an error record that is not a start-up line.
    code = (
        "import os, warnings\n"
        "from cnnzoo.cli.quiet import tensorflow_noise_filtered\n"
        "with tensorflow_noise_filtered():\n"
        "    import tensorflow as tf\n"
        "    tf.config.list_physical_devices()\n"
        "    warnings.warn('from the user code')\n"
        "    os.write(2, b'E0000 00:00:1796402908.747253  4122 saver.cc:12] a real error\\n')\n"
        "    raise SystemExit('and a real failure')\n"
    )
    result = run_python(code, env=user_env())
    assert result.returncode == 1
    assert "UserWarning: from the user code" in result.stderr
    assert "saver.cc:12] a real error" in result.stderr
    assert result.stderr.strip().endswith("and a real failure")
    assert tensorflow_noise(result.stderr) == []


def test_list_sorts_names_naturally():
    names = [line.split()[0] for line in cnnzoo("list").stdout.splitlines()[2:]]
    assert names == sorted(names, key=natural_key) != sorted(names)
    assert names.index("resnet18") < names.index("resnet34") < names.index("resnet101")


def test_a_misspelt_flag_gets_the_usage_and_the_closest_flag():
    result = cnnzoo("info", "lenet5", "--inputshape", "32,32,3", check=False)
    lines = result.stderr.strip().splitlines()
    assert result.returncode == 2 and lines[0].startswith("usage: cnnzoo info ")
    assert lines[-1] == (
        "cnnzoo info: error: unrecognized arguments: --inputshape 32,32,3; "
        "did you mean --input-shape?"
    )


def test_a_misspelt_flag_of_train(capsys):
    with pytest.raises(SystemExit) as done:
        main(["train", "lenet5", "--lrr", "0.1"])
    err = capsys.readouterr().err
    assert done.value.code == 2 and "usage: cnnzoo train " in err
    assert err.strip().splitlines()[-1].endswith("--lrr 0.1; did you mean --lr?")


def test_a_misspelt_command_gets_the_closest_command():
    result = cnnzoo("trian", "lenet5", check=False)
    assert result.returncode == 2
    assert result.stderr.strip().splitlines()[-1].endswith("did you mean train?")


@pytest.mark.parametrize(
    ("typo", "suggestions"),
    [("lenet6", "lenet5, lenet5_modern"), ("vgg61", "vgg16, vgg11, vgg13, vgg19, vgg16_bn")],
)
def test_an_unknown_model_suggests_its_family_first(typo, suggestions):
    result = cnnzoo("info", typo, check=False)
    assert result.returncode == 2
    assert f"Closest registered names: {suggestions}. 'cnnzoo list' shows all" in result.stderr


def test_train_errors_name_flags_not_python_arguments(tmp_path, capsys):
    with pytest.raises(SystemExit) as done:
        main(["train", "lenet5", "--out", str(tmp_path / "none"), "--resume"])
    err = capsys.readouterr().err
    assert done.value.code == 2 and "cnnzoo train: error: --resume, but " in err
    assert "resume=True" not in err
    with pytest.raises(SystemExit):
        main(["train", "lenet5", "--lr", "-1"])
    err = capsys.readouterr().err
    assert "--lr" in err and "learning_rate" not in err


def test_tune_errors_name_flags_not_python_arguments(monkeypatch, capsys):
    import cnnzoo.tuning

    def search(*args, **kwargs):  # the library's error for a project that holds another search
        raise ValueError(
            "The project 'tuning/lenet5' holds a different search:\n  max_epochs: 3 -> 9\n"
            "  seed: 0 -> 1\nPass overwrite=True to start it afresh, or a new project_name."
        )

    monkeypatch.setattr(cnnzoo.tuning, "search", search)
    with pytest.raises(SystemExit):
        main(["tune", "lenet5", "--max-epochs", "9"])
    assert capsys.readouterr().err.strip() == (
        "cnnzoo tune: error: The project 'tuning/lenet5' holds a different search: "
        "--max-epochs: 3 -> 9; --seed: 0 -> 1; Pass --overwrite to start it afresh, or a new "
        "--project."
    )


def test_info_from_the_catalogue_is_what_a_build_prints(capsys):
    assert main(["info", "resnet20"]) == 0
    shipped = capsys.readouterr().out
    assert main(["info", "resnet20", "--num-classes", "10"]) == 0  # the default, built
    assert capsys.readouterr().out == shipped
