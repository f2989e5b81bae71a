"""Honest evaluation (issue 21): calibration error against values worked out by hand,
temperature scaling that recovers a known temperature, test-time augmentation that agrees
with what the views mean, and ``cnnzoo evaluate`` / ``cnnzoo predict --calibrated`` on one
real run folder."""

import contextlib
import io
import json
import shutil

import keras
import numpy as np
import pytest
from PIL import Image

from cnnzoo.cli import main
from cnnzoo.cli.runs import predict_images
from cnnzoo.evaluation import (
    apply_temperature,
    expected_calibration_error,
    fit_temperature,
    negative_log_likelihood,
    reliability_bins,
    test_time_augmentation,
    top_k_accuracy,
    tta_views,
)


def calibrated_predictions(n: int, classes: int, *, shift: float = 0.0, seed: int = 0):
    """Probabilities whose confidence ``c`` (uniform over [1/classes, 1]) is right with
    probability ``c - shift``: perfectly calibrated for ``shift=0``."""
    rng = np.random.default_rng(seed)
    confidence = rng.uniform(1 / classes, 1, n)
    predicted = rng.integers(0, classes, n)
    probabilities = np.repeat(((1 - confidence) / (classes - 1))[:, None], classes, axis=1)
    probabilities[np.arange(n), predicted] = confidence
    other = (predicted + rng.integers(1, classes, n)) % classes  # any class but the predicted
    labels = np.where(rng.random(n) < confidence - shift, predicted, other)
    return probabilities, labels


def test_ece_of_calibrated_predictions_is_near_zero_and_of_overconfident_ones_the_shift():
    probabilities, labels = calibrated_predictions(200_000, 4)
    assert expected_calibration_error(probabilities, labels) < 0.005
    # Right 0.2 less often than they say, at every confidence: ECE 0.2.
    probabilities, labels = calibrated_predictions(200_000, 4, shift=0.2)
    assert expected_calibration_error(probabilities, labels) == pytest.approx(0.2, abs=0.01)


def test_ece_matches_a_value_worked_out_by_hand():
    # 100 predictions at 0.95 of which 60 are right, 100 at 0.75 of which 50 are right:
    # ECE = 0.5 * |0.60 - 0.95| + 0.5 * |0.50 - 0.75| = 0.175 + 0.125 = 0.30.
    confidence = np.repeat([0.95, 0.75], 100)
    probabilities = np.stack([confidence, 1 - confidence], axis=1)
    labels = np.concatenate([np.repeat([0, 1], [60, 40]), np.repeat([0, 1], [50, 50])])
    assert expected_calibration_error(probabilities, labels) == pytest.approx(0.30)
    table = reliability_bins(probabilities, labels)  # 0.95 in (14/15, 1], 0.75 in (11/15, 12/15]
    assert np.flatnonzero(table["count"]).tolist() == [11, 14]
    assert table["accuracy"][[11, 14]] == pytest.approx([0.5, 0.6])
    # One bin for all: |0.55 - 0.85| = 0.30 again; 2 bins split them: 0.30 too.
    assert expected_calibration_error(probabilities, labels, bins=1) == pytest.approx(0.30)


@pytest.mark.parametrize("temperature", [0.5, 2.5])
def test_fit_temperature_recovers_the_temperature_of_the_model_that_drew_the_labels(temperature):
    rng = np.random.default_rng(1)
    logits = rng.normal(0, 2, (20_000, 10))
    truth = apply_temperature(logits, temperature)  # the model the labels come from
    labels = (truth.cumsum(axis=1) < rng.random(len(logits))[:, None]).sum(axis=1)
    fitted = fit_temperature(logits, labels)
    assert fitted == pytest.approx(temperature, rel=0.05)  # stated tolerance: 5%
    # The same from the softmax of the logits (logs recovered), and a better likelihood.
    probabilities = apply_temperature(logits, 1.0)
    assert fit_temperature(probabilities, labels) == pytest.approx(fitted, rel=1e-6)
    after = negative_log_likelihood(apply_temperature(probabilities, fitted), labels)
    assert after < negative_log_likelihood(probabilities, labels) - 0.01


def test_top_k_accuracy_counts_the_true_class_among_the_best_k():
    scores = np.array([[0.1, 0.2, 0.3, 0.4], [0.4, 0.3, 0.2, 0.1], [0.25, 0.25, 0.25, 0.25]])
    labels = [0, 0, 3]
    assert [top_k_accuracy(scores, labels, k) for k in (1, 2, 3, 4)] == pytest.approx(
        [2 / 3, 2 / 3, 2 / 3, 1.0]
    )  # a tie keeps the class in (row 3); row 1's class ranks 4th


@pytest.mark.parametrize(
    ("call", "message"),
    [
        (lambda: top_k_accuracy([[0.6, 0.4]], [0], k=3), "k must be at most the number of "
         "classes (2); received k=3"),
        (lambda: expected_calibration_error([[0.6, 0.4]], [0], bins=0), "received bins=0"),
        (lambda: expected_calibration_error([[0.6, 0.4]], [2]), "labels must be class indices "
         "in [0, 2)"),
        (lambda: fit_temperature([[0.6, 0.4]], [0], bounds=(2, 1)), "received (2, 1)"),
        (lambda: apply_temperature([[0.6, 0.4]], 0), "received temperature=0"),
        (lambda: tta_views(np.zeros((1, 4, 4, 1)), "mirror"), "received mode='mirror'"),
        (lambda: tta_views(np.zeros((4, 4, 1)), "flip"), "received shape (4, 4, 1)"),
        (lambda: tta_views(np.zeros((1, 4, 4, 1)), "crops", crop=1.5), "received crop=1.5"),
    ],
)  # fmt: skip
def test_bad_arguments_name_the_argument_and_the_value(call, message):
    with pytest.raises(ValueError) as raised:
        call()
    assert message in str(raised.value)


def _small_model(symmetric: bool) -> keras.Model:
    inputs = keras.Input((12, 12, 1))
    x = inputs + keras.ops.flip(inputs, axis=2) if symmetric else inputs  # mirror-blind
    x = keras.layers.Conv2D(4, 3, activation="relu")(x)
    x = keras.layers.Flatten()(x)
    return keras.Model(inputs, keras.layers.Dense(3, activation="softmax")(x))


def test_flip_tta_of_a_mirror_invariant_model_is_the_plain_prediction():
    batch = np.random.default_rng(0).uniform(0, 1, (5, 12, 12, 1)).astype("float32")
    invariant = _small_model(symmetric=True)
    plain = invariant.predict_on_batch(batch)
    assert np.allclose(test_time_augmentation(invariant, batch, "flip"), plain, atol=1e-6)
    # A model that sees the mirror differently: the mean of the two, not the plain answer.
    model = _small_model(symmetric=False)
    plain, mirrored = model.predict_on_batch(batch), model.predict_on_batch(batch[:, :, ::-1])
    averaged = test_time_augmentation(model, batch, "flip")
    assert np.allclose(averaged, (plain + mirrored) / 2, atol=1e-6)
    assert np.abs(averaged - plain).max() > 1e-3


def test_crops_are_the_centre_and_the_four_corners_resized_back():
    framed = np.zeros((1, 32, 32, 1), "float32")  # a bright frame 2 pixels wide
    framed[:, :2], framed[:, -2:], framed[:, :, :2], framed[:, :, -2:] = 1, 1, 1, 1
    centre, top_left, top_right, bottom_left, bottom_right = tta_views(framed, "crops")
    assert centre.shape == framed.shape and centre.max() == 0  # 28 of 32: the frame is cut
    # Each corner crop keeps the two sides of its corner: the opposite quarter is dark.
    opposite = [top_left[0, 16:, 16:], top_right[0, 16:, :16], bottom_left[0, :16, 16:],
                bottom_right[0, :16, :16]]  # fmt: skip
    assert all(quarter.max() < 0.01 for quarter in opposite)
    assert top_left[0, 0, 0, 0] == top_right[0, 0, -1, 0] == bottom_right[0, -1, -1, 0] == 1
    # A uniform image looks the same in every crop: the average is the plain answer.
    grey = np.full((2, 12, 12, 1), 0.3, "float32")
    model = _small_model(symmetric=False)
    assert np.allclose(test_time_augmentation(model, grey, "crops"),
                       model.predict_on_batch(grey), atol=1e-6)  # fmt: skip


# ----- the command line on one real run ------------------------------------------------------


def _cli(*args) -> tuple[int, str, str]:
    """``cnnzoo ARGS`` in this process: ``(status, stdout, stderr)``."""
    out, err = io.StringIO(), io.StringIO()
    with contextlib.redirect_stdout(out), contextlib.redirect_stderr(err):
        try:
            status = main([str(arg) for arg in args])
        except SystemExit as exit_:
            status = exit_.code
    return status, out.getvalue(), err.getvalue()


@pytest.fixture(scope="session")
def evaluated(tmp_path_factory):
    """One epoch of LeNet-5 on the bundled sample (10 classes, a test split), then
    ``cnnzoo evaluate RUN --tta flip crops``: ``(run, report text)``."""
    from cnnzoo.training import train

    run = tmp_path_factory.mktemp("evaluation") / "run"
    train("lenet5", "mnist-sample", epochs=1, batch_size=64, patience=None, out=run, verbose=0)
    status, out, err = _cli("evaluate", run, "--tta", "flip", "crops")
    assert status == 0, err[-2000:]
    return run, out


@pytest.mark.slow
def test_evaluate_reports_top_k_tta_f1_and_calibration(evaluated):
    run, out = evaluated
    lines = out.splitlines()
    assert lines[0].startswith("Accuracy on the test split of mnist-sample: ")
    assert lines[1].startswith("Top-5 accuracy: ")
    assert lines[2].startswith("Test-time augmentation flip: ") and "crops" in lines[3]
    assert lines[5].split() == ["class", "precision", "recall", "F1", "images"]
    assert "temperature fitted on the validation split of mnist-sample" in out
    assert any(line.startswith("T = ") for line in lines)
    report = json.loads((run / "evaluation.json").read_text())
    assert set(report) >= {"split", "source", "accuracy", "images", "classes", "top_k", "tta",
                           "calibration", "pictures"}  # fmt: skip
    assert report["split"] == "test" and report["images"] == 1000
    assert set(report["classes"]["7"]) == {"precision", "recall", "f1", "support"}
    assert report["top_k"]["k"] == 5 and report["top_k"]["accuracy"] >= report["accuracy"]
    assert set(report["tta"]) == {"flip", "crops"}
    assert f"{report['accuracy']:.4f}" in lines[0]
    calibration = report["calibration"]
    stored = json.loads((run / "calibration.json").read_text())
    assert calibration["temperature"] == stored["temperature"] and stored["images"] == 400
    assert stored["after"]["nll"] <= stored["before"]["nll"]  # fitted on those: never worse
    assert {"ece", "nll"} == set(calibration["before"]) == set(calibration["after"])
    for name in ("confusion.png", "reliability.png", "gallery.png"):
        with Image.open(run / name) as picture:
            picture.load()  # decodes
            assert picture.format == "PNG" and min(picture.size) > 200


@pytest.mark.slow
def test_predict_calibrated_divides_the_logits_by_the_stored_temperature(evaluated):
    run, _ = evaluated
    image = run / "digit.png"
    from cnnzoo.data import load_sample

    keras.utils.save_img(image, load_sample("mnist").test.images[3] * 255, scale=False)
    temperature = json.loads((run / "calibration.json").read_text())["temperature"]
    assert abs(temperature - 1) > 0.02, "a temperature of 1 would prove nothing"

    def probabilities(calibrated: bool) -> np.ndarray:
        ((_, top),) = predict_images(run, [image], top_k=10, calibrated=calibrated)
        ranked = dict(top)
        return np.array([ranked[str(digit)] for digit in range(10)])

    plain, calibrated = probabilities(False), probabilities(True)
    assert np.allclose(calibrated, apply_temperature(plain[None], temperature)[0], atol=1e-5)
    assert np.abs(calibrated - plain).max() > 1e-3
    status, out, _ = _cli("predict", run, image, "--calibrated", "--top-k", 1)
    best = int(plain.argmax())
    assert status == 0 and out.strip() == f"{image}: {best} {calibrated[best]:.3f}"


@pytest.mark.slow
def test_refused_cases_exit_2_in_one_line_and_leave_no_files(evaluated, tmp_path):
    run, _ = evaluated
    fresh = tmp_path / "fresh"  # the same run, never evaluated
    fresh.mkdir()
    for name in ("config.json", "class_indices.json", "model.keras"):
        shutil.copy(run / name, fresh / name)
    before = sorted(fresh.iterdir())
    out = tmp_path / "elsewhere"
    cases = [
        (("predict", fresh, run / "gallery.png", "--calibrated"),
         f"has no calibration yet (calibration.json): 'cnnzoo evaluate {fresh}' fits"),
        (("evaluate", fresh, "--top-k", 11, "--out", out),
         "--top-k must be from 1 to the run's 10"),
        (("evaluate", fresh, "--gallery", 0), "--gallery must be a positive number"),
        (("evaluate", fresh, "--tta", "mirror"), "invalid choice: 'mirror'"),
    ]  # fmt: skip
    for args, message in cases:
        status, _, err = _cli(*args)
        assert status == 2 and "Traceback" not in err, err[-2000:]
        last = err.strip().splitlines()[-1]
        assert last.startswith(f"cnnzoo {args[0]}: error: ") and message in last, last
        assert sorted(fresh.iterdir()) == before and not out.exists(), args
    with pytest.raises(ValueError, match="--calibrated needs a run folder"):
        next(predict_images("resnet18.tv_in1k", [run / "gallery.png"], calibrated=True))
