"""The digits judge: its classifier, its three scores, its cache and its input checks."""

from __future__ import annotations

import copy
import math
import tempfile

import numpy as np
import pytest
import scipy.linalg
import torch

from course_utils import judge
from course_utils.data import digits_split


@pytest.fixture(scope="module", autouse=True)
def private_cache(tmp_path_factory):
    """The judge's disk cache lives in this module's own folder, never in the real temporary folder."""
    with pytest.MonkeyPatch.context() as patch:
        patch.setattr(tempfile, "tempdir", str(tmp_path_factory.mktemp("judge-cache")))
        patch.setattr(judge, "_cache", {})
        yield


@pytest.fixture(scope="module")
def split():
    return digits_split(test_fraction=0.2, seed=0)


@pytest.fixture(scope="module")
def classifier():
    return judge.reference_classifier()


def test_classifier_reaches_its_bar(classifier):
    assert judge.test_accuracy() >= judge.MIN_TEST_ACCURACY


def test_real_digits_score_best_and_noise_far_worse(classifier, split):
    real = judge.score(split.X_train[:1000])
    noise = judge.score(torch.rand(1000, 64, generator=torch.Generator().manual_seed(0)))
    assert real.confidence > 0.9 and real.min_class_fraction > 0.05 and real.frechet < 2.0
    assert noise.confidence < 0.3
    assert noise.frechet > 50 * real.frechet
    # real test digits against themselves: distance zero (the reference set)
    assert judge.score(split.X_test).frechet == pytest.approx(0.0, abs=1e-6)


def test_blends_of_two_digits_get_an_unsure_score(classifier, split):
    a = split.X_train[:500]
    b = split.X_train[500:1000]
    different = split.y_train[:500] != split.y_train[500:1000]
    blends = (0.5 * a + 0.5 * b)[different]
    assert judge.score(blends).confidence < 0.75


def test_a_one_digit_generator_is_caught_by_coverage(classifier, split):
    only_threes = split.X_train[split.y_train == 3]
    scores = judge.score(only_threes)
    assert scores.confidence > 0.9  # each image is a fine 3 ...
    assert scores.min_class_fraction == 0.0  # ... but nine digits are missing
    assert scores.classes_below(0.03) == [0, 1, 2, 4, 5, 6, 7, 8, 9]
    assert scores.class_fractions[3] == pytest.approx(1.0, abs=0.02)
    assert scores.frechet > 20


def test_image_shape_is_accepted_and_gives_the_same_scores(classifier, split):
    flat = judge.score(split.X_train[:200])
    images = judge.score(split.X_train[:200].reshape(-1, 1, 8, 8))
    assert flat == images
    from_numpy = judge.score(split.X_train[:200].numpy())
    assert from_numpy.confidence == pytest.approx(flat.confidence)


@pytest.mark.parametrize(
    ("samples", "message"),
    [
        (torch.rand(20, 8, 8), r"add the channel dimension"),
        (torch.rand(20, 63), r"shape \(N, 64\) or \(N, 1, 8, 8\)"),
        (torch.rand(64), r"A single image"),
        (torch.rand(20, 64) * 2 - 1, r"\(x \+ 1\) / 2"),
        (torch.rand(20, 64) * 16, r"divide by 16"),
        (torch.rand(20, 64) * 3 - 2, r"clamp"),
        (torch.full((20, 64), float("nan")), r"NaN"),
        (torch.randint(0, 2, (20, 64)), r"dtype"),
        (torch.rand(3, 64), r"at least 10"),
        ([[0.0] * 64] * 20, r"torch.Tensor"),
    ],
)
def test_bad_input_gives_a_clear_error(samples, message):
    with pytest.raises(judge.JudgeInputError, match=message):
        judge.as_flat_digits(samples)


def _frechet_with_scipy(a: np.ndarray, b: np.ndarray) -> float:
    cov_a, cov_b = np.cov(a, rowvar=False), np.cov(b, rowvar=False)
    root = scipy.linalg.sqrtm(cov_a @ cov_b)
    root = root.real if np.iscomplexobj(root) else root
    gap = a.mean(0) - b.mean(0)
    return float(gap @ gap + np.trace(cov_a + cov_b - 2 * root))


def test_frechet_distance_matches_scipy_sqrtm():
    rng = np.random.default_rng(0)
    a = rng.normal(size=(500, 6))
    b = rng.normal(size=(400, 6)) @ rng.normal(size=(6, 6)) + 1.5
    assert judge.frechet_distance(a, b) == pytest.approx(_frechet_with_scipy(a, b), rel=1e-8)
    assert judge.frechet_distance(a, b) == pytest.approx(judge.frechet_distance(b, a), rel=1e-8)


def test_frechet_distance_simple_cases():
    rng = np.random.default_rng(1)
    a = rng.normal(size=(300, 4))
    assert judge.frechet_distance(a, a) == pytest.approx(0.0, abs=1e-8)
    shift = np.array([3.0, 0.0, 4.0, 0.0])
    assert judge.frechet_distance(a, a + shift) == pytest.approx(25.0, rel=1e-8)
    # rank-deficient covariances (more dimensions than samples) stay finite and non-negative
    tiny = rng.normal(size=(5, 20))
    assert math.isfinite(judge.frechet_distance(tiny, rng.normal(size=(6, 20))))
    with pytest.raises(ValueError, match="same D"):
        judge.frechet_distance(a, a[:, :3])
    with pytest.raises(ValueError, match="at least 2 rows"):
        judge.frechet_distance(a[:1], a)


def test_training_is_deterministic_and_leaves_global_state_alone():
    recipe = copy.deepcopy(judge.RECIPE)
    recipe["epochs"] = 1
    torch.manual_seed(123)
    threads = torch.get_num_threads()
    before = torch.get_rng_state()
    first = judge.train_reference_classifier(recipe)
    second = judge.train_reference_classifier(recipe)
    assert torch.equal(torch.get_rng_state(), before)
    assert torch.get_num_threads() == threads
    for p, q in zip(first.state_dict().values(), second.state_dict().values(), strict=True):
        assert torch.equal(p, q)


def test_an_unreliable_classifier_is_refused(monkeypatch, tmp_path):
    monkeypatch.setattr(tempfile, "tempdir", str(tmp_path))
    recipe = copy.deepcopy(judge.RECIPE)
    recipe["epochs"] = 1
    recipe["lr"] = 1e-5  # far too little training
    with pytest.raises(judge.JudgeNotReliable, match="test accuracy"):
        judge.reference_classifier(recipe)


def test_disk_cache_is_written_loaded_and_replaced_when_broken(monkeypatch, tmp_path, classifier):
    monkeypatch.setattr(tempfile, "tempdir", str(tmp_path))
    monkeypatch.setattr(judge, "_cache", {})
    path = judge.cache_path()
    assert path.parent == tmp_path and path.name.startswith("course_utils_judge_") and path.suffix == ".pt"
    calls = []

    def fake_training(recipe=judge.RECIPE):
        calls.append(1)
        return classifier

    monkeypatch.setattr(judge, "train_reference_classifier", fake_training)
    judge.reference_classifier()
    assert calls == [1] and path.is_file()

    monkeypatch.setattr(judge, "_cache", {})  # a new session: loads from disk, no training
    loaded = judge.reference_classifier()
    assert calls == [1]
    for p, q in zip(loaded.state_dict().values(), classifier.state_dict().values(), strict=True):
        assert torch.equal(p, q)

    path.write_bytes(b"not a checkpoint")
    monkeypatch.setattr(judge, "_cache", {})
    judge.reference_classifier()
    assert calls == [1, 1]
    assert torch.load(path, weights_only=True)["pixel_std"].shape == (64,)


def test_recipe_hash_changes_with_the_recipe():
    other = copy.deepcopy(judge.RECIPE)
    other["epochs"] += 1
    assert judge.recipe_hash(other) != judge.recipe_hash()
    assert judge.recipe_hash() == judge.recipe_hash(copy.deepcopy(judge.RECIPE))


def test_reports_and_figure(classifier, split):
    scores = {"real": judge.score(split.X_train[:300]), "noise": judge.score(torch.rand(300, 64))}
    text = scores["real"].summary("real")
    assert "mean confidence" in text and "Fréchet distance" in text and "rarest" in text
    table = judge.comparison_table(scores)
    assert table.splitlines()[1].startswith("real") and len(table.splitlines()) == 3
    fig = judge.class_histogram_figure(scores)
    assert len(fig.axes) == 1 and len(fig.axes[0].patches) == 20
    with pytest.raises(ValueError):
        judge.comparison_table({})
    probabilities = judge.predict_proba(split.X_train[:5])
    assert probabilities.shape == (5, 10) and torch.allclose(probabilities.sum(1), torch.ones(5))
    assert judge.features(split.X_train[:5]).shape == (5, 64)


def test_unseen_digits_are_training_digits_the_judge_never_saw():
    from course_utils import data

    generators_split = data.digits_split(test_fraction=0.2, seed=0)
    unseen, labels = judge.unseen_digits()
    judge_train, _, judge_test, _ = judge._training_data(judge.RECIPE)
    assert len(unseen) + len(judge_train) == len(generators_split.X_train)
    assert torch.equal(judge_test, generators_split.X_test)
    assert torch.cdist(unseen, judge_train).min() > 0 and torch.bincount(labels).min() >= 30


def test_memorisation_check_tells_copies_from_new_digits():
    from course_utils import data

    split = data.digits_split(test_fraction=0.2, seed=0)
    copies = judge.memorisation_check(split.X_train[:300], split.X_train, split.X_test)
    fresh = judge.memorisation_check(split.X_test[:150], split.X_train, split.X_test[150:])
    assert copies.samples_to_train == 0 and copies.ratio == 0
    assert 0.8 < fresh.ratio < 1.2 and "ratio" in fresh.summary()


def test_memorisation_check_refuses_bad_images():
    from course_utils import data

    split = data.digits_split(test_fraction=0.2, seed=0)
    with pytest.raises(judge.JudgeInputError):
        judge.memorisation_check(split.X_test[:20] * 16, split.X_train, split.X_test)
