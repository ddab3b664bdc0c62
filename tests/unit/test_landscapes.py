"""landscapes: surfaces, trajectories that match hand-written update rules, outcomes, bad input."""

from __future__ import annotations

import math

import pytest
import torch
from hypothesis import given, settings
from hypothesis import strategies as st

from course_utils.topics.training_loops import landscapes
from course_utils.topics.training_loops.landscapes import LandscapeError, Surface


# Analytic gradients, written independently of autograd.
def grad_bumpy(p):
    (x,) = p
    return [1.25 * (4 * x**3 - 8 * x + 2)]


def grad_ravine(p):
    x, y = p
    return [0.2 * x, 4.0 * y]


def grad_rosenbrock(p):
    x, y = p
    return [-2 * (1 - x) - 400 * x * (y - x**2), 200 * (y - x**2)]


def grad_saddle(p):
    x, y = p
    return [x, y**3 - y]


GRADIENTS = {"bumpy": grad_bumpy, "ravine": grad_ravine, "rosenbrock": grad_rosenbrock, "saddle": grad_saddle}


def sgd_by_hand(surface, lr, momentum=0.0, nesterov=False, steps=10):
    grad = GRADIENTS[surface]
    p = list(landscapes.get_surface(surface).start)
    velocity = None
    path = [tuple(p)]
    for _ in range(steps):
        g = grad(p)
        if momentum:
            velocity = list(g) if velocity is None else [momentum * v + gi for v, gi in zip(velocity, g, strict=True)]
            direction = [gi + momentum * v for gi, v in zip(g, velocity, strict=True)] if nesterov else velocity
        else:
            direction = g
        p = [pi - lr * d for pi, d in zip(p, direction, strict=True)]
        path.append(tuple(p))
    return path


def adam_by_hand(surface, lr, beta1, steps, beta2=0.999, eps=1e-8):
    grad = GRADIENTS[surface]
    p = list(landscapes.get_surface(surface).start)
    m = [0.0] * len(p)
    v = [0.0] * len(p)
    path = [tuple(p)]
    for t in range(1, steps + 1):
        g = grad(p)
        m = [beta1 * mi + (1 - beta1) * gi for mi, gi in zip(m, g, strict=True)]
        v = [beta2 * vi + (1 - beta2) * gi * gi for vi, gi in zip(v, g, strict=True)]
        m_hat = [mi / (1 - beta1**t) for mi in m]
        v_hat = [vi / (1 - beta2**t) for vi in v]
        p = [pi - lr * mh / (math.sqrt(vh) + eps) for pi, mh, vh in zip(p, m_hat, v_hat, strict=True)]
        path.append(tuple(p))
    return path


def assert_paths_equal(got, expected, tol=1e-9):
    assert len(got) == len(expected)
    for a, b in zip(got, expected, strict=True):
        assert a == pytest.approx(b, abs=tol, rel=tol)


@pytest.mark.parametrize("surface, lr", [("bumpy", 0.03), ("ravine", 0.3), ("rosenbrock", 0.001), ("saddle", 0.1)])
def test_plain_sgd_matches_the_update_rule(surface, lr):
    walk = landscapes.trajectory(surface, "sgd", lr=lr, steps=15)
    assert walk.diverged_at is None
    assert_paths_equal(walk.positions, sgd_by_hand(surface, lr, steps=15))


@pytest.mark.parametrize("surface, lr, momentum", [("bumpy", 0.01, 0.9), ("ravine", 0.05, 0.5), ("saddle", 0.1, 0.8)])
def test_sgd_with_momentum_matches_the_update_rule(surface, lr, momentum):
    walk = landscapes.trajectory(surface, "sgd", lr=lr, momentum=momentum, steps=20)
    assert_paths_equal(walk.positions, sgd_by_hand(surface, lr, momentum, steps=20))


@pytest.mark.parametrize("surface, lr, momentum", [("bumpy", 0.01, 0.9), ("ravine", 0.05, 0.9)])
def test_nesterov_matches_the_update_rule(surface, lr, momentum):
    walk = landscapes.trajectory(surface, "nesterov", lr=lr, momentum=momentum, steps=20)
    assert_paths_equal(walk.positions, sgd_by_hand(surface, lr, momentum, nesterov=True, steps=20))
    plain = landscapes.trajectory(surface, "sgd", lr=lr, momentum=momentum, steps=20)
    assert walk.positions != plain.positions  # Nesterov is a different walk


def test_nesterov_without_momentum_is_plain_sgd():
    a = landscapes.trajectory("ravine", "nesterov", lr=0.1, momentum=0.0, steps=10)
    b = landscapes.trajectory("ravine", "sgd", lr=0.1, momentum=0.0, steps=10)
    assert a.positions == b.positions


def test_adam_matches_the_update_rule_with_beta1_from_momentum():
    walk = landscapes.trajectory("ravine", "adam", lr=0.1, momentum=0.8, steps=25)
    assert_paths_equal(walk.positions, adam_by_hand("ravine", 0.1, 0.8, 25), tol=1e-7)


@settings(max_examples=25, deadline=None)
@given(lr=st.floats(1e-4, 0.04), momentum=st.floats(0.0, 0.95), start=st.floats(-2.0, 2.0))
def test_sgd_matches_the_rule_for_any_setting(lr, momentum, start):
    walk = landscapes.trajectory("bumpy", "sgd", lr=lr, momentum=momentum, steps=8, start=[start])
    grad = GRADIENTS["bumpy"]
    x, v = start, None
    for k in range(1, len(walk.positions)):
        g = grad([x])[0]
        v = g if v is None else momentum * v + g
        x = x - lr * (v if momentum else g)
        assert walk.positions[k][0] == pytest.approx(x, rel=1e-9, abs=1e-9)


def test_losses_are_the_surface_at_the_positions():
    walk = landscapes.trajectory("rosenbrock", "adam", lr=0.05, momentum=0.9, steps=12)
    surface = landscapes.get_surface("rosenbrock")
    for p, loss in zip(walk.positions, walk.losses, strict=True):
        assert loss == pytest.approx(float(surface(torch.tensor(p))))
    assert walk.as_tensor().shape == (13, 2)


def test_leaving_the_plot_is_reported_not_raised():
    walk = landscapes.trajectory("bumpy", "sgd", lr=0.2, steps=10)
    assert walk.diverged and walk.diverged_at == 2
    assert len(walk.positions) == 2 == len(walk.losses)  # start and step 1, both on the plot
    outcome = landscapes.describe(walk)
    assert outcome.kind == "diverged" and outcome.text.startswith("diverged at step 2")
    assert "jumped off the plot" in outcome.text
    assert outcome.headline == "diverged at step 2"


def test_inf_or_nan_is_reported_not_raised():
    huge = Surface(name="quartic", title="x^4", formula="x^4", dim=1, f=lambda p: p[..., 0] ** 4,
                   start=(1e100,), minima=((0.0,),), limits=((-1e308, 1e308),))
    walk = landscapes.trajectory(huge, "sgd", lr=1.0, steps=5)
    assert walk.diverged_at == 1
    assert walk.divergence == "the position or the loss became inf/NaN"
    assert walk.positions == [(1e100,)]


@pytest.mark.parametrize(
    "kwargs, kind",
    [
        ({"surface": "bumpy", "lr": 0.03, "steps": 10}, "converged"),
        ({"surface": "bumpy", "lr": 0.001, "steps": 10}, "still far"),
        ({"surface": "bumpy", "lr": 0.1, "steps": 10}, "oscillating"),
        ({"surface": "bumpy", "lr": 0.01, "momentum": 0.9, "steps": 20}, "oscillating"),
        ({"surface": "ravine", "lr": 0.5, "steps": 40}, "oscillating"),
        ({"surface": "ravine", "lr": 0.6, "steps": 40}, "diverged"),
        ({"surface": "saddle", "lr": 0.1, "steps": 100, "start": (-2.0, 0.0)}, "stalled"),
    ],
)
def test_outcome_kinds(kwargs, kind):
    walk = landscapes.trajectory(**kwargs)
    assert landscapes.describe(walk).kind == kind


def test_converged_names_the_step_and_which_minimum():
    outcome = landscapes.describe(landscapes.trajectory("bumpy", "sgd", lr=0.03, steps=10))
    assert outcome.step == 2 and outcome.headline == "converged in 2 steps"
    assert "a local one" in outcome.text
    walk = landscapes.trajectory("bumpy", "sgd", lr=0.01, steps=10, start=[landscapes.SURFACES["bumpy"].minima[0][0]])
    first = landscapes.describe(walk)
    assert first.headline == "converged at the start" and "global" in first.text


def test_minima_are_where_the_gradient_vanishes():
    for name, surface in landscapes.SURFACES.items():
        for minimum in surface.minima:
            assert max(abs(g) for g in GRADIENTS[name](list(minimum))) < 1e-4, name
    assert landscapes.SURFACES["bumpy"].best_loss < float(landscapes.SURFACES["bumpy"](torch.tensor([1.267035])))


@pytest.mark.parametrize(
    "kwargs, message",
    [
        ({"lr": -0.1}, "lr must be a positive number"),
        ({"lr": 0.0}, "lr must be a positive number"),
        ({"lr": float("nan")}, "lr must be a positive number"),
        ({"lr": "0.1"}, "lr must be a positive number"),
        ({"momentum": 1.0}, r"momentum must be in \[0, 1\)"),
        ({"momentum": 1.5}, r"momentum must be in \[0, 1\)"),
        ({"momentum": -0.1}, r"momentum must be in \[0, 1\)"),
        ({"optimizer": "lbfgs"}, "unknown optimizer 'lbfgs'; choose one of sgd, nesterov, rmsprop, adam"),
        ({"surface": "everest"}, "unknown surface 'everest'; choose one of bumpy, ravine, rosenbrock, saddle"),
        ({"steps": 0}, "steps must be an int from 1"),
        ({"steps": 2.5}, "steps must be an int from 1"),
        ({"start": (1.0, 2.0)}, "has 1 coordinate"),
    ],
)
def test_bad_arguments_give_clear_errors(kwargs, message):
    args = {"surface": "bumpy", "optimizer": "sgd", "lr": 0.01, "momentum": 0.0, "steps": 5} | kwargs
    with pytest.raises(LandscapeError, match=message):
        landscapes.trajectory(**args)


def test_surface_checks_the_point_shape():
    with pytest.raises(LandscapeError, match="2 coordinate"):
        landscapes.get_surface("ravine")(torch.zeros(3))
    grid = landscapes.get_surface("ravine")(torch.zeros(4, 5, 2))
    assert grid.shape == (4, 5)


@pytest.mark.parametrize("surface, optimizer", [("ravine", "sgd"), ("rosenbrock", "nesterov"), ("bumpy", "rmsprop"),
                                                ("saddle", "adam")])
def test_stability_map_cells_are_the_walks_of_trajectory(surface, optimizer):
    lrs, momenta = (0.001, 0.05, 0.3, 0.9), (0.0, 0.5, 0.9)
    smap = landscapes.stability_map(surface, optimizer, steps=60, lrs=lrs, momenta=momenta)
    assert smap.gaps.shape == (61, 3, 4) and smap.diverged_at.shape == (3, 4)
    best = landscapes.get_surface(surface).best_loss
    for i, mu in enumerate(momenta):
        for j, lr in enumerate(lrs):
            walk = landscapes.trajectory(surface, optimizer, lr=lr, momentum=mu, steps=60)
            if walk.diverged:
                assert int(smap.diverged_at[i, j]) == walk.diverged_at
            else:
                assert int(smap.diverged_at[i, j]) == 0
                assert smap.gaps[:, i, j].tolist() == [loss - best for loss in walk.losses]  # bit for bit


def test_stability_map_after_some_steps():
    smap = landscapes.stability_map("ravine", "sgd", steps=40, lrs=(0.1, 0.45, 0.6), momenta=(0.0,))
    gap, diverged = smap.after(40)
    assert diverged.tolist() == [[False, False, True]]
    assert math.isnan(gap[0, 2]) and gap[0, 1] < gap[0, 0]
    early_gap, early_diverged = smap.after(2)
    assert not early_diverged.any() and math.isfinite(early_gap[0, 2])
    with pytest.raises(landscapes.LandscapeError, match="up to 40 steps"):
        smap.after(41)
    with pytest.raises(landscapes.LandscapeError, match="momentum must be in"):
        landscapes.stability_map("ravine", "sgd", lrs=(0.1,), momenta=(1.0,))
    with pytest.raises(landscapes.LandscapeError, match="at least one"):
        landscapes.stability_map("ravine", "sgd", lrs=())


def test_ravine_stability_edge_follows_the_y_factor():
    """SGD on 0.1x² + 2y² multiplies y by 1 − 4η each step: bounded up to η = 0.5, diverging above it."""
    smap = landscapes.stability_map("ravine", "sgd", steps=200, lrs=(0.2, 0.3, 0.49, 0.51), momenta=(0.0, 0.5))
    _, diverged = smap.after(200)
    assert diverged[0].tolist() == [False, False, False, True]
    assert not diverged[1].any()  # with momentum μ the edge moves to η = (1 + μ)/2


@pytest.mark.parametrize("lr, momentum", [(0.5, 0.0), (10 ** -0.3, 0.0), (0.75, 0.5)])
def test_at_the_stability_limit_more_steps_are_not_advised(lr, momentum):
    outcome = landscapes.describe(landscapes.trajectory("ravine", "sgd", lr=lr, momentum=momentum, steps=40))
    assert outcome.kind == "oscillating"
    assert "stability limit" in outcome.text and "more steps will not help" in outcome.text


def test_a_shrinking_oscillation_still_gets_more_steps_advice():
    outcome = landscapes.describe(landscapes.trajectory("ravine", "sgd", lr=0.49, steps=40))
    assert outcome.kind == "oscillating" and "give it more steps" in outcome.text
