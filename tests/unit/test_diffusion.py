"""Diffusion helpers: schedules, the forward process, the ε-model, samplers, the PCA latent space, figures, widget."""

from __future__ import annotations

import numpy as np
import pytest
import torch
from torch import nn

from course_utils.judge import JudgeScores
from course_utils.topics import diffusion


def make_schedule(name: str, T: int) -> diffusion.Schedule:
    return {"linear": diffusion.linear_schedule, "cosine": diffusion.cosine_schedule}[name](T)


@pytest.mark.parametrize("name", ["linear", "cosine"])
def test_schedules_start_clean_and_end_in_noise(name):
    schedule = make_schedule(name, 100)
    assert schedule.T == 100 and schedule.betas.shape == (101,) and schedule.betas[0] == 0
    assert schedule.alpha_bar[0] == 1.0
    assert bool((schedule.alpha_bar[1:] < schedule.alpha_bar[:-1]).all())
    assert schedule.alpha_bar[-1] < 1e-3
    assert torch.allclose(schedule.alphas, 1 - schedule.betas)


def test_linear_schedule_is_ddpm_scaled_to_T():
    betas = diffusion.linear_schedule(100).betas
    assert betas[1].item() == pytest.approx(1e-3) and betas[-1].item() == pytest.approx(0.2)
    assert diffusion.linear_schedule(1000).betas[-1].item() == pytest.approx(0.02)


def test_cosine_schedule_follows_its_formula():
    schedule = diffusion.cosine_schedule(50)
    t = torch.arange(51, dtype=torch.float64) / 50
    f = torch.cos((t + 0.008) / 1.008 * torch.pi / 2) ** 2
    assert torch.allclose(schedule.alpha_bar[:-1].double(), (f / f[0])[:-1], atol=1e-5)
    assert schedule.betas.max() <= 0.999


@pytest.mark.parametrize(
    ("make", "message"),
    [(lambda: diffusion.linear_schedule(1), "T"), (lambda: diffusion.cosine_schedule(1), "T"),
     (lambda: diffusion.Schedule("bad", torch.tensor([0.1, 0.2])), "index 0"),
     (lambda: diffusion.Schedule("bad", torch.tensor([0.0, 1.5])), "strictly between")],
)
def test_bad_schedules(make, message):
    with pytest.raises(ValueError, match=message):
        make()


def test_q_sample_is_the_closed_form():
    schedule = diffusion.cosine_schedule(20)
    x0, noise = torch.randn(6, 3), torch.randn(6, 3)
    t = torch.tensor([0, 1, 5, 10, 19, 20])
    ab = schedule.alpha_bar[t][:, None]
    assert torch.allclose(diffusion.q_sample(x0, t, noise, schedule), ab.sqrt() * x0 + (1 - ab).sqrt() * noise)
    assert torch.equal(diffusion.q_sample(x0, 0, noise, schedule), x0)
    images = torch.randn(2, 1, 8, 8)
    assert diffusion.q_sample(images, 3, torch.randn_like(images), schedule).shape == (2, 1, 8, 8)
    with pytest.raises(ValueError, match="shape of x0"):
        diffusion.q_sample(x0, 1, torch.randn(6, 2), schedule)
    with pytest.raises(ValueError, match="0..20"):
        diffusion.q_sample(x0, 21, noise, schedule)
    with pytest.raises(ValueError, match="shape"):
        diffusion.q_sample(x0, torch.tensor([1, 2]), noise, schedule)


def test_step_by_step_noising_has_the_closed_form_statistics():
    schedule = diffusion.cosine_schedule(50)
    x0 = torch.tensor([1.0, -1.0, 0.0])
    noisy = diffusion.noise_step_by_step(x0.repeat(8000, 1), 20, schedule, torch.Generator().manual_seed(0))
    ab = schedule.alpha_bar[20]
    assert torch.allclose(noisy.mean(0), ab.sqrt() * x0, atol=0.05)
    assert torch.allclose(noisy.var(0), (1 - ab).expand(3), atol=0.05)
    assert torch.equal(diffusion.noise_step_by_step(x0[None], 0, schedule, torch.Generator()), x0[None])
    with pytest.raises(ValueError, match="0..50"):
        diffusion.noise_step_by_step(x0[None], 51, schedule, torch.Generator())


def test_predict_x0_inverts_the_forward_process():
    schedule = diffusion.linear_schedule(30)
    x0, noise, t = torch.randn(5, 4), torch.randn(5, 4), torch.tensor([1, 7, 15, 22, 29])
    x_t = diffusion.q_sample(x0, t, noise, schedule)
    assert torch.allclose(diffusion.predict_x0(x_t, noise, schedule.alpha_bar[t]), x0, atol=1e-4)
    assert torch.allclose(diffusion.predict_x0(x_t[:1], noise[:1], schedule.alpha_bar[1]), x0[:1], atol=1e-4)


def test_time_embedding_and_model_shapes():
    emb = diffusion.SinusoidalTimeEmbedding(8)
    out = emb(torch.tensor([0, 1, 50]))
    assert out.shape == (3, 8) and torch.allclose(out[0], torch.tensor([0.0] * 4 + [1.0] * 4))
    with pytest.raises(ValueError, match="even"):
        diffusion.SinusoidalTimeEmbedding(7)
    model = diffusion.EpsilonMLP(5, hidden=16, depth=2)
    assert model(torch.randn(4, 5), torch.tensor([1, 2, 3, 4])).shape == (4, 5)


def test_ddpm_loss_is_the_epsilon_mse():
    schedule = diffusion.cosine_schedule(10)
    model = diffusion.EpsilonMLP(3, hidden=8, depth=1)
    x0 = torch.randn(7, 3)
    g = torch.Generator().manual_seed(4)
    t = torch.randint(1, 11, (7,), generator=g)
    noise = torch.randn(x0.shape, generator=g)
    expected = ((model(diffusion.q_sample(x0, t, noise, schedule), t) - noise) ** 2).mean()
    got = diffusion.ddpm_loss(model, x0, schedule, torch.Generator().manual_seed(4))
    assert torch.allclose(got, expected)


def test_training_is_deterministic_and_learns():
    schedule = diffusion.cosine_schedule(20)
    data = torch.randn(256, 2) * 0.1 + torch.tensor([1.0, -1.0])
    state = torch.get_rng_state()
    first = diffusion.train_ddpm(data, schedule, hidden=16, depth=1, steps=60, batch_size=32, seed=1)
    second = diffusion.train_ddpm(data, schedule, hidden=16, depth=1, steps=60, batch_size=32, seed=1)
    assert torch.equal(torch.get_rng_state(), state)
    assert first.losses == second.losses and len(first.losses) == 60
    assert sum(first.losses[-10:]) < sum(first.losses[:10])
    assert not first.model.training
    with pytest.raises(ValueError, match=r"\(N, D\)"):
        diffusion.train_ddpm(torch.zeros(5), schedule)
    with pytest.raises(ValueError, match="steps"):
        diffusion.train_ddpm(data, schedule, steps=0)


class Oracle(nn.Module):
    """The exact ε-predictor for data that is always the single point ``target``."""

    def __init__(self, target: torch.Tensor, schedule: diffusion.Schedule) -> None:
        super().__init__()
        self.target, self.alpha_bar = target, schedule.alpha_bar

    def forward(self, x: torch.Tensor, t: torch.Tensor) -> torch.Tensor:
        ab = self.alpha_bar[t][:, None]
        return (x - ab.sqrt() * self.target) / (1 - ab).sqrt()


@pytest.mark.parametrize("name", ["linear", "cosine"])
def test_samplers_with_a_perfect_model_land_on_the_data(name):
    schedule = make_schedule(name, 40)
    target = torch.tensor([0.5, -2.0, 1.0])
    oracle = Oracle(target, schedule)
    x, path = diffusion.ddpm_sample(oracle, schedule, 50, 3, seed=0, record=(40, 20, 0))
    assert sorted(path) == [0, 20, 40] and torch.equal(path[0], x)
    assert torch.allclose(x, target.expand(50, 3), atol=1e-3)
    assert path[40].std() > 0.5  # it started as noise
    for steps in (1, 5, 40):
        assert torch.allclose(diffusion.ddim_sample(oracle, schedule, 50, 3, steps, seed=0), target.expand(50, 3),
                              atol=1e-3)
    clipped = diffusion.ddim_sample(oracle, schedule, 10, 3, 5, seed=0, clip_x0=lambda z: z.clamp(-1, 1))
    assert torch.allclose(clipped, target.clamp(-1, 1).expand(10, 3), atol=1e-3)
    again, _ = diffusion.ddpm_sample(oracle, schedule, 50, 3, seed=0)
    assert torch.equal(again, x)


def test_ddim_timesteps():
    assert diffusion.ddim_timesteps(100, 5) == [100, 75, 50, 26, 1]
    assert diffusion.ddim_timesteps(10, 10) == list(range(10, 0, -1))
    assert diffusion.ddim_timesteps(10, 1) == [10]
    with pytest.raises(ValueError, match="1..10"):
        diffusion.ddim_timesteps(10, 11)


def test_whitened_pca():
    g = torch.Generator().manual_seed(0)
    data = torch.randn(500, 6, generator=g) @ torch.randn(6, 6, generator=g)
    full = diffusion.WhitenedPCA(data, k=6)
    codes = full.encode(data)
    assert torch.allclose(codes.mean(0), torch.zeros(6), atol=1e-4)
    assert torch.allclose(codes.var(0), torch.ones(6), atol=1e-3)
    assert torch.allclose(full.decode(codes), data, atol=1e-3)
    assert full.explained_variance(data) == pytest.approx(1.0, abs=1e-4)
    small = diffusion.WhitenedPCA(data, k=2)
    assert 0 < small.explained_variance(data) < 1
    z = torch.randn(20, 6, generator=g) * 3  # with all components, clipping is exactly a pixel clamp
    assert torch.allclose(full.decode(full.clip_x0(z)), full.decode(z).clamp(-1, 1), atol=1e-4)
    with pytest.raises(ValueError, match="k"):
        diffusion.WhitenedPCA(data, k=7)


def test_figures_and_widget():
    schedules = [diffusion.linear_schedule(20), diffusion.cosine_schedule(20)]
    assert len(diffusion.schedules_figure(schedules, t=5).axes) == 2
    images = torch.rand(3, 64) * 2 - 1
    assert len(diffusion.dissolve_figure(images, schedules, 5, torch.randn(3, 64)).axes) == 1 + 2 * 3
    assert len(diffusion.scatter_2d_figure([("a", torch.randn(10, 2)), ("b", torch.randn(10, 2))],
                                           torch.randn(30, 2)).axes) == 2
    explorer = diffusion.NoiseScheduleExplorer(images, schedules, t=3)
    assert explorer.redraws == 0 and explorer.status.value.startswith("t = 3;")
    explorer.t.value = 15
    assert explorer.redraws == 1 and explorer.status.value.startswith("t = 15;")
    assert f"{schedules[1].alpha_bar[15].item():.3f}" in explorer.status.value
    explorer.t.value = 99  # the slider clamps to T
    assert explorer.t.value == 20
    with pytest.raises(ValueError, match="flattened"):
        diffusion.NoiseScheduleExplorer(images.reshape(3, 8, 8), schedules)


# --------------------------------------------------------------------------- the posterior


def test_posterior_is_bayes_rule_on_a_grid():
    schedule = diffusion.cosine_schedule(50)
    grid = torch.linspace(-5, 5, 50_001, dtype=torch.float64)
    for t, x0, x_t in ((1, 0.3, -0.2), (7, -1.0, 0.5), (30, 0.8, 0.1), (45, 0.0, 2.0)):
        beta, alpha = schedule.betas[t].double(), schedule.alphas[t].double()
        ab_prev = schedule.alpha_bar[t - 1].double()
        mean, var = diffusion.posterior(torch.tensor([x0], dtype=torch.float64), torch.tensor([x_t], dtype=torch.float64),
                                        t, schedule)
        if t == 1:  # ᾱ_0 = 1: the posterior is the point x_0
            assert var.item() == 0 and mean.item() == pytest.approx(x0, abs=1e-4)  # float32 schedule
            continue
        log_p = -(x_t - alpha.sqrt() * grid) ** 2 / (2 * beta) - (grid - ab_prev.sqrt() * x0) ** 2 / (2 * (1 - ab_prev))
        w = torch.softmax(log_p, 0)
        grid_mean = (w * grid).sum()
        assert mean.item() == pytest.approx(grid_mean.item(), abs=1e-6)
        assert var.item() == pytest.approx((w * (grid - grid_mean) ** 2).sum().item(), abs=1e-6)


def test_posterior_variances():
    schedule = diffusion.linear_schedule(20)
    tilde = diffusion.posterior_variances(schedule)
    assert tilde.shape == (21,) and tilde[0] == 0 and tilde[1] == 0
    assert bool((tilde[1:] <= schedule.betas[1:]).all())
    x = torch.zeros(2, 3)
    for t in (2, 10, 20):
        assert diffusion.posterior(x, x, t, schedule)[1].item() == pytest.approx(tilde[t].item())
    with pytest.raises(ValueError, match="1..20"):
        diffusion.posterior(x, x, 0, schedule)
    with pytest.raises(ValueError, match="same shape"):
        diffusion.posterior(x, torch.zeros(2, 2), 3, schedule)


# --------------------------------------------------------------------------- DDIM's η


def test_ddim_sigma_spans_deterministic_to_the_posterior():
    schedule = diffusion.cosine_schedule(40)
    ab = schedule.alpha_bar
    t = torch.arange(1, 41)
    assert torch.allclose(diffusion.ddim_sigma(ab[t], ab[t - 1], 1.0) ** 2, diffusion.posterior_variances(schedule)[1:],
                          atol=1e-6)
    assert torch.equal(diffusion.ddim_sigma(ab[t], ab[t - 1], 0.0), torch.zeros(40))
    assert diffusion.ddim_sigma(ab[30], ab[10], 0.5).item() == pytest.approx(
        0.5 * diffusion.ddim_sigma(ab[30], ab[10], 1.0).item())
    assert diffusion.ddim_sigma(ab[10], torch.tensor(1.0), 1.0).item() == 0  # the last jump, to x_0, adds no noise
    for bad in (-0.1, 1.5, "1"):
        with pytest.raises(ValueError, match="η"):
            diffusion.ddim_sigma(ab[2], ab[1], bad)


def test_ddim_step_keeps_the_marginal_variance():
    schedule = diffusion.cosine_schedule(100)
    ab_t, ab_s = schedule.alpha_bar[70], schedule.alpha_bar[30]
    g = torch.Generator().manual_seed(0)
    x0 = torch.full((200_000, 1), 0.5)
    eps, z = torch.randn(x0.shape, generator=g), torch.randn(x0.shape, generator=g)
    x_t = ab_t.sqrt() * x0 + (1 - ab_t).sqrt() * eps
    for eta in (0.0, 0.5, 1.0):  # with the true ε, x_s must follow q(x_s | x_0) for every η
        x_s = diffusion.ddim_step(x_t, eps, ab_t, ab_s, eta, z)
        assert x_s.mean().item() == pytest.approx(ab_s.sqrt().item() * 0.5, abs=0.01)
        assert x_s.var().item() == pytest.approx(1 - ab_s.item(), abs=0.01)
    deterministic = diffusion.ddim_step(x_t[:5], eps[:5], ab_t, ab_s, 0.0)
    assert torch.allclose(deterministic, ab_s.sqrt() * x0[:5] + (1 - ab_s).sqrt() * eps[:5], atol=1e-5)
    with pytest.raises(ValueError, match="noise z"):
        diffusion.ddim_step(x_t[:5], eps[:5], ab_t, ab_s, 0.5)


def test_ddim_with_eta_1_and_all_steps_is_ddpm():
    schedule = diffusion.cosine_schedule(30)
    torch.manual_seed(0)
    model = diffusion.EpsilonMLP(3, hidden=16, depth=1).eval()
    clip = lambda z: z.clamp(-2, 2)  # noqa: E731
    ddpm, _ = diffusion.ddpm_sample(model, schedule, 40, 3, seed=4, clip_x0=clip)
    ddim = diffusion.ddim_sample(model, schedule, 40, 3, 30, eta=1.0, seed=4, clip_x0=clip)
    assert torch.allclose(ddpm, ddim, atol=1e-4)
    fewer = diffusion.ddim_sample(model, schedule, 40, 3, 10, eta=1.0, seed=4, clip_x0=clip)
    assert not torch.allclose(fewer, ddpm, atol=1e-2)
    oracle = Oracle(torch.tensor([0.5, -2.0, 1.0]), schedule)
    for eta in (0.25, 1.0):
        assert torch.allclose(diffusion.ddim_sample(oracle, schedule, 20, 3, 7, eta=eta, seed=0),
                              torch.tensor([0.5, -2.0, 1.0]).expand(20, 3), atol=1e-3)
    with pytest.raises(ValueError, match="η"):
        diffusion.ddim_sample(oracle, schedule, 5, 3, 5, eta=2.0)


def test_seeded_generator_is_deterministic_and_leaves_the_global_stream_alone():
    state = torch.get_rng_state()
    a = torch.randn(4, generator=diffusion.seeded_generator(3))
    assert torch.equal(a, torch.randn(4, generator=diffusion.seeded_generator(3)))
    assert not torch.equal(a, torch.randn(4, generator=diffusion.seeded_generator(4)))
    assert torch.equal(torch.get_rng_state(), state)


# --------------------------------------------------------------------------- scores


def test_mixture_score_is_the_gradient_of_the_log_density():
    centres = torch.tensor([[1.0, 0.0], [0.0, 1.0], [-1.0, -1.0]])
    x = torch.randn(50, 2, dtype=torch.float64, generator=torch.Generator().manual_seed(1)).requires_grad_(True)
    for ab in (0.999, 0.7, 0.05):
        ab = torch.tensor(ab, dtype=torch.float64)
        (grad,) = torch.autograd.grad(diffusion.mixture_log_density(x, centres, 0.1, ab).sum(), x)
        assert torch.allclose(diffusion.mixture_score(x.detach(), centres, 0.1, ab), grad, atol=1e-9)
    # one mode, no noise left: the score of N(μ, std²) is −(x − μ)/std²
    one = torch.tensor([[0.5, -0.5]])
    assert torch.allclose(diffusion.mixture_score(x.detach(), one, 0.2, torch.tensor(1.0, dtype=torch.float64)),
                          -(x.detach() - one.double()) / 0.04)
    density = diffusion.mixture_log_density(torch.zeros(1, 2, dtype=torch.float64), one, 1.0, torch.tensor(1.0)).exp()
    assert density.item() == pytest.approx(np.exp(-0.25) / (2 * np.pi))


def test_model_score_and_mean_cosine():
    schedule = diffusion.cosine_schedule(20)
    target = torch.tensor([0.0, 0.0])
    oracle = Oracle(target, schedule)
    x = torch.randn(30, 2)
    # for data at a single point, the exact score of q_t is −x/(1 − ᾱ_t)
    assert torch.allclose(diffusion.model_score(oracle, x, 5, schedule), -x / (1 - schedule.alpha_bar[5]), atol=1e-5)
    assert diffusion.mean_cosine(x, 3 * x) == pytest.approx(1.0)
    assert diffusion.mean_cosine(x, -x) == pytest.approx(-1.0)
    with pytest.raises(ValueError, match="same shape"):
        diffusion.mean_cosine(x, x[:3])
    with pytest.raises(ValueError, match="1..20"):
        diffusion.model_score(oracle, x, 0, schedule)


# --------------------------------------------------------------------------- judging with a spread


def fake_score(images: torch.Tensor) -> JudgeScores:
    """A stand-in for the judge: confidence = mean pixel, Fréchet = 10 × mean pixel."""
    m = float(images.mean())
    return JudgeScores(len(images), m, tuple([0.1] * 10), 10 * m)


def test_spread_and_table():
    spread = diffusion.judge_batches([torch.full((10, 64), v) for v in (0.2, 0.4, 0.6)], fake_score)
    assert spread.mean("confidence") == pytest.approx(0.4)
    assert spread.std("confidence") == pytest.approx(0.2)
    assert spread.worst("confidence") == pytest.approx(0.2) and spread.worst("frechet") == pytest.approx(6.0)
    single = diffusion.judge_batches([torch.full((10, 64), 0.5)], fake_score)
    assert single.std("frechet") == 0.0
    table = diffusion.spread_table({"three": spread, "one": single}).splitlines()
    assert len(table) == 3 and "0.400 ± 0.200" in table[1] and "3 × 10" in table[1]
    assert "±" not in table[2] and "1 × 10" in table[2]
    with pytest.raises(ValueError, match="at least one"):
        diffusion.judge_batches([], fake_score)
    with pytest.raises(ValueError, match="at least one"):
        diffusion.spread_table({})


def test_ddim_grid_caches_and_the_explorer_redraws():
    schedule = diffusion.cosine_schedule(20)
    oracle = Oracle(torch.full((64,), 0.2), schedule)
    decode = lambda z: z.clamp(0, 1)  # noqa: E731
    grid = diffusion.DDIMGrid(oracle, schedule, decode, n=12, dim=64, seed=1, step_counts=(2, 5, 20), score=fake_score)
    first = grid.result(0.0, 5)
    assert grid.result(0.0, 5) is first and first.images.shape == (12, 64)
    assert first.scores.confidence == pytest.approx(0.2, abs=1e-3)
    assert len(grid.curve(1.0)) == 3 and len(grid.results) == 4
    assert len(grid.table().splitlines()) == 1 + 2 * 3
    explorer = diffusion.DDIMExplorer(grid, eta=0.0, steps=5)
    assert explorer.redraws == 0 and explorer.status.value.startswith("η = 0 (deterministic), 5 steps")
    explorer.eta.value = 0.5
    assert explorer.redraws == 1 and "η = 0.5 (stochastic)" in explorer.status.value
    assert (0.5, 5) in grid.results and (0.5, 20) not in grid.results  # one setting per slider move
    explorer.steps.value = 20
    assert explorer.redraws == 2 and ", 20 steps" in explorer.status.value
    with pytest.raises(ValueError, match="step counts"):
        diffusion.DDIMExplorer(grid, steps=7)
    with pytest.raises(ValueError, match="DDIMGrid"):
        diffusion.DDIMExplorer("grid")
    with pytest.raises(ValueError, match="1..20"):
        diffusion.DDIMGrid(oracle, schedule, decode, n=12, dim=64, step_counts=(30,), score=fake_score)


def test_new_figures():
    schedule = diffusion.cosine_schedule(20)
    assert len(diffusion.posterior_figure(0.5, 0.1, 5, schedule, torch.linspace(-3, 3, 301)).axes) == 1
    oracle = Oracle(torch.zeros(2), schedule)
    centres = torch.tensor([[1.0, 0.0], [-1.0, 0.0]])
    assert len(diffusion.score_field_figure(oracle, schedule, centres, 0.05, (2, 10), n_grid=5).axes) == 4
