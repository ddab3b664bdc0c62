"""Unit tests of course_utils.topics.contrastive (notebook 19)."""

import math

import matplotlib.pyplot as plt
import pytest
import torch
import torch.nn.functional as F
from hypothesis import given, settings
from hypothesis import strategies as st

from course_utils.topics import contrastive as C


def _pairs(seed: int, n: int = 5, d: int = 4) -> tuple[torch.Tensor, torch.Tensor]:
    g = torch.Generator().manual_seed(seed)
    return torch.randn(n, d, generator=g), torch.randn(n, d, generator=g)


# --------------------------------------------------------------------------- losses


@settings(max_examples=25, deadline=None)
@given(seed=st.integers(0, 10_000), n=st.integers(2, 6), d=st.integers(1, 5),
       tau=st.floats(0.05, 5.0))
def test_nt_xent_matches_the_loops(seed, n, d, tau):
    z1, z2 = _pairs(seed, n, d)
    assert math.isclose(C.nt_xent(z1, z2, tau).item(), C.nt_xent_loops(z1, z2, tau), rel_tol=1e-4, abs_tol=1e-5)


@settings(max_examples=25, deadline=None)
@given(seed=st.integers(0, 10_000), n=st.integers(2, 6), tau=st.floats(0.05, 5.0))
def test_clip_loss_matches_the_loops(seed, n, tau):
    u, v = _pairs(seed, n)
    assert math.isclose(C.clip_loss(u, v, tau).item(), C.clip_loss_loops(u, v, tau), rel_tol=1e-4, abs_tol=1e-5)


def test_nt_xent_is_invariant_to_scale_and_swapping_views():
    z1, z2 = _pairs(0)
    base = C.nt_xent(z1, z2, 0.5)
    assert torch.allclose(C.nt_xent(3 * z1, 0.5 * z2, 0.5), base, atol=1e-6)
    assert torch.allclose(C.nt_xent(z2, z1, 0.5), base, atol=1e-6)


def test_nt_xent_known_values():
    n = 8
    same = torch.ones(n, 3)
    assert math.isclose(C.nt_xent(same, same, 0.5).item(), math.log(2 * n - 1), rel_tol=1e-6)
    eye = torch.eye(4)
    assert math.isclose(C.nt_xent(eye, eye, 0.5).item(), math.log(1 + 6 * math.exp(-2)), rel_tol=1e-6)


def test_clip_loss_accepts_a_learned_temperature_and_gives_gradients():
    model = C.DualEncoder(10)
    u, v = _pairs(1, 4, 64)
    loss = C.clip_loss(u, v, model.temperature)
    loss.backward()
    assert model.log_scale.grad is not None
    assert math.isclose(model.temperature.item(), 0.1, rel_tol=1e-6)


@pytest.mark.parametrize("fn", [C.nt_xent, C.nt_xent_loops, C.clip_loss, C.clip_loss_loops])
def test_losses_refuse_bad_input(fn):
    z = torch.randn(4, 3)
    with pytest.raises(ValueError, match="same shape"):
        fn(z, torch.randn(5, 3))
    with pytest.raises(ValueError, match="at least 2 pairs"):
        fn(z[:1], z[:1])
    with pytest.raises(ValueError, match="temperature must be a positive number"):
        fn(z, z, 0.0)
    with pytest.raises(ValueError, match="must be tensors"):
        fn(z.tolist(), z)


# --------------------------------------------------------------------------- augmentations


def test_augment_keeps_shape_and_range_and_is_seeded():
    x = torch.rand(6, 1, 8, 8)
    a = C.augment(x, generator=torch.Generator().manual_seed(0))
    b = C.augment(x, generator=torch.Generator().manual_seed(0))
    assert a.shape == x.shape and float(a.min()) >= 0 and float(a.max()) <= 1
    assert torch.equal(a, b)
    assert not torch.equal(a, C.augment(x, generator=torch.Generator().manual_seed(1)))


def test_augment_with_nothing_to_do_is_the_identity():
    x = torch.rand(3, 1, 8, 8)
    none = C.Augment(degrees=0, scale=0, shift=0, noise=0, cutout=0)
    assert torch.allclose(C.augment(x, none), x, atol=1e-6)


def test_cutout_erases_a_3x3_square():
    x = torch.ones(20, 1, 8, 8)
    out = C.augment(x, C.Augment(degrees=0, scale=0, shift=0, noise=0, cutout=1.0))
    assert ((out == 0).flatten(1).sum(1) == 9).all()


def test_augment_and_recipe_refuse_bad_input():
    with pytest.raises(ValueError, match=r"\(N, 1, 8, 8\)"):
        C.augment(torch.rand(3, 64))
    with pytest.raises(ValueError, match="probability"):
        C.Augment(cutout=1.5)
    with pytest.raises(ValueError, match="≥ 0"):
        C.Augment(noise=-0.1)
    with pytest.raises(ValueError, match=r"\[0, 1\)"):
        C.Augment(scale=1.0)


def test_views_figure():
    fig = C.views_figure(torch.rand(4, 1, 8, 8))
    assert len(fig.axes) == 12
    plt.close(fig)


# --------------------------------------------------------------------------- training, probes


def test_train_simclr_lowers_the_loss_without_labels():
    torch.manual_seed(0)
    x = torch.rand(64, 1, 8, 8)
    run = C.train_simclr(x, epochs=5, batch_size=32, generator=torch.Generator().manual_seed(0))
    assert len(run.losses) == 5 and run.losses[-1] < run.losses[0]
    assert C.embed(run.encoder, x).shape == (64, 256)
    assert C.embed(run.encoder, x, projected=True).shape == (64, 64)


def test_training_refuses_bad_settings():
    x = torch.rand(10, 1, 8, 8)
    with pytest.raises(ValueError, match="batch_size"):
        C.train_simclr(x, epochs=1, batch_size=1)
    with pytest.raises(ValueError, match="smaller batch_size"):
        C.train_simclr(x, epochs=1, batch_size=16)
    with pytest.raises(ValueError, match="epochs"):
        C.train_simclr(x, epochs=0, batch_size=4)
    with pytest.raises(ValueError, match="epochs"):
        C.train_supervised(x, torch.zeros(10, dtype=torch.int64), epochs=0)


def test_per_class_subset():
    y = torch.arange(10).repeat(5)
    rows = C.per_class_subset(y, 3, generator=torch.Generator().manual_seed(0))
    assert len(rows) == 30 and torch.equal(torch.bincount(y[rows]), torch.full((10,), 3))
    with pytest.raises(ValueError, match="positive int"):
        C.per_class_subset(y, 0)
    with pytest.raises(ValueError, match="only 5 examples"):
        C.per_class_subset(y, 6)
    with pytest.raises(ValueError, match="positive int"):
        C.per_class_subset(y, True)


def test_fit_probe_matches_scikit_learn():
    from sklearn.linear_model import LogisticRegression

    g = torch.Generator().manual_seed(0)
    X = torch.randn(40, 5, generator=g)
    y = torch.randint(0, 3, (40,), generator=g)
    probe = C.fit_probe(X, y, l2=0.5, n_classes=3)
    sk = LogisticRegression(C=2.0, max_iter=5000, tol=1e-10).fit(X.double().numpy(), y.numpy())
    ours = F.softmax(probe(X), dim=1).double()
    assert torch.allclose(ours, torch.from_numpy(sk.predict_proba(X.double().numpy())), atol=1e-3)
    assert 0 <= C.probe_accuracy(probe, X.double(), y) <= 1


def test_fit_probe_refuses_bad_input():
    with pytest.raises(ValueError, match="l2 must be > 0"):
        C.fit_probe(torch.randn(4, 2), torch.zeros(4, dtype=torch.int64), l2=0.0)
    with pytest.raises(ValueError, match=r"features \(N, d\)"):
        C.fit_probe(torch.randn(4, 2), torch.zeros(3, dtype=torch.int64))


def test_standardize_uses_the_reference_statistics():
    ref = torch.tensor([[0.0, 1.0], [2.0, 3.0]])
    _, other = C.standardize(ref, torch.tensor([[1.0, 2.0]]))
    assert torch.allclose(other, torch.zeros(1, 2))


def test_train_supervised_fits_its_labels():
    torch.manual_seed(0)
    x = torch.rand(10, 1, 8, 8)
    y = torch.arange(10)
    model = C.train_supervised(x, y, epochs=100, recipe=None)
    assert C.model_accuracy(model, x, y) == 1.0


# --------------------------------------------------------------------------- captions and CLIP


def test_captions_and_vocabulary():
    assert C.caption(7, "a handwritten {word}") == "a handwritten seven"
    assert C.caption(4, "{word} , an {parity} number") == "four , an even number"
    vocab = C.Vocabulary(C.all_training_captions())
    ids = vocab.encode(["the digit 7", "a zebra"], length=5)
    assert ids.shape == (2, 5) and ids[0, 3] == C.Vocabulary.PAD
    assert ids[1, 1] == C.Vocabulary.UNKNOWN
    prompt = [C.caption(d, C.ZERO_SHOT_TEMPLATE) for d in range(10)]
    assert not set(prompt) & set(C.all_training_captions())
    assert C.Vocabulary.UNKNOWN not in vocab.encode(prompt).tolist()[0]


def test_caption_and_vocabulary_refuse_bad_input():
    with pytest.raises(ValueError, match="digit 0-9"):
        C.caption(10, "{word}")
    vocab = C.Vocabulary(["a b"])
    with pytest.raises(ValueError, match="list of texts"):
        vocab.encode("a b")
    with pytest.raises(ValueError, match="larger length"):
        vocab.encode(["a b a b"], length=3)


def test_train_clip_and_zero_shot_shapes():
    torch.manual_seed(0)
    x = torch.rand(40, 1, 8, 8)
    y = torch.arange(10).repeat(4)
    run = C.train_clip(x, y, epochs=2, batch_size=20, generator=torch.Generator().manual_seed(0))
    assert len(run.losses) == 2
    logits = C.zero_shot_logits(run, x[:5])
    assert logits.shape == (5, 10) and float(logits.abs().max()) <= 1 + 1e-6
    with pytest.raises(ValueError, match="must contain"):
        C.zero_shot_logits(run, x[:5], "a picture")
    both = C.prompt_logits(run, x[:5], ["an even number", "an odd number"])
    assert both.shape == (5, 2)
    assert torch.allclose(C.prompt_logits(run, x[:5], [C.caption(d, C.ZERO_SHOT_TEMPLATE) for d in range(10)]),
                          logits)
    with pytest.raises(ValueError, match="at least two texts"):
        C.prompt_logits(run, x[:5], "an odd number")


def test_clip_loss_floor_counts_false_negatives():
    one_per_class = torch.arange(10).repeat(3)
    assert C.clip_loss_floor(torch.arange(30), 10, epochs=2) == 0.0  # all labels different: no false negatives
    assert math.isclose(C.clip_loss_floor(torch.zeros(30, dtype=torch.long), 10, epochs=2), math.log(10))
    floor = C.clip_loss_floor(one_per_class, 10, epochs=5, generator=torch.Generator().manual_seed(0))
    assert 0 < floor < math.log(10)
    with pytest.raises(ValueError, match="batch_size"):
        C.clip_loss_floor(one_per_class, 1)
    with pytest.raises(ValueError, match="smaller batch_size"):
        C.clip_loss_floor(one_per_class, 64)


def test_accuracy():
    assert C.accuracy(torch.tensor([[0.0, 1.0], [2.0, 1.0]]), torch.tensor([1, 1])) == 0.5


def test_pca_features_are_centred_decorrelated_and_refuse_bad_dims():
    x = torch.rand(50, 1, 8, 8, generator=torch.Generator().manual_seed(0))
    train, test = C.pca_features(x, x[:7], dim=5)
    assert train.shape == (50, 5) and test.shape == (7, 5)
    assert torch.allclose(train.mean(0), torch.zeros(5), atol=1e-5)
    cov = train.T @ train
    assert torch.allclose(cov - torch.diag(cov.diagonal()), torch.zeros(5, 5), atol=1e-3)
    assert (cov.diagonal()[:-1] >= cov.diagonal()[1:]).all()  # directions sorted by variance
    for bad in (0, 65, 2.5, True):
        with pytest.raises(ValueError, match="dim must be"):
            C.pca_features(x, dim=bad)


def test_top1_retrieval():
    z = torch.eye(6)[:3]
    assert C.top1_retrieval(z, z) == 1.0
    assert C.top1_retrieval(z, torch.roll(z, 1, 0)) == 0.0
    with pytest.raises(ValueError, match="same shape"):
        C.top1_retrieval(z, z[:2])


# --------------------------------------------------------------------------- geometry and the widget


def test_alignment_and_uniformity():
    z = torch.eye(4)
    assert C.alignment(z, z) == 0.0
    assert math.isclose(C.uniformity(torch.ones(5, 3)), 0.0, abs_tol=1e-6)  # collapse: the worst value
    assert C.uniformity(z) < -1
    with pytest.raises(ValueError, match="at least two"):
        C.uniformity(torch.ones(1, 3))


def test_softmax_over_batch():
    z1, z2 = _pairs(3)
    p = C.softmax_over_batch(z1, z2, 0.5, anchor=2)
    assert math.isclose(p.sum().item(), 1.0, rel_tol=1e-6) and p[2] == 0
    with pytest.raises(ValueError, match="anchor"):
        C.softmax_over_batch(z1, z2, 0.5, anchor=10)


def test_temperature_explorer_redraws():
    z1, z2 = _pairs(4, 8, 6)
    explorer = C.TemperatureExplorer(z1, z2, trained_at=0.5, temperature=0.5)
    assert explorer.redraws == 0 and "NT-Xent" in explorer.status.value
    low = explorer.loss
    explorer.temperature.value = 0.05
    assert explorer.redraws == 1 and explorer.loss != low
    explorer.anchor.value = 3
    assert explorer.redraws == 2 and 0 <= explorer.partner_probability <= 1
    assert f"{explorer.partner_probability:.2f}" in explorer.status.value
    explorer.figure()
    assert explorer.redraws == 2  # figure() is pure
    plt.close("all")
    with pytest.raises(ValueError, match="temperature"):
        C.TemperatureExplorer(z1, z2, trained_at=0.5, temperature=-1)
