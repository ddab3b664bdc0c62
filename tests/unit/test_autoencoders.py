"""Helpers of notebook 18: PCA, autoencoders, ConvTranspose2d sizes, ROC/AUC, the VAE and the widget."""

import math

import numpy as np
import pytest
import torch
from hypothesis import given, settings
from hypothesis import strategies as st
from sklearn.decomposition import PCA as SklearnPCA
from sklearn.metrics import roc_auc_score
from torch import nn

from course_utils.topics import autoencoders as ae


@pytest.fixture(scope="module")
def digits():
    from course_utils import data

    return data.digits_split(test_fraction=0.2, val_fraction=0.2, seed=0)


# --------------------------------------------------------------------------- PCA


def test_pca_matches_sklearn(digits):
    pca = ae.pca_fit(digits.X_train, 5)
    sk = SklearnPCA(n_components=5, svd_solver="full").fit(digits.X_train.double().numpy())
    X = digits.X_test
    ours = pca.reconstruct(X)
    theirs = torch.from_numpy(sk.inverse_transform(sk.transform(X.double().numpy()))).float()
    assert torch.allclose(ours, theirs, atol=1e-4)
    assert torch.allclose(pca.explained_variance, torch.from_numpy(sk.explained_variance_).float(), atol=1e-4)
    assert torch.allclose(pca.components @ pca.components.T, torch.eye(5), atol=1e-5)
    assert pca.k == 5


def test_pca_error_is_eckart_young(digits):
    X = digits.X_train
    pca = ae.pca_fit(X, 3)
    s = torch.linalg.svdvals(X - X.mean(0))
    assert math.isclose(((X - pca.reconstruct(X)) ** 2).sum().item(), (s[3:] ** 2).sum().item(), rel_tol=1e-4)


@pytest.mark.parametrize(("k", "match"), [(0, "positive int"), (2.0, "positive int"), (65, "cannot exceed")])
def test_pca_bad_k(digits, k, match):
    with pytest.raises(ValueError, match=match):
        ae.pca_fit(digits.X_train, k)


def test_pca_bad_data():
    with pytest.raises(ValueError, match="2-D float tensor"):
        ae.pca_fit(torch.ones(5, dtype=torch.int64).view(5, 1), 1)


# --------------------------------------------------------------------------- ConvTranspose2d


@settings(max_examples=60, deadline=None)
@given(size=st.integers(1, 6), kernel=st.integers(1, 5), stride=st.integers(1, 3), padding=st.integers(0, 2),
       out_pad=st.integers(0, 2), dilation=st.integers(1, 2))
def test_conv_transpose_formula_matches_pytorch(size, kernel, stride, padding, out_pad, dilation):
    if out_pad >= max(stride, dilation):
        with pytest.raises(ValueError, match="output_padding must be smaller"):
            ae.conv_transpose_output_size(size, kernel, stride, padding, out_pad, dilation)
        return
    expected = (size - 1) * stride - 2 * padding + dilation * (kernel - 1) + out_pad + 1
    if expected < 1:
        with pytest.raises(ValueError, match="reduce the padding"):
            ae.conv_transpose_output_size(size, kernel, stride, padding, out_pad, dilation)
        return
    layer = nn.ConvTranspose2d(1, 1, kernel, stride=stride, padding=padding, output_padding=out_pad, dilation=dilation)
    assert layer(torch.zeros(1, 1, size, size)).shape[-1] == ae.conv_transpose_output_size(
        size, kernel, stride, padding, out_pad, dilation)


@pytest.mark.parametrize(("args", "match"), [((0, 3), "size must be a positive int"),
                                             ((4, 3, 2, -1), "padding must be a non-negative int"),
                                             ((4, 3, 2, 1, -1), "output_padding must be a non-negative")])
def test_conv_transpose_bad_input(args, match):
    with pytest.raises(ValueError, match=match):
        ae.conv_transpose_output_size(*args)


# --------------------------------------------------------------------------- autoencoders


def test_models_shapes():
    x = torch.rand(3, 64)
    assert ae.MLPAutoencoder(4)(x).shape == (3, 64)
    assert ae.MLPAutoencoder(4, linear=True)(x).shape == (3, 64)
    conv = ae.ConvAutoencoder(4)
    assert conv(x).shape == (3, 64)
    assert conv(x.view(3, 1, 8, 8)).shape == (3, 1, 8, 8)
    out = ae.MLPAutoencoder(4)(x)
    assert out.min() >= 0 and out.max() <= 1


def test_bad_model_sizes():
    with pytest.raises(ValueError, match="latent must be a positive int"):
        ae.MLPAutoencoder(0)
    with pytest.raises(ValueError, match="latent must be a positive int"):
        ae.VAE(latent=-1)
    with pytest.raises(ValueError, match="channels must be a positive int"):
        ae.ConvAutoencoder(4, channels=0)


def test_training_reduces_the_error(digits):
    torch.manual_seed(0)
    model = ae.MLPAutoencoder(8)
    before = ae.per_image_error(model, digits.X_test).mean().item()
    history = ae.train_autoencoder(model, digits.X_train, epochs=5)
    assert len(history.loss) == 5 and history.loss[-1] < history.loss[0]
    assert ae.per_image_error(model, digits.X_test).mean().item() < before
    assert not model.training


def test_denoising_training_runs(digits):
    torch.manual_seed(0)
    model = ae.MLPAutoencoder(8)
    history = ae.train_autoencoder(model, digits.X_train[:128], epochs=2, noise=0.5, random_noise=True)
    assert len(history.loss) == 2


@pytest.mark.parametrize(("kwargs", "match"), [({"epochs": 0}, "epochs must be a positive int"),
                                               ({"lr": 0.0}, "lr must be positive"),
                                               ({"noise": -0.1}, "cannot be negative"),
                                               ({"batch_size": 0}, "batch_size must be a positive int")])
def test_train_autoencoder_bad_input(kwargs, match):
    with pytest.raises(ValueError, match=match):
        ae.train_autoencoder(ae.MLPAutoencoder(2), torch.rand(10, 64), **kwargs)


@pytest.mark.parametrize(("X", "match"), [(torch.rand(4, 8, 8), "shape"), (torch.ones(4, 64, dtype=torch.int64), "floats"),
                                          (np.zeros((4, 64)), "torch.Tensor")])
def test_bad_images(X, match):
    with pytest.raises(ValueError, match=match):
        ae.per_image_error(ae.MLPAutoencoder(2), X)


def test_add_noise():
    x = torch.full((2, 64), 0.5)
    noise = torch.randn(2, 64)
    noisy = ae.add_noise(x, 0.3, noise=noise)
    assert torch.equal(noisy, (x + 0.3 * noise).clamp(0, 1))
    assert torch.equal(ae.add_noise(x, 0.0), x)
    with pytest.raises(ValueError, match="finite number ≥ 0"):
        ae.add_noise(x, -1.0)
    with pytest.raises(ValueError, match="shape of X"):
        ae.add_noise(x, 0.1, noise=torch.zeros(3, 64))


# --------------------------------------------------------------------------- ROC and AUC


@settings(max_examples=50, deadline=None)
@given(st.lists(st.tuples(st.integers(0, 6), st.integers(0, 1)), min_size=2, max_size=40))
def test_auc_matches_sklearn_with_ties(pairs):
    scores = torch.tensor([float(s) for s, _ in pairs])
    labels = torch.tensor([y for _, y in pairs])
    if labels.sum() in (0, len(labels)):
        with pytest.raises(ValueError, match="both classes"):
            ae.auc(scores, labels)
        return
    assert math.isclose(ae.auc(scores, labels), roc_auc_score(labels.numpy(), scores.numpy()), abs_tol=1e-12)
    fpr, tpr = ae.roc_points(scores, labels)
    assert fpr[0] == 0 and tpr[0] == 0 and fpr[-1] == 1 and tpr[-1] == 1
    assert bool((fpr[1:] >= fpr[:-1]).all() and (tpr[1:] >= tpr[:-1]).all())


def test_auc_bad_input():
    with pytest.raises(ValueError, match="same length"):
        ae.auc(torch.rand(3), torch.tensor([0, 1]))
    with pytest.raises(ValueError, match="0 \\(normal\\) or 1"):
        ae.auc(torch.rand(3), torch.tensor([0, 1, 2]))
    with pytest.raises(ValueError, match="NaN"):
        ae.auc(torch.tensor([0.1, float("nan")]), torch.tensor([0, 1]))


# --------------------------------------------------------------------------- VAE


def test_reparameterize_gradients():
    mu = torch.tensor([0.5, -1.0], requires_grad=True)
    logvar = torch.tensor([0.2, -0.4], requires_grad=True)
    eps = torch.tensor([1.0, -2.0])
    z = ae.reparameterize(mu, logvar, eps)
    z.sum().backward()
    assert torch.allclose(mu.grad, torch.ones(2))
    assert torch.allclose(logvar.grad, 0.5 * torch.exp(0.5 * logvar.detach()) * eps)
    with pytest.raises(ValueError, match="same shape"):
        ae.reparameterize(torch.zeros(2), torch.zeros(3))


@settings(max_examples=30, deadline=None)
@given(st.lists(st.tuples(st.floats(-3, 3), st.floats(-3, 3)), min_size=1, max_size=5))
def test_gaussian_kl_matches_torch(values):
    mu = torch.tensor([[m for m, _ in values]], dtype=torch.float64)
    logvar = torch.tensor([[v for _, v in values]], dtype=torch.float64)
    q = torch.distributions.Normal(mu, torch.exp(0.5 * logvar))
    p = torch.distributions.Normal(torch.zeros_like(mu), torch.ones_like(mu))
    assert torch.allclose(ae.gaussian_kl(mu, logvar), torch.distributions.kl_divergence(q, p).sum(-1), atol=1e-10)
    assert bool((ae.gaussian_kl(mu, logvar) >= -1e-12).all())


def test_vae_loss_and_training(digits):
    torch.manual_seed(0)
    vae = ae.VAE(latent=3, hidden=32)
    x = digits.X_train[:16]
    logits, mu, logvar = vae(x)
    loss, distortion, rate = ae.vae_loss(logits, x, mu, logvar, beta=2.0)
    assert torch.isclose(loss, distortion + 2.0 * rate)
    history = ae.train_vae(vae, digits.X_train[:256], epochs=3)
    assert len(history.kl) == 3 and len(history.recon) == 3
    metrics = ae.evaluate_vae(vae, digits.X_test)
    assert set(metrics) == {"distortion", "rate", "mse"} and metrics["rate"] >= 0
    samples = vae.sample(5, generator=torch.Generator().manual_seed(0))
    assert samples.shape == (5, 64) and samples.min() >= 0 and samples.max() <= 1
    with pytest.raises(ValueError, match="beta weighs the KL term"):
        ae.vae_loss(logits, x, mu, logvar, beta=-1.0)
    with pytest.raises(ValueError, match="n must be a positive int"):
        vae.sample(0)


def test_gaussian_in_latent(digits):
    pca = ae.pca_fit(digits.X_train, 4)
    samples = ae.gaussian_in_latent(pca, digits.X_train, 50, generator=torch.Generator().manual_seed(0))
    assert samples.shape == (50, 64) and samples.min() >= 0 and samples.max() <= 1
    with pytest.raises(ValueError, match="needs more than 4 images"):
        ae.gaussian_in_latent(pca, digits.X_train[:3], 10)
    torch.manual_seed(0)
    model = ae.MLPAutoencoder(3, hidden=16)
    samples = ae.gaussian_in_latent(model, digits.X_train, 20, generator=torch.Generator().manual_seed(0))
    assert samples.shape == (20, 64) and samples.min() >= 0 and samples.max() <= 1
    assert model.encode(digits.X_test[:5]).shape == (5, 3) and not model.decode(torch.zeros(2, 3)).requires_grad
    with pytest.raises(ValueError, match="encode and decode methods"):
        ae.gaussian_in_latent(nn.Linear(64, 3), digits.X_train, 10)
    codes = pca.encode(digits.X_train).double()
    off_diagonal = torch.cov(codes.T) - torch.diag(torch.cov(codes.T).diagonal())
    assert off_diagonal.abs().max() < 1e-6  # PCA codes are uncorrelated: the fitted Gaussian is diagonal


def test_kl_per_dimension(digits):
    torch.manual_seed(0)
    vae = ae.VAE(latent=3, hidden=16)
    per_dim = ae.kl_per_dimension(vae, digits.X_test)
    mu, logvar = vae.encode(digits.X_test)
    assert per_dim.shape == (3,) and torch.isclose(per_dim.sum(), ae.gaussian_kl(mu, logvar).mean(), rtol=1e-5)


# --------------------------------------------------------------------------- figures and the widget


def test_tile_and_figures(digits):
    import matplotlib.pyplot as plt

    picture = ae.tile(digits.X_test[:6], 2, 3)
    assert picture.shape == (2 * 9 - 1, 3 * 9 - 1)
    assert torch.equal(picture[:8, :8], digits.X_test[0].view(8, 8))
    assert torch.equal(picture[9:17, 9:17], digits.X_test[4].view(8, 8))
    with pytest.raises(ValueError, match="nrows·ncols = 6"):
        ae.tile(digits.X_test[:5], 2, 3)
    with pytest.raises(ValueError, match="2-d latent"):
        ae.latent_grid_figure(ae.VAE(latent=3))
    with pytest.raises(ValueError, match="at least one named row"):
        ae.rows_figure({})
    fig = ae.latent_grid_figure(ae.VAE(latent=2), 4, scores=torch.randn(10, 2), labels=torch.arange(10))
    plt.close(fig)


def test_denoising_explorer(digits):
    torch.manual_seed(0)
    model = ae.MLPAutoencoder(8)
    explorer = ae.DenoisingExplorer(model, digits.X_test[:40], sigma=0.2, n_show=5)
    assert explorer.redraws == 0 and "σ = 0.20" in explorer.status.value
    low = explorer.errors()["noisy"]
    explorer.sigma.value = 0.6
    assert explorer.redraws == 1 and "σ = 0.60" in explorer.status.value
    assert explorer.errors()["noisy"] > low
    with pytest.raises(ValueError, match="n_show must be a positive int"):
        ae.DenoisingExplorer(model, digits.X_test[:4], n_show=0)


def test_beta_explorer(digits):
    torch.manual_seed(0)
    vaes = {0.5: ae.VAE(latent=3, hidden=16), 2.0: ae.VAE(latent=3, hidden=16)}
    explorer = ae.BetaExplorer(vaes, digits.X_test[:40], n_show=4, n_judged=100)
    assert explorer.redraws == 0 and "β = 0.5" in explorer.status.value and "100 prior samples" in explorer.status.value
    explorer.beta.value = 2.0
    assert explorer.redraws == 1 and "β = 2" in explorer.status.value
    assert set(explorer.scores) == {0.5, 2.0}
    with pytest.raises(ValueError, match="one of the trained values"):
        ae.BetaExplorer(vaes, digits.X_test[:40], beta=1.0, n_judged=100)
    with pytest.raises(ValueError, match="at least one entry"):
        ae.BetaExplorer({}, digits.X_test[:40])
