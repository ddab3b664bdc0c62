"""Helpers of notebook 21: FLOPs, timing, the profiler rows, the compile fallback, threads, data loading, widget."""

import math
import time

import matplotlib.pyplot as plt
import pytest
import torch
from torch.utils.data import DataLoader

from course_utils.topics import performance


@pytest.fixture(scope="module")
def digits():
    return performance.digits_32(size=16, seed=0)


def test_small_cnn_shapes_and_seed():
    a, b = performance.small_cnn(seed=3), performance.small_cnn(seed=3)
    assert all(torch.equal(p, q) for p, q in zip(a.parameters(), b.parameters(), strict=True))
    assert a(torch.zeros(2, 1, 32, 32)).shape == (2, 10)
    state = torch.random.get_rng_state()
    performance.small_cnn(seed=5)
    assert torch.equal(state, torch.random.get_rng_state())  # building a model leaves the global generator alone


def test_small_cnn_bad_input():
    with pytest.raises(ValueError, match="multiple of 4"):
        performance.small_cnn(size=30)
    with pytest.raises(ValueError, match="two positive ints"):
        performance.small_cnn(channels=(16,))


def test_digits_32(digits):
    assert digits.X_train.shape[1:] == (1, 16, 16) and digits.sizes() == (1438, 0, 359)
    assert digits.X_train.min() >= 0.0 and digits.X_train.max() <= 1.0
    with pytest.raises(ValueError, match="size must be"):
        performance.digits_32(size=4)


@pytest.mark.parametrize(("shape", "layer"), [((4, 3, 10, 10), torch.nn.Conv2d(3, 5, 3)),
                                               ((2, 2, 8, 8), torch.nn.Conv2d(2, 4, 5, padding=2))])
def test_conv2d_flops_matches_flop_counter(shape, layer):
    x = torch.zeros(shape)
    out = layer(x)
    formula = performance.conv2d_flops(shape[0], layer.in_channels, layer.out_channels, layer.kernel_size[0],
                                       out.shape[2], out.shape[3])
    assert formula == sum(performance.counted_flops(lambda: layer(x)).values())


def test_layer_flops_sum_matches_flop_counter():
    model, x = performance.small_cnn(seed=0), torch.zeros(3, 1, 32, 32)
    rows = performance.layer_flops(model, x)
    assert [name.split(":")[0] for name, _ in rows] == ["0", "3", "7"]
    assert sum(f for _, f in rows) == sum(performance.counted_flops(lambda: model(x)).values())


def test_conv2d_flops_bad_input():
    with pytest.raises(ValueError, match="positive int"):
        performance.conv2d_flops(0, 1, 1, 3, 4, 4)
    with pytest.raises(ValueError, match="positive int"):
        performance.conv2d_flops(1, 1.5, 1, 3, 4, 4)


def test_median_time_counts_calls_and_rejects_bad_input():
    calls = []
    seconds = performance.median_time(lambda: calls.append(1), repeats=5, warmup=2)
    assert len(calls) == 7 and seconds >= 0
    assert performance.median_time(lambda: time.sleep(0.002), repeats=3, warmup=0) >= 0.0015
    with pytest.raises(ValueError, match="repeats"):
        performance.median_time(lambda: None, repeats=0)
    with pytest.raises(ValueError, match="warmup"):
        performance.median_time(lambda: None, warmup=-1)


def test_format_timed_matches_the_output_sanitizer():
    import re

    pattern = re.compile(r"\b\d+(\.\d+)? ?(ms|µs|us|s) \(timed\)")
    for seconds in (1e-6, 0.0123, 0.5, 3.7):
        assert pattern.fullmatch(performance.format_timed(seconds))


def test_train_epochs_learns(digits):
    model = performance.small_cnn(seed=0, size=16)
    losses = performance.train_epochs(model, digits.X_train, digits.y_train, epochs=1, batch_size=64)
    assert len(losses) == math.ceil(1438 / 64) and losses[-1] < losses[0]
    with pytest.raises(ValueError, match="positive ints"):
        performance.train_epochs(model, digits.X_train, digits.y_train, epochs=0)


def test_num_threads_restores_even_after_an_error():
    before = torch.get_num_threads()
    with pytest.raises(RuntimeError, match="boom"), performance.num_threads(2):
        assert torch.get_num_threads() == 2
        raise RuntimeError("boom")
    assert torch.get_num_threads() == before
    with pytest.raises(ValueError, match="positive int"), performance.num_threads(0):
        pass


def test_profile_rows_self_and_total(digits, capfd):
    model = performance.small_cnn(seed=0, size=16)
    optimizer = torch.optim.SGD(model.parameters(), lr=0.01)
    step = performance.train_step(model, optimizer, digits.X_train[:16], digits.y_train[:16])
    prof = performance.profile_steps(step, steps=2)
    assert "profiler_start" not in capfd.readouterr().err  # Kineto's lines are kept out of the notebook
    rows = performance.profile_rows(prof)
    by_name = {r.name: r for r in rows}
    assert by_name["train_step"].calls == 2 and by_name["aten::conv2d"].calls == 4
    assert all(r.self_ms <= r.total_ms + 1e-6 for r in rows)
    assert [r.self_ms for r in rows] == sorted((r.self_ms for r in rows), reverse=True)
    text = performance.describe_rows(rows, ["train_step", "no::such_op", "aten::conv2d"])
    assert "no::such_op" not in text and text.count("(timed)") == 4
    fig = performance.profile_figure(rows, top=5)
    assert len(fig.axes[0].get_yticklabels()) == 5
    plt.close("all")
    groups = performance.op_groups(rows)
    assert list(groups)[-1] == "other" and sum(groups.values()) == pytest.approx(sum(r.self_ms for r in rows))
    assert groups["conv forward"] > 0 and groups["conv backward"] > 0 and groups["pooling fwd+bwd"] > 0
    assert groups["ReLU fwd+bwd"] > 0 and groups["loss fwd+bwd"] > 0
    assert groups["Python (train_step self)"] == pytest.approx(by_name["train_step"].self_ms)
    assert sum(r.self_ms for r in rows) == pytest.approx(by_name["train_step"].total_ms, rel=0.02)
    conv, child = by_name["aten::conv2d"], by_name["aten::convolution"]
    assert conv.self_ms == pytest.approx(conv.total_ms - child.total_ms, abs=0.01)
    assert performance.describe_groups(groups).count("(timed)") == 2 * len(groups)
    with pytest.raises(ValueError, match="steps"):
        performance.profile_steps(step, steps=0)


def test_compile_or_eager_compiles_a_function():
    outcome = performance.compile_or_eager(lambda x: x * 2, torch.ones(3), compiler=lambda fn, **kw: fn)
    assert outcome.compiled and "compiled" in outcome.message and torch.equal(outcome.fn(torch.ones(2)), torch.ones(2) * 2)


def test_compile_or_eager_falls_back_with_advice():
    def broken_compiler(model, **options):
        def run(x):
            raise RuntimeError("InvalidCxxCompiler: No working C++ compiler found in torch._inductor.config.cpp.cxx")
        return run

    model = torch.nn.Linear(3, 2)
    outcome = performance.compile_or_eager(model, torch.zeros(1, 3), compiler=broken_compiler)
    assert not outcome.compiled and outcome.fn is model
    assert "did not work" in outcome.message and "C++ compiler" in outcome.message and "eager" in outcome.message
    assert "InvalidCxxCompiler" in outcome.message


def test_compile_or_eager_falls_back_when_compile_itself_raises(monkeypatch):
    def refuse(model, **options):
        raise RuntimeError("Windows not yet supported for torch.compile")

    monkeypatch.setattr(torch, "compile", refuse)
    outcome = performance.compile_or_eager(torch.nn.Identity(), torch.zeros(2))
    assert not outcome.compiled and "Windows not yet supported" in outcome.message


def test_compile_or_eager_bad_input():
    with pytest.raises(ValueError, match="callable"):
        performance.compile_or_eager(3, torch.zeros(1))
    with pytest.raises(ValueError, match="input tensor"):
        performance.compile_or_eager(torch.nn.Identity(), [1, 2])


def test_format_ratio_matches_the_output_sanitizer():
    import re

    ratio = re.compile(r"\b\d+(\.\d+)? ?× \(timed\)")
    assert performance.format_ratio(1.456) == "1.46× (timed)" and ratio.fullmatch(performance.format_ratio(1.456))
    assert ratio.fullmatch(performance.format_ratio(12345.6)) and performance.format_ratio(math.inf) == "never (timed)"


def test_saved_tensor_bytes():
    model = performance.small_cnn(seed=0, size=16)
    x = torch.zeros(2, 1, 16, 16)
    assert performance.saved_tensor_bytes(lambda: model(x)) > x.numel() * 4
    with torch.no_grad():
        assert performance.saved_tensor_bytes(lambda: model(x)) == 0
    with torch.inference_mode():
        assert performance.saved_tensor_bytes(lambda: model(x)) == 0
    w = torch.ones(3, requires_grad=True)
    assert performance.saved_tensor_bytes(lambda: w + 1) == 0  # an addition saves nothing for its backward
    assert performance.saved_tensor_bytes(lambda: w * w) == 2 * 3 * 4


def test_graph_breaks_and_compiled_graphs():
    def clean(x):
        return (x * 2).relu()

    def broken(x):
        return x * x.sum().item()

    assert performance.graph_breaks(clean, torch.ones(3))[:2] == (1, 0)
    graphs, breaks, reasons = performance.graph_breaks(broken, torch.ones(3))
    assert breaks == 1 and graphs >= 1 and "item" in reasons[0]
    assert isinstance(performance.compiled_graphs(), int)


def test_batch_trainer_and_one_pass_with_training(digits):
    model = performance.small_cnn(seed=0, size=16)
    before = model[0].weight.detach().clone()
    loader = DataLoader(torch.utils.data.TensorDataset(digits.X_train[:8], digits.y_train[:8]), batch_size=4)
    seconds, total = performance.one_pass(loader, performance.batch_trainer(model, lr=0.1))
    assert seconds > 0 and not torch.equal(model[0].weight, before)


def test_break_even_calls():
    assert performance.break_even_calls(10.0, 0.005, 0.003) == pytest.approx(5000)
    assert performance.break_even_calls(1.0, 0.002, 0.002) == math.inf
    assert performance.break_even_calls(1.0, 0.002, 0.003) == math.inf
    with pytest.raises(ValueError, match="≥ 0"):
        performance.break_even_calls(-1.0, 0.1, 0.1)


def test_slow_dataset_and_one_pass(digits):
    slow = performance.SlowDataset(digits.X_train[:8], digits.y_train[:8], delay_s=0.001)
    assert len(slow) == 8 and torch.equal(slow[3][0], digits.X_train[3])
    seconds, total = performance.one_pass(DataLoader(slow, batch_size=4))
    assert seconds >= 0.007 and total.item() == pytest.approx(digits.X_train[:8].double().sum().item())
    with pytest.raises(ValueError, match="same length"):
        performance.SlowDataset(digits.X_train[:3], digits.y_train[:2])
    with pytest.raises(ValueError, match="between 0 and 1"):
        performance.SlowDataset(digits.X_train[:3], digits.y_train[:3], delay_s=5)


def test_ratio_figure():
    fig = performance.ratio_figure({"a": 2.0, "b": 1.0}, "a", "t", note="n")
    widths = sorted(p.get_width() for p in fig.axes[0].patches)
    assert widths == [0.5, 1.0] and "n" in fig.axes[0].get_title()
    plt.close("all")
    with pytest.raises(ValueError, match="baseline"):
        performance.ratio_figure({"a": 1.0}, "c", "t")


def test_measure_step_times_and_explorer(digits, monkeypatch):
    before = torch.get_num_threads()
    times = performance.measure_step_times([4, 8], [1, 2], digits.X_train, digits.y_train, repeats=1)
    assert set(times) == {(4, 1), (8, 1), (4, 2), (8, 2)} and all(t > 0 for t in times.values())
    assert torch.get_num_threads() == before
    explorer = performance.StepTimeExplorer(times)
    assert explorer.redraws == 0 and "batch 8, 1 thread(s)" in explorer.status.value
    assert explorer.fig.axes[0].get_ylabel() == "ms per image" and not explorer.status_in_fallback
    explorer.batch.value, explorer.threads.value = 4, 2
    assert explorer.redraws == 2 and "batch 4, 2 thread(s)" in explorer.status.value
    assert performance.format_timed(times[(4, 2)]) in explorer.status.value  # the measured time, not a new one
    explorer.per_image.value = False
    assert explorer.redraws == 3 and explorer.fig.axes[0].get_ylabel() == "ms per training step"
    assert "per step" in explorer.status.value
    explorer.log_x.value = False
    assert explorer.redraws == 4 and explorer.fig.axes[0].get_xscale() == explorer.fig.axes[0].get_yscale() == "linear"
    line = explorer.fig.axes[0].get_lines()[0]
    assert list(line.get_ydata()) == [times[(4, 1)] * 1e3, times[(8, 1)] * 1e3]  # drawn, not re-measured
    shown = []
    monkeypatch.setattr(performance.Explorer, "show", lambda self: shown.append(self.description))
    assert explorer.show() is None and shown
    plt.close("all")


def test_per_image_trend():
    falling = {(1, 1): 1.0, (2, 1): 1.5, (4, 1): 2.0}
    assert "falls at every larger batch" in performance.per_image_trend(falling)
    assert "lowest at batch 4" in performance.per_image_trend(falling)
    assert performance.per_image_trend(falling).count("(timed)") == 3
    flat = {(1, 1): 1.0, (2, 1): 2.1, (4, 1): 4.0}
    assert "within 15 %" in performance.per_image_trend(flat)
    rising = {(1, 1): 1.0, (2, 1): 3.0, (4, 1): 8.0}
    assert "lowest at the smallest batch (1)" in performance.per_image_trend(rising)
    turning = {(1, 1): 1.0, (2, 1): 1.0, (4, 1): 4.0}
    assert "falls from batch 1 to batch 2, then rises" in performance.per_image_trend(turning)
    bumpy = {(1, 1): 1.0, (2, 1): 0.6, (4, 1): 1.6, (8, 1): 2.0}
    assert "ups and downs" in performance.per_image_trend(bumpy)
    with pytest.raises(ValueError, match="two batch sizes"):
        performance.per_image_trend({(1, 1): 1.0}, threads=1)


def test_measure_step_times_and_explorer_bad_input(digits):
    with pytest.raises(ValueError, match="at least one"):
        performance.measure_step_times([], [1], digits.X_train, digits.y_train)
    with pytest.raises(ValueError, match="bigger than the data"):
        performance.measure_step_times([5000], [1], digits.X_train, digits.y_train)
    with pytest.raises(ValueError, match="measure_step_times"):
        performance.StepTimeExplorer({})


def test_ratio_figure_uses_a_log_axis_for_very_different_ratios():
    fig = performance.ratio_figure({"a": 1.0, "b": 20.0}, "a", "t")
    assert fig.axes[0].get_xscale() == "log"
    plt.close("all")
