import io
import warnings

import matplotlib.pyplot as plt
import pytest
import torch
import torch.nn.functional as F
import torch.nn.utils.prune as prune
from matplotlib.figure import Figure
from torch import nn

from course_utils.topics import compression as C


def quantize_dynamic_quietly(model):
    from torch.ao.quantization import quantize_dynamic

    with warnings.catch_warnings():
        warnings.simplefilter("ignore")
        return quantize_dynamic(model, {nn.Linear}, dtype=torch.qint8)


# --------------------------------------------------------------------------- quantization


def test_qrange():
    assert C.qrange(8) == (-128, 127)
    assert C.qrange(8, signed=False) == (0, 255)
    assert C.qrange(2) == (-2, 1)
    for bad in (0, 17, 2.5, True):
        with pytest.raises(ValueError, match="bits must be an int"):
            C.qrange(bad)


def test_affine_round_trip_error_is_at_most_half_a_step():
    x = torch.randn(1000, generator=torch.Generator().manual_seed(0))
    for bits in (2, 4, 8):
        scale, zero_point = C.affine_qparams(x, bits)
        q = C.quantize(x, scale, zero_point, bits)
        q_min, q_max = C.qrange(bits)
        assert q.dtype == torch.int64 and q.min() >= q_min and q.max() <= q_max
        assert (C.dequantize(q, scale, zero_point) - x).abs().max() <= scale / 2 + 1e-6


def test_zero_is_exact_and_positive_only_tensors_include_zero():
    x = torch.tensor([0.0, 0.5, 1.0, 2.0])
    scale, zero_point = C.affine_qparams(x, 8)
    assert zero_point == -128  # the range [0, 2] starts at the lowest code
    assert C.fake_quantize(x, 8)[0] == 0.0
    assert C.fake_quantize(torch.zeros(3), 8).eq(0).all()


def test_quantize_matches_torch_quantize_per_tensor():
    x = torch.randn(500, generator=torch.Generator().manual_seed(1)) * 0.2
    scale, zero_point = C.affine_qparams(x, 8)
    with warnings.catch_warnings():
        warnings.simplefilter("ignore")
        reference = torch.quantize_per_tensor(x, scale, zero_point, torch.qint8).int_repr()
    assert torch.equal(C.quantize(x, scale, zero_point).to(torch.int8), reference)


def test_quantization_bad_input():
    with pytest.raises(TypeError, match="floating-point"):
        C.affine_qparams(torch.arange(3))
    with pytest.raises(ValueError, match="empty"):
        C.affine_qparams(torch.tensor([]))
    with pytest.raises(ValueError, match="inf or NaN"):
        C.affine_qparams(torch.tensor([1.0, float("inf")]))
    with pytest.raises(ValueError, match="scale must be"):
        C.quantize(torch.ones(2), 0.0, 0)


def test_rms_error_roughly_halves_per_bit():
    errors = C.rms_error_by_bits(torch.randn(5000, generator=torch.Generator().manual_seed(2)), range(4, 9))
    ratios = [errors[b] / errors[b + 1] for b in range(4, 8)]
    assert all(1.7 < r < 2.3 for r in ratios)


def test_fake_quantize_model_leaves_the_original_alone():
    model = nn.Sequential(nn.Linear(4, 3), nn.ReLU(), nn.Linear(3, 2))
    before = model[0].weight.clone()
    quantized = C.fake_quantize_model(model, 2)
    assert torch.equal(model[0].weight, before)
    assert len(torch.unique(quantized[0].weight)) <= 4


def test_dynamic_int8_linear_matches_quantize_dynamic():
    torch.manual_seed(0)
    layer = nn.Linear(64, 16)
    qlayer = quantize_dynamic_quietly(nn.Sequential(layer))[0]
    for x in (torch.rand(8, 64), torch.randn(8, 64)):  # non-negative and mixed-sign inputs
        with torch.no_grad():
            ours = C.dynamic_int8_linear(x, layer.weight, layer.bias)
            assert (ours - qlayer(x)).abs().max() < 1e-5
            assert (ours - layer(x)).abs().max() < 0.1
    with pytest.raises(ValueError, match=r"x \(N, in\)"):
        C.dynamic_int8_linear(torch.rand(8, 63), layer.weight)


@pytest.mark.skipif("qnnpack" not in torch.backends.quantized.supported_engines, reason="no qnnpack engine")
def test_dynamic_int8_linear_follows_the_arm_engine():
    torch.manual_seed(1)
    layer = nn.Linear(32, 8)
    x = torch.randn(6, 32)
    previous = torch.backends.quantized.engine
    try:
        torch.backends.quantized.engine = "qnnpack"  # uses all 8 bits for the activations
        qlayer = quantize_dynamic_quietly(nn.Sequential(layer))[0]
        with torch.no_grad():
            reference = qlayer(x)
        assert (C.dynamic_int8_linear(x, layer.weight, layer.bias) - reference).abs().max() < 1e-5
    finally:
        torch.backends.quantized.engine = previous
    assert not torch.equal(C.dynamic_int8_linear(x, layer.weight, layer.bias, reduce_range=True),
                           C.dynamic_int8_linear(x, layer.weight, layer.bias, reduce_range=False))


# --------------------------------------------------------------------------- measuring


def test_state_dict_bytes_counts_the_saved_file():
    model = nn.Linear(100, 10)
    buffer = io.BytesIO()
    torch.save(model.state_dict(), buffer)
    assert C.state_dict_bytes(model) == len(buffer.getvalue())
    assert C.state_dict_bytes(model.state_dict()) == C.state_dict_bytes(model)
    grown = C.state_dict_bytes(nn.Linear(200, 10)) - C.state_dict_bytes(model)
    assert abs(grown - 100 * 10 * 4) <= 64  # 4 bytes per float32, give or take the 64-byte alignment
    with pytest.raises(TypeError, match="nn.Module or a state dict"):
        C.state_dict_bytes([1, 2])


def test_linear_weight_bytes_float_vs_int8():
    model = nn.Sequential(nn.Linear(256, 128), nn.ReLU(), nn.Linear(128, 10)).eval()
    ratio = C.linear_weight_bytes(model) / C.linear_weight_bytes(quantize_dynamic_quietly(model))
    assert 3.5 < ratio < 4.0
    assert set(C.linear_weights(model)) == {"0.weight", "2.weight"}
    with pytest.raises(ValueError, match="no linear layer"):
        C.linear_weights(nn.Conv2d(1, 1, 3))


def test_median_latency_with_a_fake_clock():
    ticks = iter([0.0, 1.0, 1.0, 3.0, 3.0, 3.5, 10.0, 20.0])  # durations 1, 2, 0.5, 10
    calls = []
    median = C.median_latency(lambda: calls.append(1), repeats=4, warmup=2, timer=lambda: next(ticks))
    assert median == 1.5 and len(calls) == 6
    with pytest.raises(ValueError, match="repeats"):
        C.median_latency(lambda: None, repeats=0)
    with pytest.raises(TypeError, match="function"):
        C.median_latency(3)


def test_format_timed_matches_the_sanitizer():
    import re

    pattern = re.compile(r"\b\d+(\.\d+)? ?(ms|µs|us|s) \(timed\)")
    for seconds, text in [(0.00042, "0.4200 ms (timed)"), (0.5, "500.0000 ms (timed)"), (2.0, "2.000 s (timed)")]:
        assert C.format_timed(seconds) == text
        assert pattern.fullmatch(text)
    with pytest.raises(ValueError, match="non-negative"):
        C.format_timed(-1.0)


# --------------------------------------------------------------------------- pruning


def test_magnitude_mask_matches_torch_prune():
    for amount in (0.0, 0.3, 0.5, 1.0):
        layer = nn.Linear(20, 7)
        mask = C.magnitude_mask(layer.weight, amount)
        prune.l1_unstructured(layer, "weight", amount=amount)
        assert torch.equal(mask, layer.weight_mask)
    with pytest.raises(ValueError, match="between 0 and 1"):
        C.magnitude_mask(torch.ones(3), 1.5)


def test_sparsity():
    model = nn.Sequential(nn.Linear(10, 10), nn.Linear(10, 10))
    with torch.no_grad():
        model[0].weight.zero_()
    assert C.sparsity(model) == 0.5
    assert C.sparsity([torch.tensor([0.0, 1.0, 0.0, 2.0])]) == 0.5
    with pytest.raises(ValueError, match="no weights"):
        C.sparsity([])


# --------------------------------------------------------------------------- distillation


def test_soft_target_loss_is_t_squared_kl():
    g = torch.Generator().manual_seed(3)
    s, t = torch.randn(6, 10, generator=g), torch.randn(6, 10, generator=g)
    p, log_q = F.softmax(t / 2, dim=1), F.log_softmax(s / 2, dim=1)
    by_hand = 4 * (p * (p.log() - log_q)).sum(dim=1).mean()
    assert torch.allclose(C.soft_target_loss(s, t, 2.0), by_hand, atol=1e-6)
    assert C.soft_target_loss(t, t, 3.0).abs() < 1e-6
    with pytest.raises(ValueError, match="positive"):
        C.soft_target_loss(s, t, 0.0)
    with pytest.raises(ValueError, match="batch, classes"):
        C.soft_target_loss(s, t[:, :5], 1.0)


def test_distillation_loss_mixes_the_two_terms():
    g = torch.Generator().manual_seed(4)
    s, t, y = torch.randn(5, 10, generator=g), torch.randn(5, 10, generator=g), torch.arange(5)
    assert torch.allclose(C.distillation_loss(s, t, y, alpha=0.0), F.cross_entropy(s, y))
    assert torch.allclose(C.distillation_loss(s, t, y, T=4.0, alpha=1.0), C.soft_target_loss(s, t, 4.0))
    with pytest.raises(ValueError, match="alpha"):
        C.distillation_loss(s, t, y, alpha=1.5)


def test_teacher_gets_no_gradient():
    s = torch.randn(3, 10, requires_grad=True)
    t = torch.randn(3, 10, requires_grad=True)
    C.soft_target_loss(s, t, 2.0).backward()
    assert s.grad is not None and t.grad is None


# --------------------------------------------------------------------------- pictures and widget


def test_bit_width_figure():
    fig = C.bit_width_figure(torch.randn(300), 3)
    assert isinstance(fig, Figure) and len(fig.axes) == 3
    assert "8 levels of 3 bits" in fig.axes[0].get_title()
    plt.close(fig)


def test_bit_width_explorer_redraws_on_slider_change():
    explorer = C.BitWidthExplorer(torch.randn(300), bits=4, accuracy_at=lambda b, scheme: b / 10)
    assert explorer.status.value.startswith("4 bits, per_tensor_affine: 16 levels")
    assert "this way: 0.4000" in explorer.status.value
    explorer.slider.value = 6
    assert explorer.redraws == 1
    assert "64 levels of 6 bits" in explorer.fig.axes[0].get_title()
    assert explorer.status.value.startswith("6 bits, per_tensor_affine: 64 levels")
    explorer.slider.value = 20  # clamped by the slider to its maximum
    assert explorer.slider.value == 8 and explorer.redraws == 2
    plt.close("all")


def test_bit_width_explorer_scheme_menu():
    weights = torch.randn(16, 40) * torch.linspace(0.05, 1.0, 16)[:, None]     # rows of very different size
    seen = []
    explorer = C.BitWidthExplorer(weights, bits=2, accuracy_at=lambda b, scheme: seen.append((b, scheme)) or 0.5)
    assert seen == [(2, "per_tensor_affine")]
    explorer.scheme.value = "per_channel_symmetric"
    assert explorer.redraws == 1 and seen[-1] == (2, "per_channel_symmetric")
    assert explorer.status.value.startswith("2 bits, per_channel_symmetric: 3 levels")
    assert "3 levels of 2 bits" in explorer.fig.axes[0].get_title()
    assert "per channel symmetric" in explorer.fig.axes[1].get_title()
    rms = {s: C.rms_error_by_bits(weights, [2], scheme=s)[2] for s in C.SCHEMES}
    assert rms["per_channel_symmetric"] < rms["per_tensor_symmetric"]
    plt.close("all")
    with pytest.raises(ValueError, match="scheme"):
        C.BitWidthExplorer(weights, scheme="per_row")
    with pytest.raises(ValueError, match="output channels first"):
        C.bit_width_figure(torch.randn(30), 3, scheme="per_channel_symmetric")


def test_format_ratio_and_timing_noise():
    import re

    pattern = re.compile(r"(\b\d+(\.\d+)? ?×|\bnever) \(timed\)")  # the nbval sanitizer's ratio pattern
    assert C.format_ratio(1.049) == "1.05× (timed)" and pattern.fullmatch(C.format_ratio(0.5))
    with pytest.raises(ValueError, match="non-negative"):
        C.format_ratio(float("nan"))
    clock = iter(float(t) for t in range(1000))               # every call takes exactly one tick
    assert C.timing_noise(lambda: None, rounds=3, repeats=4, timer=lambda: next(clock)) == [1.0, 1.0, 1.0]
    with pytest.raises(ValueError, match="rounds"):
        C.timing_noise(lambda: None, rounds=0)


def test_ranking_auc():
    scores = torch.tensor([0.9, 0.8, 0.1, 0.2, 0.5])
    assert C.ranking_auc(scores, torch.tensor([True, True, False, False, False])) == 1.0
    assert C.ranking_auc(scores, torch.tensor([False, False, True, True, False])) == 0.0
    assert C.ranking_auc(torch.zeros(4), torch.tensor([True, False, True, False])) == 0.5   # ties count half
    with pytest.raises(ValueError, match="positive and one negative"):
        C.ranking_auc(scores, torch.ones(5, dtype=torch.bool))
    with pytest.raises(ValueError, match="same length"):
        C.ranking_auc(scores, torch.ones(3, dtype=torch.bool))


def test_results_table_and_figure():
    rows = [C.Row("big", 300_000, 0.001, 0.98), C.Row("small", 12_000, 0.0001, 0.95)]
    table = C.results_table(rows)
    assert "big" in table and "300000" in table and "0.9500" in table and "(timed)" in table
    assert "1.00× (timed)" in table and "0.10× (timed)" in table         # latency / first row
    fig = C.results_figure(rows)
    assert len(fig.axes) == 3
    plt.close(fig)
    with pytest.raises(ValueError, match="no rows"):
        C.results_table([])


# --------------------------------------------------------------------------- per-channel, sensitivity, static int8


def _small_cnn():
    torch.manual_seed(0)
    return nn.Sequential(nn.Conv2d(1, 4, 3, padding=1), nn.ReLU(), nn.Flatten(), nn.Linear(4 * 8 * 8, 10)).eval()


def test_per_channel_matches_torch_quantize_per_channel():
    w = torch.randn(6, 5, generator=torch.Generator().manual_seed(1)) * torch.linspace(0.01, 1.0, 6)[:, None]
    scales, zeros = C.per_channel_qparams(w, bits=8)
    assert torch.equal(zeros, torch.zeros(6, dtype=torch.int64))
    torch.testing.assert_close(scales, w.abs().amax(dim=1) / 127)
    with warnings.catch_warnings():
        warnings.simplefilter("ignore")
        q = torch.quantize_per_channel(w, scales.double(), zeros, 0, torch.qint8)
    torch.testing.assert_close(C.per_channel_fake_quantize(w, 8), q.dequantize(), atol=1e-7, rtol=0)
    error = (C.per_channel_fake_quantize(w, 8) - w).abs().amax(dim=1)
    assert bool((error <= scales / 2 + 1e-7).all())


def test_per_channel_beats_per_tensor_on_rows_of_different_size():
    w = torch.randn(8, 50, generator=torch.Generator().manual_seed(2)) * torch.logspace(-2, 0, 8)[:, None]
    per_tensor = (C.fake_quantize_weight(w, 4, "per_tensor_symmetric") - w).pow(2).mean()
    per_channel = (C.fake_quantize_weight(w, 4, "per_channel_symmetric") - w).pow(2).mean()
    assert per_channel < per_tensor
    conv = torch.randn(3, 2, 3, 3)
    assert C.per_channel_fake_quantize(conv, 8).shape == conv.shape


def test_per_channel_and_scheme_bad_input():
    with pytest.raises(ValueError, match="at least 2 dimensions"):
        C.per_channel_qparams(torch.randn(5))
    with pytest.raises(ValueError, match="at least 2 bits"):
        C.per_channel_qparams(torch.randn(2, 3), bits=1)
    with pytest.raises(ValueError, match="scheme is one of"):
        C.fake_quantize_weight(torch.randn(2, 3), 8, "per_row")
    with pytest.raises(ValueError, match="scheme is one of"):
        C.fake_quantize_model(_small_cnn(), 8, scheme="nope")


def test_one_layer_at_a_time():
    model = _small_cnn()
    assert C.weight_layer_names(model) == ["0", "3"]
    quantized = C.quantize_one_layer(model, "3", bits=2)
    assert torch.equal(quantized[0].weight, model[0].weight)
    assert not torch.equal(quantized[3].weight, model[3].weight)
    assert len(torch.unique(quantized[3].weight)) <= 4
    pruned = C.prune_one_layer(model, "0", amount=0.5)
    assert C.sparsity([pruned[0].weight]) == 0.5 and torch.equal(pruned[3].weight, model[3].weight)
    assert C.sparsity([model[0].weight]) == 0.0  # the original is untouched
    with pytest.raises(ValueError, match="no conv or linear layer named"):
        C.prune_one_layer(model, "1", 0.5)
    with pytest.raises(ValueError, match="no conv or linear layer named"):
        C.quantize_one_layer(model, "7", 4)


def test_static_int8_runs_and_restores_the_deterministic_mode():
    import torch.ao.quantization as tq

    engine = C.quantized_engine()
    if engine is None:
        pytest.skip("this torch build has no quantized CPU engine")
    model = nn.Sequential(tq.QuantStub(), nn.Linear(8, 4), nn.ReLU(), nn.Linear(4, 3), tq.DeQuantStub()).eval()
    with warnings.catch_warnings():
        warnings.simplefilter("ignore")
        model = tq.fuse_modules(model, [["1", "2"]])
        model.qconfig = tq.get_default_qconfig(engine)
        prepared = tq.prepare(model)
        prepared(torch.rand(32, 8))
        converted = tq.convert(prepared)
    before = torch.are_deterministic_algorithms_enabled()
    torch.use_deterministic_algorithms(True)
    try:
        with C.quantized_kernels_allowed():
            assert not torch.are_deterministic_algorithms_enabled()
            out = converted(torch.rand(5, 8))
        assert torch.are_deterministic_algorithms_enabled()
    finally:
        torch.use_deterministic_algorithms(before)
    assert out.shape == (5, 3) and out.dtype == torch.float32
    assert converted[1].weight().qscheme() == torch.per_channel_affine
    assert set(converted[1].weight().q_per_channel_zero_points().tolist()) == {0}


def test_student_comparison_figure():
    fig = C.student_comparison_figure({"a": [0.9, 0.92], "b": [0.8]}, 0.95, title="compared")
    assert fig.axes[0].get_title() == "compared" and len(fig.axes[0].patches) == 2
    plt.close(fig)
    with pytest.raises(ValueError, match="at least one accuracy"):
        C.student_comparison_figure({"a": []}, 0.9, title="x")
