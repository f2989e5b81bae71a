"""What ``cnnzoo train`` and ``cnnzoo finetune`` tell their user, through real commands on
real image files: the summary line, the skipped files, a progress bar that never counts
past the epoch, where ``--resume`` continues, phase headers, and refusals that leave no
files behind."""

import re
import shutil
import sys

import keras
import numpy as np
import pytest
from conftest import quiet_env, run_command

from cnnzoo import create_model
from cnnzoo.cli import main
from cnnzoo.training import finetune, history_rows, train

# Every test runs real commands, most of them training.
pytestmark = pytest.mark.slow

LENET = {"variant": "modern"}
NOT_IMAGES = [f"d3/notes{i}.png" for i in range(4)]  # text files named .png
TRUNCATED = [f"d8/cut{i}.png" for i in range(3)]
BAR = re.compile(r"^\s*(\d+)/(\d+) ")  # "  8/113 ━━━━ ..." (not "Epoch 1/2")


def cnnzoo(*args):
    return run_command([sys.executable, "-m", "cnnzoo", *args], env=quiet_env())


def lines(text: str) -> list[str]:
    """Output lines as a terminal shows them in turn: progress bars redraw with \\r."""
    plain = re.sub(r"\x1b\[[0-9;]*m", "", text)
    return [line for line in re.split(r"[\r\n]", plain) if line.strip()]


def refused(result, command: str = "train") -> str:
    """The one line of a command refused for a bad setting."""
    assert result.returncode == 2, result.stdout[-1000:] + result.stderr[-2000:]
    assert "Traceback" not in result.stderr
    last = result.stderr.strip().splitlines()[-1]
    assert last.startswith(f"cnnzoo {command}: error: ")
    return last


@pytest.fixture(scope="session")
def messy_digits(digits_folder, tmp_path_factory):
    """The 24 real digits of ``digits_folder`` (3s and 8s), plus 4 text files named .png
    and 3 truncated PNGs: 7 files the scan skips."""
    root = tmp_path_factory.mktemp("messy") / "digits"
    shutil.copytree(digits_folder, root)
    for path in NOT_IMAGES:
        (root / path).write_text("not an image\n")
    png = (root / "d8" / "0.png").read_bytes()
    for path in TRUNCATED:
        (root / path).write_bytes(png[:120])
    return root


@pytest.fixture(scope="session")
def trained(messy_digits, tmp_path_factory):
    """``cnnzoo train`` on the messy folder, 2 epochs of 3 batches (steps_per_execution
    8 by default: more than an epoch has)."""
    run = tmp_path_factory.mktemp("trained") / "run"
    result = cnnzoo("train", "lenet5", "--data", messy_digits, "--epochs", 2, "--batch-size", 8,
                    "--set", "variant=modern", "--out", run)  # fmt: skip
    assert result.returncode == 0, result.stdout[-2000:] + result.stderr[-3000:]
    return run, result.stdout


def test_a_run_starts_with_one_summary_line(trained, messy_digits):
    _, stdout = trained
    params = create_model("lenet5", num_classes=2, **LENET).count_params()
    assert lines(stdout)[0] == (
        f"Training lenet5 ({params:,} parameters, input 32x32x1) on {messy_digits}: train 20 "
        f"images of 2 classes, validation 4 of 2; backend {keras.backend.backend()}."
    )


def test_skipped_files_are_shown_with_why_and_where_the_report_is(trained):
    run, stdout = trained
    out = lines(stdout)
    start = out.index("Skipped 7 of 31 image files:")
    shown = out[start + 1 : start + 7]
    assert shown[:4] == [f"  {path}: not an image" for path in NOT_IMAGES]
    assert shown[4].startswith(f"  {TRUNCATED[0]}: does not decode (")
    assert shown[5] == "  ... and 2 more"
    assert out[start + 7] == f"Full report: {run / 'data_report.json'}"


def test_the_progress_bar_never_counts_past_the_epoch(trained):
    _, stdout = trained
    counts = [tuple(map(int, match.groups())) for match in map(BAR.match, lines(stdout)) if match]
    assert counts and {total for _, total in counts} == {3}  # 20 images in batches of 8
    assert all(done <= total for done, total in counts), sorted(set(counts))
    assert (3, 3) in counts


def test_predict_refuses_a_file_that_is_not_an_image_in_one_line(trained, messy_digits):
    run, _ = trained
    result = cnnzoo("predict", run, messy_digits / "d3" / "0.png", messy_digits / NOT_IMAGES[0])
    assert "is not an image" in refused(result, "predict") and NOT_IMAGES[0] in result.stderr
    assert result.stdout == ""  # every file is checked before the first prediction
    result = cnnzoo("predict", run, messy_digits / TRUNCATED[0])
    assert "does not decode as an image" in refused(result, "predict")


def test_refused_commands_leave_nothing_and_the_corrected_one_runs(tmp_path, messy_digits, capsys):
    one_class = tmp_path / "one_class"
    (one_class / "cats").mkdir(parents=True)
    for i in range(4):
        keras.utils.save_img(one_class / "cats" / f"{i}.png", np.full((28, 28, 1), 40 * i))
    run = tmp_path / "run"
    common = ("--data", messy_digits, "--epochs", 1, "--batch-size", 8, "--out", run)
    bad = {
        ("lenet55",): "Unknown model name 'lenet55'. Closest registered names: lenet5",
        ("lenet5", "--set", "bogus=1"): "bogus",
        ("lenet5", "--set", "dropout=5"): "dropout",
        ("vgg11", "--input-shape", "8,8,3"): "too small",
        ("lenet5", "--data", one_class): "at least 2 classes",
    }
    # The refusals run in this process (a process each cost 6 s): the exit status and the
    # one line are the same; an uncaught exception, the Traceback, fails the test here.
    for args, message in bad.items():
        with pytest.raises(SystemExit) as exit_:
            main(["train", args[0], *map(str, common), *map(str, args[1:])])  # the last --data
        stderr = capsys.readouterr().err
        assert exit_.value.code == 2, stderr
        assert stderr.strip().splitlines()[-1].startswith("cnnzoo train: error: "), stderr
        assert message in stderr, stderr
        assert not run.exists(), f"{args} left {sorted(p.name for p in run.iterdir())}"
    result = cnnzoo("train", "lenet5", "--set", "variant=modern", *common)
    assert result.returncode == 0, result.stderr[-2000:]
    assert (run / "metrics.json").exists()


class InterruptedRunError(Exception):
    """Stands for a kill after the first epoch's backup."""


def _interrupt_in_epoch(number: int):
    def stop(epoch, logs):
        if epoch + 1 == number:  # before the run's own backup of this epoch
            raise InterruptedRunError

    return keras.callbacks.LambdaCallback(on_epoch_end=stop)


def test_resume_says_where_it_continues_and_that_a_finished_run_is(tmp_path, messy_digits):
    run = tmp_path / "run"
    settings = ("lenet5", "--data", messy_digits, "--epochs", 3, "--batch-size", 8,
                "--set", "variant=modern", "--out", run)  # fmt: skip
    with pytest.raises(InterruptedRunError):
        train("lenet5", messy_digits, out=run, epochs=3, batch_size=8, model_kwargs=LENET,
              verbose=0, callbacks=[_interrupt_in_epoch(2)])  # fmt: skip
    assert len(history_rows(run / "history.csv")) == 1
    resumed = cnnzoo("train", *settings, "--resume")
    assert resumed.returncode == 0, resumed.stderr[-2000:]
    out = lines(resumed.stdout)
    assert f"Resuming the run in {run} at epoch 2 of 3 (epoch 1 is done)." in out
    assert out.index(f"Resuming the run in {run} at epoch 2 of 3 (epoch 1 is done).") < out.index(
        "Epoch 2/3"
    )
    assert "Epoch 1/3" not in out
    again = cnnzoo("train", *settings, "--resume")
    assert again.returncode == 0, again.stderr[-2000:]
    assert f"The run in {run} is finished (3 of 3 epochs); nothing to resume." in again.stdout
    assert "Epoch " not in again.stdout
    assert "validation_accuracy: " in again.stdout  # its metrics, as when it finished


def test_finetune_shows_a_summary_and_a_header_per_phase(trained, messy_digits, tmp_path):
    source, _ = trained
    result = cnnzoo(
        "finetune", "lenet5", "--weights", source / "model.keras", "--data", messy_digits,
        "--set", "variant=modern", "--batch-size", 8, "--out", tmp_path / "ft",
        "--phases", "epochs=1", "epochs=2,trainable_stages=all,learning_rate=1e-4",
    )  # fmt: skip
    assert result.returncode == 0, result.stderr[-2000:]
    out = lines(result.stdout)
    assert out[0].startswith("Fine-tuning lenet5 (") and "train 20 images of 2 classes" in out[0]
    headers = [line for line in out if line.startswith("Phase ")]
    assert len(headers) == 2, out
    first = re.fullmatch(
        r"Phase 1 of 2: the head trains on the frozen backbone \(([\d,]+) of ([\d,]+) "
        r"parameters\); adam at learning rate 0.001; up to 1 epoch \(epoch 1\)\.",
        headers[0],
    )
    second = re.fullmatch(
        r"Phase 2 of 2: the whole model trains \(([\d,]+) of ([\d,]+) parameters\); adam at "
        r"learning rate 0.0001; up to 2 epochs \(epochs 2-3\)\.",
        headers[1],
    )
    assert first and second, headers
    head, total = (int(group.replace(",", "")) for group in first.groups())
    assert head < int(second[1].replace(",", "")) <= total
    bars = [index for index, line in enumerate(out) if BAR.match(line)]
    assert out.index(headers[0]) < bars[0] < out.index(headers[1]) < bars[-1]  # each first


def test_a_resumed_finetune_run_says_which_phase_and_epoch(tmp_path, messy_digits, trained, capsys):
    source, _ = trained
    settings = {
        "weights": source / "model.keras", "out": tmp_path / "ft", "model_kwargs": LENET,
        "batch_size": 8, "phases": [{"epochs": 1}, {"epochs": 2, "trainable_stages": None}],
    }  # fmt: skip
    with pytest.raises(InterruptedRunError):  # phase 1 done, phase 2's first epoch not backed up
        finetune("lenet5", messy_digits, verbose=0, callbacks=[_interrupt_in_epoch(2)], **settings)
    capsys.readouterr()
    result = finetune("lenet5", messy_digits, resume=True, verbose=2, **settings)
    out = capsys.readouterr().out
    assert (
        f"Resuming the run in {tmp_path / 'ft'} in phase 2 of 2 at epoch 2 (phase 1 done, "
        "1 epoch done)." in out
    )
    assert "Phase 1 of 2" not in out and "Phase 2 of 2: the whole model trains" in out
    assert result.history["phase"] == [1, 2, 2]
    finetune("lenet5", messy_digits, resume=True, verbose=2, **settings)
    assert f"The run in {tmp_path / 'ft'} is finished (3 epochs)" in capsys.readouterr().out
