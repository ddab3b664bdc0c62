"""course_utils.topics.cnn: convolution by loops and unfold, size arithmetic, filters and the kernel editor."""

import matplotlib.pyplot as plt
import pytest
import torch
import torch.nn.functional as F
from hypothesis import given, settings
from hypothesis import strategies as st
from torch import nn

from course_utils import widgets
from course_utils.topics import cnn


@settings(max_examples=25, deadline=None)
@given(
    size=st.integers(1, 12), kernel=st.integers(1, 5), stride=st.integers(1, 3),
    padding=st.integers(0, 2), dilation=st.integers(1, 2),
)
def test_output_size_matches_real_layers(size, kernel, stride, padding, dilation):
    span = dilation * (kernel - 1) + 1
    if size + 2 * padding < span:
        with pytest.raises(ValueError, match="kernel covers"):
            cnn.conv_output_size(size, kernel, stride, padding, dilation)
        return
    layer = nn.Conv2d(1, 1, kernel, stride=stride, padding=padding, dilation=dilation)
    expected = layer(torch.zeros(1, 1, size, size)).shape[-1]
    assert cnn.conv_output_size(size, kernel, stride, padding, dilation) == expected


@pytest.mark.parametrize("args", [(0, 3), (8, 0), (8, 3, 0), (8, 3, 1, -1), (8, 3, 1, 0, 0), (8.0, 3), (True, 3)])
def test_output_size_rejects_bad_numbers(args):
    with pytest.raises(ValueError, match="must be an int"):
        cnn.conv_output_size(*args)


def test_param_count_matches_nn_conv2d():
    for c_in, c_out, k, bias in [(3, 32, 3, True), (1, 16, 5, False), (8, 4, (1, 3), True)]:
        layer = nn.Conv2d(c_in, c_out, k, bias=bias)
        assert cnn.conv_param_count(c_in, c_out, k, bias) == sum(p.numel() for p in layer.parameters())
    with pytest.raises(ValueError, match="in_channels"):
        cnn.conv_param_count(0, 3, 3)
    with pytest.raises(ValueError, match="kernel_size"):
        cnn.conv_param_count(1, 3, (3, 3, 3))


def test_cross_correlation_loops_match_conv2d():
    torch.manual_seed(0)
    image, kernel = torch.randn(6, 7), torch.randn(3, 2)
    expected = F.conv2d(image[None, None], kernel[None, None])[0, 0]
    torch.testing.assert_close(cnn.cross_correlate_2d(image, kernel), expected, atol=1e-5, rtol=0)
    with pytest.raises(ValueError, match="conv2d_loops"):
        cnn.cross_correlate_2d(image[None], kernel)


@pytest.mark.parametrize("stride,padding,dilation", [(1, 0, 1), (2, 1, 1), (1, 2, 2), ((2, 1), (0, 1), (1, 2))])
def test_batched_convolutions_match_functional(stride, padding, dilation):
    torch.manual_seed(1)
    x, weight, bias = torch.randn(2, 3, 9, 8), torch.randn(4, 3, 3, 2), torch.randn(4)
    expected = F.conv2d(x, weight, bias, stride=stride, padding=padding, dilation=dilation)
    for fn in (cnn.conv2d_loops, cnn.conv2d_unfold):
        got = fn(x, weight, bias, stride=stride, padding=padding, dilation=dilation)
        torch.testing.assert_close(got, expected, atol=1e-5, rtol=0)
    no_bias = cnn.conv2d_unfold(x, weight, stride=stride, padding=padding, dilation=dilation)
    torch.testing.assert_close(no_bias, F.conv2d(x, weight, stride=stride, padding=padding, dilation=dilation),
                               atol=1e-5, rtol=0)


def test_convolution_bad_input_says_what_is_wrong():
    x, weight = torch.randn(1, 3, 5, 5), torch.randn(2, 3, 3, 3)
    with pytest.raises(ValueError, match="unsqueeze"):
        cnn.conv2d_loops(x[0], weight)
    with pytest.raises(ValueError, match="input channels"):
        cnn.conv2d_unfold(torch.randn(1, 2, 5, 5), weight)
    with pytest.raises(ValueError, match="one per output channel"):
        cnn.conv2d_loops(x, weight, torch.zeros(3))
    with pytest.raises(ValueError, match="C_out, C_in"):
        cnn.conv2d_loops(x, weight[0])
    with pytest.raises(ValueError, match="stride"):
        cnn.conv2d_loops(x, weight, stride=0)
    with pytest.raises(ValueError, match="pair of ints"):
        cnn.conv2d_loops(x, weight, padding=(1, 1, 1))


def test_pooling_by_unfold():
    torch.manual_seed(2)
    x = torch.randn(2, 3, 6, 4)
    torch.testing.assert_close(cnn.pool2d_unfold(x, 2), F.max_pool2d(x, 2))
    torch.testing.assert_close(cnn.pool2d_unfold(x, 2, mode="avg"), F.avg_pool2d(x, 2))
    torch.testing.assert_close(cnn.pool2d_unfold(x, 3, stride=1), F.max_pool2d(x, 3, stride=1))
    with pytest.raises(ValueError, match="'max' or 'avg'"):
        cnn.pool2d_unfold(x, 2, mode="min")
    with pytest.raises(ValueError, match="N, C, H, W"):
        cnn.pool2d_unfold(x[0], 2)


def test_presets_and_filtering():
    assert set(cnn.KERNEL_PRESETS) >= {"identity", "sobel x (vertical edges)", "gaussian blur"}
    image = torch.rand(10, 12)
    torch.testing.assert_close(cnn.filter_image(image, cnn.preset_kernel("identity")), image)
    flat = cnn.filter_image(torch.full((6, 6), 0.3), cnn.preset_kernel("sobel y (horizontal edges)"))
    assert flat.abs().max() < 1e-6  # reflection padding: no fake edge at the border
    assert cnn.filter_image(image, [[0.0, 0.0, 0.0], [0.0, 2.0, 0.0], [0.0, 0.0, 0.0]]).allclose(2 * image)
    with pytest.raises(ValueError, match="unknown kernel preset"):
        cnn.preset_kernel("blurry")
    with pytest.raises(ValueError, match="odd sides"):
        cnn.filter_image(image, torch.ones(2, 2))
    with pytest.raises(ValueError, match="to_grayscale"):
        cnn.filter_image(torch.rand(3, 5, 5), torch.ones(3, 3))


def test_grayscale_accepts_both_layouts():
    rgb = torch.rand(3, 4, 5)
    torch.testing.assert_close(cnn.to_grayscale(rgb), cnn.to_grayscale(rgb.permute(1, 2, 0)))
    assert cnn.to_grayscale(torch.ones(3, 2, 2)).allclose(torch.ones(2, 2))
    with pytest.raises(ValueError, match="RGB"):
        cnn.to_grayscale(torch.rand(4, 5))


def test_kernel_figure_has_three_titled_panels():
    fig = cnn.kernel_figure(torch.rand(8, 9), cnn.preset_kernel("sharpen"), title="sharp")
    assert [ax.get_title() for ax in fig.axes] == ["input", "kernel", "sharp"]
    assert len(fig.axes[1].texts) == 9
    plt.close(fig)


def test_output_scale_is_fixed_so_brightness_shows():
    image = torch.rand(10, 12)
    blur = cnn.preset_kernel("gaussian blur")
    for kernel in (blur, 2 * blur, cnn.preset_kernel("sharpen")):  # weights not summing to 0: the input's scale
        assert cnn.output_scale(kernel, cnn.filter_image(image, kernel))[:2] == (0.0, 1.0)
    fig = cnn.kernel_figure(image, 2 * blur)
    assert fig.axes[2].images[0].get_clim() == (0.0, 1.0) and "input's scale" in fig.axes[2].get_xlabel()
    sobel = cnn.preset_kernel("sobel x (vertical edges)")
    out = cnn.filter_image(image, sobel)
    low, high, note = cnn.output_scale(sobel, out)
    assert low == -high and high == pytest.approx(out.abs().max().item()) and "mid-grey" in note
    plt.close("all")


def test_kernel_editor_redraws_once_per_change():
    editor = cnn.KernelEditor(torch.rand(12, 12), preset="identity")
    assert editor.redraws == 0 and editor.kernel().equal(cnn.preset_kernel("identity"))
    assert "keeps the overall brightness" in editor.status.value
    editor.preset.value = "laplacian (all edges)"  # nine boxes change, one redraw
    assert editor.redraws == 1 and editor.kernel().equal(cnn.preset_kernel("laplacian (all edges)"))
    assert "only responds to changes" in editor.status.value
    assert editor.fig.axes[2].get_title() == "output (laplacian (all edges))"
    editor.cells[4].value = 5.0  # editing a box switches the menu to "custom"
    assert editor.redraws == 2 and editor.preset.value == "custom"
    assert editor.kernel()[1, 1].item() == 5.0 and "sum of the weights = 9" in editor.status.value
    assert editor.fig.axes[2].get_title() == "output (custom)"
    plt.close("all")


def test_kernel_editor_show_uses_a_live_figure(monkeypatch):
    shown = []
    monkeypatch.setattr(widgets, "show_controls", lambda box, text, **_: shown.append(text))
    editor = cnn.KernelEditor(torch.rand(6, 6))
    editor.show()
    assert shown and "3x3 kernel" in shown[0] and editor.live is not None
    editor.preset.value = "emboss"
    assert editor.redraws == 1 and editor.live.fig is editor.fig
    plt.close("all")


def test_kernel_editor_bad_input():
    with pytest.raises(ValueError, match="greyscale"):
        cnn.KernelEditor(torch.rand(3, 6, 6))
    with pytest.raises(ValueError, match="unknown preset"):
        cnn.KernelEditor(torch.rand(6, 6), preset="nope")


def test_receptive_field_formula_matches_autograd():
    stacks = [
        nn.Sequential(nn.Conv2d(1, 2, 3), nn.ReLU(), nn.MaxPool2d(2), nn.Conv2d(2, 2, 3)),
        nn.Sequential(nn.Conv2d(1, 1, 5, stride=2, padding=2), nn.Conv2d(1, 1, 3, dilation=3), nn.AvgPool2d(3, 2)),
        nn.Sequential(nn.Sequential(nn.Conv2d(1, 1, 3, padding=1), nn.BatchNorm2d(1)), nn.Conv2d(1, 1, 1)),
    ]
    for stack in stacks:
        assert cnn.receptive_field(stack)[-1][1] == cnn.measured_receptive_field(stack, 64)
    assert [r for _, r, _ in cnn.receptive_field(stacks[0])] == [3, 4, 8]


def test_receptive_field_bad_input():
    with pytest.raises(ValueError, match="mixes all positions"):
        cnn.receptive_field(nn.Sequential(nn.Conv2d(1, 1, 3), nn.Flatten()))
    with pytest.raises(ValueError, match="no Conv2d"):
        cnn.receptive_field(nn.Sequential(nn.ReLU()))
    with pytest.raises(ValueError, match="larger size"):
        cnn.measured_receptive_field(nn.Sequential(*[nn.Conv2d(1, 1, 5) for _ in range(4)]), 18)
    with pytest.raises(ValueError, match="size must be"):
        cnn.measured_receptive_field(nn.Sequential(nn.Conv2d(1, 1, 3)), 2)


def test_multiply_adds():
    conv = nn.Conv2d(3, 8, 3, padding=1)
    assert cnn.multiply_adds(conv, (3, 5, 5)) == 8 * 25 * 3 * 9
    grouped = nn.Conv2d(8, 8, 3, padding=1, groups=8)
    assert cnn.multiply_adds(grouped, (8, 4, 4)) == 8 * 16 * 9
    mlp = nn.Sequential(nn.Flatten(), nn.Linear(12, 5), nn.ReLU(), nn.Linear(5, 2))
    assert cnn.multiply_adds(mlp, (1, 3, 4)) == 12 * 5 + 5 * 2
    assert mlp.training
    with pytest.raises(ValueError, match="input_shape"):
        cnn.multiply_adds(conv, (3, 0, 5))


def test_depthwise_and_pointwise_match_nn():
    torch.manual_seed(0)
    x = torch.randn(2, 4, 6, 5)
    dw, pw = nn.Conv2d(4, 4, 3, padding=1, groups=4), nn.Conv2d(4, 7, 1)
    with torch.no_grad():
        assert torch.allclose(cnn.depthwise_conv2d(x, dw.weight, dw.bias, padding=1), dw(x), atol=1e-5)
        assert torch.allclose(cnn.pointwise_conv2d(x, pw.weight, pw.bias), pw(x), atol=1e-5)
    with pytest.raises(ValueError, match="depthwise_conv2d needs"):
        cnn.depthwise_conv2d(x, torch.zeros(4, 2, 3, 3))
    with pytest.raises(ValueError, match="pointwise_conv2d needs"):
        cnn.pointwise_conv2d(x, torch.zeros(7, 4, 3, 3))
