"""GAN helpers: losses, models, the training loop, figures and the ring widget."""

from __future__ import annotations

import math
import tempfile
from dataclasses import replace

import pytest
import torch
import torch.nn.functional as F

from course_utils.data import rings
from course_utils.topics import gans

DATA, _ = rings.ring_of_gaussians(2000, seed=0)
CENTRES = rings.ring_centres()
TINY = replace(gans.GANConfig(), g_hidden=(16,), d_hidden=(16,), steps=40, batch_size=32)


def test_losses_match_their_formulas():
    real = torch.randn(50, 1, generator=torch.Generator().manual_seed(0))
    fake = torch.randn(50, 1, generator=torch.Generator().manual_seed(1))
    expected_d = -F.logsigmoid(real).mean() - F.logsigmoid(-fake).mean()
    assert torch.allclose(gans.discriminator_loss(real, fake), expected_d, atol=1e-6)
    assert torch.allclose(gans.generator_loss(fake), -F.logsigmoid(fake).mean(), atol=1e-6)
    assert torch.allclose(gans.saturating_generator_loss(fake), torch.log1p(-torch.sigmoid(fake)).mean(), atol=1e-6)
    half = torch.zeros(4, 1)
    assert gans.discriminator_loss(half, half).item() == pytest.approx(2 * math.log(2))
    # with a soft real label, D = 0.5 still gives ln 2 per term
    assert gans.discriminator_loss(half, half, real_label=0.9).item() == pytest.approx(2 * math.log(2))


def test_models_have_the_right_shapes():
    generator = gans.make_generator(3, (8, 8), 5, tanh=True)
    out = generator(torch.randn(7, 3))
    assert out.shape == (7, 5) and out.abs().max() < 1
    assert gans.make_discriminator(5, (8,))(out).shape == (7, 1)
    with_std = gans.make_discriminator(5, (8,), minibatch_std=True)
    assert isinstance(with_std[0], gans.MinibatchStd) and with_std(out).shape == (7, 1)
    x = torch.randn(6, 4)
    assert torch.allclose(gans.MinibatchStd()(x)[:, -1], x.std(0, unbiased=False).mean().expand(6))
    with pytest.raises(ValueError, match="'relu', 'leaky_relu'"):
        gans.make_generator(2, (8,), 2, activation="tanh")


def test_config_validation():
    with pytest.raises(ValueError, match="steps"):
        gans.GANConfig(steps=-1)
    with pytest.raises(ValueError, match="learning rates"):
        gans.GANConfig(lr_g=0.0)
    with pytest.raises(ValueError, match="ema"):
        gans.GANConfig(ema=1.0)


def test_training_is_deterministic_records_history_and_keeps_global_rng():
    torch.manual_seed(5)
    state = torch.get_rng_state()
    first = gans.train_gan(DATA, TINY, seed=2, snapshot_steps=[0, 20, 40], n_snapshot=50)
    second = gans.train_gan(DATA, TINY, seed=2, snapshot_steps=[0, 20, 40], n_snapshot=50)
    assert torch.equal(torch.get_rng_state(), state)
    assert sorted(first.snapshots) == [0, 20, 40] and first.snapshots[40].shape == (50, 2)
    for step in (0, 20, 40):
        assert torch.equal(first.snapshots[step], second.snapshots[step])
    assert not torch.equal(first.snapshots[0], first.snapshots[40])
    assert {k: len(v) for k, v in first.history.items()} == {"d_loss": 40, "g_loss": 40, "d_real": 40, "d_fake": 40}
    assert all(0 < v < 1 for v in first.history["d_real"])
    assert torch.equal(first.sample(10, seed=1), second.sample(10, seed=1))
    # the untrained generator is exactly the starting point
    assert torch.equal(gans.untrained_generator(TINY, 2, seed=2)(first.fixed_z).detach(), first.snapshots[0])


def test_ema_generator_is_used_for_samples():
    run = gans.train_gan(DATA, replace(TINY, ema=0.9), seed=0, snapshot_steps=[40], n_snapshot=20)
    assert run.averaged_generator is not None and run.sampler is run.averaged_generator.module
    assert torch.equal(run.snapshots[40], run.generate(run.fixed_z))
    with torch.no_grad():
        assert not torch.equal(run.generator(run.fixed_z), run.generate(run.fixed_z))


def test_training_bad_input():
    with pytest.raises(ValueError, match=r"\(N, D\)"):
        gans.train_gan(torch.zeros(10), TINY)
    with pytest.raises(ValueError, match="snapshot steps"):
        gans.train_gan(DATA, TINY, snapshot_steps=[41])


def test_interpolation_and_helpers():
    z0, z1 = torch.tensor([0.0, 2.0]), torch.tensor([4.0, 0.0])
    path = gans.interpolate_latents(z0, z1, 5)
    assert path.shape == (5, 2) and torch.equal(path[0], z0) and torch.equal(path[-1], z1)
    assert torch.allclose(path[2], torch.tensor([2.0, 1.0]))
    with pytest.raises(ValueError, match="at least 2"):
        gans.interpolate_latents(z0, z1, 1)
    with pytest.raises(ValueError, match="same length"):
        gans.interpolate_latents(z0, torch.zeros(3), 4)
    pixels = gans.to_pixels(torch.tensor([-1.0, 0.0, 1.0, 1.5]))
    assert torch.equal(pixels, torch.tensor([0.0, 0.5, 1.0, 1.0]))
    assert gans.smooth([1, 2, 3, 4], 2).tolist() == [1.5, 2.5, 3.5]
    assert gans.smooth([1, 2], 5).tolist() == [1.0, 2.0]


def test_figures():
    run = gans.train_gan(DATA, TINY, seed=0, snapshot_steps=[0, 40], n_snapshot=100)
    fig = gans.ring_snapshots_figure(run, DATA, CENTRES, 0.05, title="t")
    assert len(fig.axes) == 2 and "step 40" in fig.axes[1].get_title()
    with pytest.raises(ValueError, match="no snapshots"):
        gans.ring_snapshots_figure(run, DATA, CENTRES, 0.05, steps=[10])
    curves = gans.training_curves_figure(run.history, window=5, real_label=0.9)
    assert len(curves.axes) == 2


def test_ring_explorer_retrains_on_change_and_reuses_runs(monkeypatch):
    base = replace(TINY, steps=500)
    initial = gans.train_gan(DATA, base, seed=0, snapshot_steps=[125, 250, 375, 500], n_snapshot=100)
    calls = []
    real_train = gans.train_gan

    def counting(*args, **kwargs):
        calls.append(args[1])
        return real_train(*args, **kwargs)

    monkeypatch.setattr(gans, "train_gan", counting)
    explorer = gans.RingGANExplorer(DATA, CENTRES, 0.05, base, seed=0, initial_run=initial)
    assert calls == [] and explorer.redraws == 0  # the initial run is shown without training
    assert "after 500 steps" in explorer.status.value
    explorer.lr_g.value = 1e-2
    assert len(calls) == 1 and calls[0].lr_g == pytest.approx(1e-2) and explorer.redraws == 1
    assert "lr G 1.0e-02" in explorer.fig._suptitle.get_text()
    explorer.lr_g.value = base.lr_g  # back to a setting it has seen: no new training
    assert len(calls) == 1 and explorer.redraws == 2
    assert explorer.config() == base


def test_sampler_cache(monkeypatch, tmp_path):
    monkeypatch.setattr(tempfile, "tempdir", str(tmp_path))
    run = gans.train_gan(DATA, TINY, seed=3)
    path = gans.save_sampler(run, DATA, seed=3)
    assert path == gans.sampler_cache_path(DATA, TINY, seed=3) and path.parent == tmp_path and path.is_file()
    assert gans.sampler_cache_path(DATA, replace(TINY, steps=41), seed=3) != path
    assert gans.sampler_cache_path(DATA[:-1], TINY, seed=3) != path
    assert gans.sampler_cache_path(DATA, TINY, seed=4) != path

    def no_training(*args, **kwargs):
        raise AssertionError("should have loaded the cached sampler")

    monkeypatch.setattr(gans, "train_gan", no_training)
    loaded = gans.trained_sampler(DATA, TINY, seed=3)
    assert torch.equal(gans.sample(loaded, 20, TINY.latent_dim, seed=1), run.sample(20, seed=1))

    monkeypatch.undo()
    monkeypatch.setattr(tempfile, "tempdir", str(tmp_path))
    path.write_bytes(b"broken")
    retrained = gans.trained_sampler(DATA, TINY, seed=3)  # trains again, same result, file repaired
    assert torch.equal(gans.sample(retrained, 20, TINY.latent_dim, seed=1), run.sample(20, seed=1))
    assert torch.load(path, weights_only=True).keys() == run.sampler.state_dict().keys()


def test_equilibrium_without_and_with_label_smoothing():
    plain = gans.equilibrium(1.0)
    assert plain.d_output == 0.5
    assert plain.d_loss == pytest.approx(2 * math.log(2))
    assert plain.g_loss == pytest.approx(math.log(2))
    smooth = gans.equilibrium(0.9)
    assert smooth.d_output == pytest.approx(0.45)
    assert smooth.d_loss == pytest.approx(1.3763, abs=1e-4)
    assert smooth.g_loss == pytest.approx(0.7985, abs=1e-4)
    # d* = y/2 minimises D's loss when fakes and reals look the same, and matches discriminator_loss there
    d = torch.linspace(0.01, 0.99, 981)
    logits = torch.logit(d)[:, None]
    losses = torch.stack([gans.discriminator_loss(ell, ell, real_label=0.9) for ell in logits])
    assert d[losses.argmin()].item() == pytest.approx(0.45, abs=1e-3)
    assert losses.min().item() == pytest.approx(smooth.d_loss, abs=1e-5)


@pytest.mark.parametrize("label", [0.0, 1.2, -0.1])
def test_equilibrium_rejects_labels_outside_0_1(label):
    with pytest.raises(ValueError, match="real_label"):
        gans.equilibrium(label)


# --------------------------------------------------------------------------- conditional GAN

LABELS = torch.arange(len(DATA)) % 4
COND = replace(TINY, n_classes=4)


def test_conditional_models_take_one_hot_labels():
    generator, discriminator = gans.build_models(COND, 2)
    assert isinstance(generator, gans.Conditional) and isinstance(discriminator, gans.Conditional)
    z, labels = torch.randn(5, COND.latent_dim), torch.tensor([0, 1, 2, 3, 0])
    assert generator(z, labels).shape == (5, 2)
    assert discriminator(torch.randn(5, 2), labels).shape == (5, 1)
    # the label is the one-hot tail of the input: same z, different label, different output
    inner = generator.net
    assert torch.allclose(generator(z, labels), inner(torch.cat([z, F.one_hot(labels, 4).float()], 1)))
    assert not torch.equal(generator(z, labels), generator(z, (labels + 1) % 4))
    with pytest.raises(ValueError, match="one class label per row"):
        generator(z, labels[:3])
    with pytest.raises(ValueError, match=r"lie in \[0, 4\)"):
        generator(z, torch.tensor([0, 1, 2, 3, 4]))
    with pytest.raises(ValueError, match="int64"):
        generator(z, labels.float())
    with pytest.raises(ValueError, match="at least 2 classes"):
        gans.Conditional(inner, 1)
    with pytest.raises(ValueError, match="n_classes"):
        gans.GANConfig(n_classes=1)


def test_conditional_training_is_deterministic_and_needs_labels():
    first = gans.train_gan(DATA, COND, seed=1, labels=LABELS, snapshot_steps=[0, 40], n_snapshot=8)
    second = gans.train_gan(DATA, COND, seed=1, labels=LABELS, snapshot_steps=[0, 40], n_snapshot=8)
    assert first.fixed_labels.tolist() == [0, 1, 2, 3, 0, 1, 2, 3]
    assert torch.equal(first.snapshots[40], second.snapshots[40])
    asked = torch.tensor([3, 2, 1, 0, 3, 2])
    assert torch.equal(first.sample(6, seed=2, labels=asked), second.sample(6, seed=2, labels=asked))
    assert torch.equal(gans.untrained_generator(COND, 2, seed=1)(first.fixed_z, first.fixed_labels).detach(),
                       first.snapshots[0])
    with pytest.raises(ValueError, match="conditional generator: pass labels"):
        first.sample(6, seed=2)
    with pytest.raises(ValueError, match="not conditional"):
        gans.sample(gans.untrained_generator(TINY, 2), 6, TINY.latent_dim, labels=asked)
    with pytest.raises(ValueError, match="pass labels exactly when"):
        gans.train_gan(DATA, COND)
    with pytest.raises(ValueError, match="pass labels exactly when"):
        gans.train_gan(DATA, TINY, labels=LABELS)
    with pytest.raises(ValueError, match="one entry per row"):
        gans.train_gan(DATA, COND, labels=LABELS[:-1])


def test_conditional_sampler_cache(monkeypatch, tmp_path):
    monkeypatch.setattr(tempfile, "tempdir", str(tmp_path))
    run = gans.train_gan(DATA, COND, seed=0, labels=LABELS)
    path = gans.save_sampler(run, DATA, seed=0, labels=LABELS)
    assert path == gans.sampler_cache_path(DATA, COND, seed=0, labels=LABELS)
    assert gans.sampler_cache_path(DATA, COND, seed=0, labels=(LABELS + 1) % 4) != path
    monkeypatch.setattr(gans, "train_gan", lambda *a, **k: (_ for _ in ()).throw(AssertionError("no training")))
    loaded = gans.trained_sampler(DATA, COND, seed=0, labels=LABELS)
    asked = torch.arange(10) % 4
    assert torch.equal(gans.sample(loaded, 10, COND.latent_dim, seed=1, labels=asked), run.sample(10, seed=1, labels=asked))


# --------------------------------------------------------------------------- judging helpers


def _digits():
    from course_utils.data import digits_split

    split = digits_split(test_fraction=0.2, seed=0)
    return split.X_train, split.y_train


def test_score_over_seeds_and_spread():
    X, _ = _digits()
    result = gans.score_over_seeds(lambda s: X[s * 50 : s * 50 + 200], [0, 1, 2])
    frechets = [s.frechet for s in result.scores]
    assert result.n_samples == 200 and len(result.scores) == 3
    assert result.frechet.mean == pytest.approx(sum(frechets) / 3)
    assert result.frechet.worst == max(frechets) and result.frechet.best == min(frechets)
    assert result.confidence.worst == min(s.confidence for s in result.scores)
    assert f"{result.frechet:.3f}" == f"{result.frechet.mean:.3f} ± {result.frechet.std:.3f}"
    assert str(result.frechet) == f"{result.frechet.mean:.2f} ± {result.frechet.std:.2f}"
    with pytest.raises(ValueError, match="same number of samples"):
        gans.score_over_seeds(lambda s: X[: 100 + s], [0, 1])
    with pytest.raises(ValueError, match="at least one seed"):
        gans.score_over_seeds(lambda s: X, [])


def test_per_class_baseline_and_class_accuracy():
    from course_utils.topics import autoencoders

    X, y = _digits()
    pca = autoencoders.pca_fit(X, 16)
    requested = torch.arange(200) % 10
    images = gans.per_class_gaussian_in_latent(pca, X, y, requested, seed=0)
    assert images.shape == (200, 64) and images.min() >= 0 and images.max() <= 1
    assert torch.equal(images, gans.per_class_gaussian_in_latent(pca, X, y, requested, seed=0))
    # one Gaussian per class: the judge mostly reads the requested class; real digits with their labels score higher
    assert gans.class_accuracy(images, requested) > 0.8
    assert gans.class_accuracy(X[:200], y[:200]) > 0.95
    assert gans.class_accuracy(X[:200], (y[:200] + 1) % 10) < 0.05
    with pytest.raises(ValueError, match="one requested class per sample"):
        gans.class_accuracy(X[:10], y[:9])
    with pytest.raises(ValueError, match="no training images"):
        gans.per_class_gaussian_in_latent(pca, X[y < 5], y[y < 5], requested, seed=0)
    with pytest.raises(ValueError, match="one label per image"):
        gans.per_class_gaussian_in_latent(pca, X, y[:-1], requested)


def test_nearest_distance_figure():
    X, _ = _digits()
    fig = gans.nearest_distance_figure({"copies": X[:50], "noise": torch.rand(50, 64)}, X)
    labels = [t.get_text() for t in fig.axes[0].get_legend().get_texts()]
    assert labels[0] == "copies (median 0.00)" and labels[1].startswith("noise")
    with pytest.raises(ValueError, match="at least one"):
        gans.nearest_distance_figure({}, X)
