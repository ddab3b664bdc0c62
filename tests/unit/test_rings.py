"""2-D toy data: the ring of Gaussians, mode coverage and the diffusion toys."""

from __future__ import annotations

import pytest
import torch

from course_utils.data import rings


def test_ring_centres_lie_on_the_circle():
    centres = rings.ring_centres(8, radius=2.0)
    assert centres.shape == (8, 2) and centres.dtype == torch.float32
    assert torch.allclose(centres.norm(dim=1), torch.full((8,), 2.0))
    assert torch.allclose(centres[0], torch.tensor([2.0, 0.0]))
    with pytest.raises(ValueError, match="n_modes"):
        rings.ring_centres(0)
    with pytest.raises(ValueError, match="radius"):
        rings.ring_centres(8, radius=-1.0)


def test_ring_of_gaussians_is_seeded_and_leaves_global_rng_alone():
    state = torch.get_rng_state()
    a, modes = rings.ring_of_gaussians(4000, seed=3)
    b, _ = rings.ring_of_gaussians(4000, seed=3)
    assert torch.equal(torch.get_rng_state(), state)
    assert torch.equal(a, b) and a.shape == (4000, 2) and modes.shape == (4000,) and modes.dtype == torch.int64
    assert not torch.equal(a, rings.ring_of_gaussians(4000, seed=4)[0])
    centres = rings.ring_centres()
    for k in range(8):
        points = a[modes == k]
        assert torch.allclose(points.mean(0), centres[k], atol=0.02)
        assert points.std(0).mean().item() == pytest.approx(0.05, rel=0.15)


@pytest.mark.parametrize(("kwargs", "message"), [({"n": 0}, "positive int"), ({"n": 10, "std": 0.0}, "std")])
def test_ring_of_gaussians_bad_arguments(kwargs, message):
    with pytest.raises(ValueError, match=message):
        rings.ring_of_gaussians(**kwargs)


def test_the_data_covers_every_mode():
    data, _ = rings.ring_of_gaussians(2000, seed=0)
    coverage = rings.mode_coverage(data, rings.ring_centres(), 0.05)
    assert coverage.n_covered == 8 and coverage.n_modes == 8
    assert coverage.on_mode > 0.98  # 3σ holds 98.9 % of a 2-D Gaussian's mass
    assert "8 of 8 modes covered" in coverage.summary()


def test_a_collapsed_generator_covers_one_mode():
    centres = rings.ring_centres()
    collapsed = centres[2] + 0.01 * torch.randn(500, 2, generator=torch.Generator().manual_seed(0))
    coverage = rings.mode_coverage(collapsed, centres, 0.05)
    assert coverage.n_covered == 1 and coverage.covered[2]
    # between the modes: on the circle but far from every centre
    between = torch.tensor([[2.0 * 0.9239, 2.0 * 0.3827]]).repeat(100, 1)
    assert rings.mode_coverage(between, centres, 0.05).n_covered == 0


def test_the_one_percent_threshold():
    centres = rings.ring_centres()
    samples = torch.cat([centres[:1].repeat(99, 1), centres[1:2]])  # 1 % exactly at mode 1
    assert rings.mode_coverage(samples, centres, 0.05).covered[:2] == [True, True]
    assert rings.mode_coverage(samples, centres, 0.05, min_fraction=0.02).covered[:2] == [True, False]


@pytest.mark.parametrize(
    ("samples", "message"),
    [(torch.zeros(5, 3), r"\(N, 2\)"), (torch.zeros(0, 2), "no samples"), (torch.full((3, 2), float("nan")), "NaN")],
)
def test_mode_coverage_bad_input(samples, message):
    with pytest.raises(ValueError, match=message):
        rings.mode_coverage(samples, rings.ring_centres(), 0.05)


@pytest.mark.parametrize("name", rings.TOYS)
def test_toys_are_centred_with_spread_about_one(name):
    points = rings.toy_2d(name, 3000, seed=0)
    assert points.shape == (3000, 2) and points.dtype == torch.float32
    assert points.mean(0).abs().max() < 0.1
    assert 0.5 < points.std(0).mean() < 1.6
    assert torch.equal(points, rings.toy_2d(name, 3000, seed=0))


def test_unknown_toy():
    with pytest.raises(ValueError, match="unknown 2-D toy"):
        rings.toy_2d("spiral galaxy", 10)
