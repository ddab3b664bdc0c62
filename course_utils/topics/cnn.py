"""Convolution from scratch for notebook 08 (CNN).

* ``cross_correlate_2d``: one image, one kernel, four plain loops (the definition).
* ``conv2d_loops`` / ``conv2d_unfold``: batched, multi-channel convolution with stride,
  padding and dilation, first by looping over output positions, then as one matrix
  product over unfolded patches (im2col). Both match ``F.conv2d``.
* ``pool2d_unfold``: max / average pooling the same way.
* ``conv_output_size`` and ``conv_param_count``: the shape and size arithmetic.
* ``receptive_field`` (the formula) and ``measured_receptive_field`` (autograd), ``multiply_adds``,
  ``depthwise_conv2d`` and ``pointwise_conv2d`` (grouped and 1x1 convolutions from scratch).
* ``KERNEL_PRESETS``, ``filter_image``, ``output_scale``, ``kernel_figure``: classic 3x3 filters on a photo,
  and ``KernelEditor``, the thin widget shell around ``kernel_figure``.

Everything except ``KernelEditor`` is pure.
"""

from __future__ import annotations

from collections.abc import Mapping, Sequence

import matplotlib.pyplot as plt
import torch
import torch.nn.functional as F
from matplotlib.figure import Figure
from torch import nn

from course_utils.widgets import Explorer

IntPair = int | tuple[int, int]


def _pair(value: IntPair, name: str, minimum: int) -> tuple[int, int]:
    pair = (value, value) if isinstance(value, int) and not isinstance(value, bool) else value
    if (
        not isinstance(pair, tuple)
        or len(pair) != 2
        or not all(isinstance(v, int) and not isinstance(v, bool) for v in pair)
    ):
        raise ValueError(f"{name} must be an int or a pair of ints; got {value!r}.")
    if min(pair) < minimum:
        raise ValueError(f"{name} must be at least {minimum}; got {value!r}.")
    return pair


# --------------------------------------------------------------------------- arithmetic


def conv_output_size(size: int, kernel_size: int, stride: int = 1, padding: int = 0, dilation: int = 1) -> int:
    """Output length along one axis: floor((size + 2*padding - dilation*(kernel_size-1) - 1) / stride) + 1.

    Works for convolution and pooling layers (pooling: ``stride`` defaults to the kernel size there).
    """
    for name, value, minimum in (
        ("size", size, 1), ("kernel_size", kernel_size, 1), ("stride", stride, 1),
        ("padding", padding, 0), ("dilation", dilation, 1),
    ):
        if not isinstance(value, int) or isinstance(value, bool) or value < minimum:
            raise ValueError(f"{name} must be an int ≥ {minimum}; got {value!r}.")
    span = dilation * (kernel_size - 1) + 1  # how many input pixels one kernel covers
    if size + 2 * padding < span:
        raise ValueError(
            f"the kernel covers {span} pixels but the padded input has only {size + 2 * padding}: "
            "use a smaller kernel or dilation, or more padding."
        )
    return (size + 2 * padding - span) // stride + 1


def conv_param_count(in_channels: int, out_channels: int, kernel_size: IntPair, bias: bool = True) -> int:
    """Parameters of ``nn.Conv2d``: (k_h * k_w * C_in + 1) * C_out (the +1 is the bias)."""
    kh, kw = _pair(kernel_size, "kernel_size", 1)
    for name, value in (("in_channels", in_channels), ("out_channels", out_channels)):
        if not isinstance(value, int) or isinstance(value, bool) or value < 1:
            raise ValueError(f"{name} must be a positive int; got {value!r}.")
    return (kh * kw * in_channels + int(bias)) * out_channels


# --------------------------------------------------------------------------- convolution


def cross_correlate_2d(image: torch.Tensor, kernel: torch.Tensor) -> torch.Tensor:
    """Slide ``kernel`` (k_h, k_w) over ``image`` (H, W) without padding: the definition, in loops.

    out[i, j] = sum over a, b of image[i + a, j + b] * kernel[a, b]
    (what deep learning calls "convolution" is this cross-correlation: the kernel is not flipped).
    """
    if image.dim() != 2 or kernel.dim() != 2:
        raise ValueError(
            f"cross_correlate_2d takes one 2-D image and one 2-D kernel; got shapes {tuple(image.shape)} "
            f"and {tuple(kernel.shape)}. For batches and channels use conv2d_loops."
        )
    H, W = image.shape
    kh, kw = kernel.shape
    out_h, out_w = conv_output_size(H, kh), conv_output_size(W, kw)
    out = image.new_zeros(out_h, out_w)
    for i in range(out_h):
        for j in range(out_w):
            total = image.new_zeros(())
            for a in range(kh):
                for b in range(kw):
                    total = total + image[i + a, j + b] * kernel[a, b]
            out[i, j] = total
    return out


def _check_conv_inputs(x: torch.Tensor, weight: torch.Tensor, bias: torch.Tensor | None) -> None:
    if x.dim() != 4:
        raise ValueError(f"x must be a batch of images (N, C, H, W); got shape {tuple(x.shape)}. "
                         "For one image use x.unsqueeze(0).")
    if weight.dim() != 4:
        raise ValueError(f"weight must have shape (C_out, C_in, k_h, k_w); got {tuple(weight.shape)}.")
    if weight.shape[1] != x.shape[1]:
        raise ValueError(
            f"the weight expects {weight.shape[1]} input channels but x has {x.shape[1]}: "
            "check the channel order (N, C, H, W) and the layer's in_channels."
        )
    if bias is not None and tuple(bias.shape) != (weight.shape[0],):
        raise ValueError(f"bias must have shape ({weight.shape[0]},), one per output channel; got {tuple(bias.shape)}.")


def _conv_geometry(x: torch.Tensor, weight: torch.Tensor, bias: torch.Tensor | None, stride: IntPair,
                   padding: IntPair, dilation: IntPair) -> tuple[tuple[int, int], ...]:
    """Checked inputs: (stride, padding, dilation, output size), each as an (along H, along W) pair."""
    _check_conv_inputs(x, weight, bias)
    (sh, sw), (ph, pw), (dh, dw) = _pair(stride, "stride", 1), _pair(padding, "padding", 0), _pair(dilation, "dilation", 1)
    out_h = conv_output_size(x.shape[2], weight.shape[2], sh, ph, dh)
    out_w = conv_output_size(x.shape[3], weight.shape[3], sw, pw, dw)
    return (sh, sw), (ph, pw), (dh, dw), (out_h, out_w)


def conv2d_loops(x: torch.Tensor, weight: torch.Tensor, bias: torch.Tensor | None = None, stride: IntPair = 1,
                 padding: IntPair = 0, dilation: IntPair = 1) -> torch.Tensor:
    """Batched 2-D convolution by looping over output positions (same result as ``F.conv2d``).

    For every output pixel, cut the (C_in, k_h, k_w) patch under the kernel and take its dot
    product with each of the C_out kernels.
    """
    (sh, sw), (ph, pw), (dh, dw), (out_h, out_w) = _conv_geometry(x, weight, bias, stride, padding, dilation)
    n, c_out, kh, kw = x.shape[0], weight.shape[0], weight.shape[2], weight.shape[3]
    padded = F.pad(x, (pw, pw, ph, ph))
    out = x.new_zeros(n, c_out, out_h, out_w)
    for i in range(out_h):
        for j in range(out_w):
            top, left = i * sh, j * sw
            patch = padded[:, :, top : top + dh * (kh - 1) + 1 : dh, left : left + dw * (kw - 1) + 1 : dw]
            # (N, 1, C, kh, kw) * (1, C_out, C, kh, kw) summed over C, kh, kw -> (N, C_out)
            out[:, :, i, j] = (patch.unsqueeze(1) * weight.unsqueeze(0)).sum(dim=(2, 3, 4))
    if bias is not None:
        out = out + bias.view(1, -1, 1, 1)
    return out


def conv2d_unfold(x: torch.Tensor, weight: torch.Tensor, bias: torch.Tensor | None = None, stride: IntPair = 1,
                  padding: IntPair = 0, dilation: IntPair = 1) -> torch.Tensor:
    """The same convolution as one matrix product (im2col): unfold the patches, multiply, fold the shape back."""
    (sh, sw), (ph, pw), (dh, dw), (out_h, out_w) = _conv_geometry(x, weight, bias, stride, padding, dilation)
    n, c_out, kh, kw = x.shape[0], weight.shape[0], weight.shape[2], weight.shape[3]
    columns = F.unfold(x, (kh, kw), dilation=(dh, dw), padding=(ph, pw), stride=(sh, sw))  # (N, C*kh*kw, L)
    out = weight.reshape(c_out, -1) @ columns  # (C_out, C*kh*kw) @ (N, C*kh*kw, L) -> (N, C_out, L)
    if bias is not None:
        out = out + bias.view(1, -1, 1)
    return out.view(n, c_out, out_h, out_w)


def pool2d_unfold(x: torch.Tensor, kernel_size: int = 2, stride: int | None = None, mode: str = "max") -> torch.Tensor:
    """Max or average pooling via unfold: each channel's patches, reduced by max or mean."""
    if x.dim() != 4:
        raise ValueError(f"x must have shape (N, C, H, W); got {tuple(x.shape)}.")
    if mode not in ("max", "avg"):
        raise ValueError(f"mode must be 'max' or 'avg'; got {mode!r}.")
    stride = kernel_size if stride is None else stride
    n, c, h, w = x.shape
    out_h, out_w = conv_output_size(h, kernel_size, stride), conv_output_size(w, kernel_size, stride)
    patches = F.unfold(x, kernel_size, stride=stride).view(n, c, kernel_size * kernel_size, -1)
    reduced = patches.amax(dim=2) if mode == "max" else patches.mean(dim=2)
    return reduced.view(n, c, out_h, out_w)


# --------------------------------------------------------------------------- filters on images

KERNEL_PRESETS: dict[str, tuple[tuple[float, float, float], ...]] = {
    "identity": ((0, 0, 0), (0, 1, 0), (0, 0, 0)),
    "box blur": ((1 / 9, 1 / 9, 1 / 9), (1 / 9, 1 / 9, 1 / 9), (1 / 9, 1 / 9, 1 / 9)),
    "gaussian blur": ((1 / 16, 2 / 16, 1 / 16), (2 / 16, 4 / 16, 2 / 16), (1 / 16, 2 / 16, 1 / 16)),
    "sharpen": ((0, -1, 0), (-1, 5, -1), (0, -1, 0)),
    "sobel x (vertical edges)": ((-1, 0, 1), (-2, 0, 2), (-1, 0, 1)),
    "sobel y (horizontal edges)": ((-1, -2, -1), (0, 0, 0), (1, 2, 1)),
    "laplacian (all edges)": ((0, 1, 0), (1, -4, 1), (0, 1, 0)),
    "emboss": ((-2, -1, 0), (-1, 1, 1), (0, 1, 2)),
}


def preset_kernel(name: str) -> torch.Tensor:
    """A preset 3x3 kernel as a float32 tensor."""
    if name not in KERNEL_PRESETS:
        raise ValueError(f"unknown kernel preset {name!r}; choose one of: {', '.join(KERNEL_PRESETS)}.")
    return torch.tensor(KERNEL_PRESETS[name], dtype=torch.float32)


def to_grayscale(image: torch.Tensor) -> torch.Tensor:
    """(3, H, W) or (H, W, 3) RGB in [0, 1] -> (H, W) luminance (ITU-R 601 weights)."""
    if image.dim() == 3 and image.shape[-1] == 3 and image.shape[0] != 3:
        image = image.permute(2, 0, 1)
    if image.dim() != 3 or image.shape[0] != 3:
        raise ValueError(f"to_grayscale expects an RGB image (3, H, W) or (H, W, 3); got {tuple(image.shape)}.")
    weights = torch.tensor([0.299, 0.587, 0.114], dtype=image.dtype).view(3, 1, 1)
    return (image * weights).sum(dim=0)


def filter_image(image: torch.Tensor, kernel: torch.Tensor | Sequence[Sequence[float]]) -> torch.Tensor:
    """Filter a greyscale image (H, W) with a 2-D kernel; the output has the same size.

    The border is padded by reflection, so edge detectors do not see a fake edge at the frame.
    """
    kernel = torch.as_tensor(kernel, dtype=torch.float32)
    if image.dim() != 2:
        raise ValueError(f"filter_image expects a greyscale image (H, W); got {tuple(image.shape)}. "
                         "Convert colour images with to_grayscale first.")
    if kernel.dim() != 2 or kernel.shape[0] % 2 == 0 or kernel.shape[1] % 2 == 0:
        raise ValueError(f"the kernel must be 2-D with odd sides (e.g. 3x3); got {tuple(kernel.shape)}.")
    ph, pw = kernel.shape[0] // 2, kernel.shape[1] // 2
    padded = F.pad(image.float()[None, None], (pw, pw, ph, ph), mode="reflect")
    return F.conv2d(padded, kernel[None, None])[0, 0]


def output_scale(kernel: torch.Tensor, out: torch.Tensor) -> tuple[float, float, str]:
    """Fixed grey-scale limits ``(vmin, vmax, note)`` for a filtered picture, so brightness means something.

    A kernel whose weights do not sum to 0 is drawn on the input's own scale, 0 = black and 1 = white
    (brighter results clip to white), so doubling a blur really shows a brighter picture. A kernel
    whose weights sum to 0 gives changes, of either sign, around 0: it is drawn with 0 as mid-grey and
    symmetric limits at its largest response.
    """
    if abs(float(torch.as_tensor(kernel).sum())) < 1e-6:
        limit = max(float(out.abs().max()), 1e-6)
        return -limit, limit, f"with 0 as mid-grey and ±{limit:.3g} as white / black"
    return 0.0, 1.0, "on the input's scale, 0 black to 1 white (more than 1 clips to white)"


def kernel_figure(image: torch.Tensor, kernel: torch.Tensor, title: str | None = None) -> Figure:
    """Three panels: the input image, the kernel with its numbers, and the filtered image (see ``output_scale``)."""
    kernel = torch.as_tensor(kernel, dtype=torch.float32)
    out = filter_image(image, kernel)
    vmin, vmax, note = output_scale(kernel, out)
    fig, axes = plt.subplots(1, 3, figsize=(8.4, 3.0), gridspec_kw={"width_ratios": [3, 1.4, 3]})
    axes[0].imshow(image.numpy(), cmap="gray", vmin=0, vmax=1)
    axes[0].set_title("input")
    limit = max(float(kernel.abs().max()), 1e-6)
    axes[1].imshow(kernel.numpy(), cmap="coolwarm", vmin=-limit, vmax=limit)
    for (a, b), value in zip(torch.cartesian_prod(torch.arange(kernel.shape[0]), torch.arange(kernel.shape[1])).tolist(),
                             kernel.flatten().tolist(), strict=True):
        axes[1].text(b, a, f"{value:.2g}", ha="center", va="center", fontsize=9)
    axes[1].set_title("kernel")
    axes[2].imshow(out.numpy(), cmap="gray", vmin=vmin, vmax=vmax)
    axes[2].set_title(title or "output")
    axes[2].set_xlabel(note, fontsize=8)
    for ax in axes:
        ax.set_xticks([])
        ax.set_yticks([])
        ax.grid(False)
    fig.tight_layout()
    return fig


class KernelEditor(Explorer):
    """A preset dropdown and nine number boxes that edit a 3x3 kernel applied to an image.

    Call ``show()`` in a notebook. Tests set ``.preset.value`` or ``.cells[k].value`` and read
    ``.redraws``, ``.fig``, ``.kernel()`` and ``.status.value``.
    """

    CUSTOM = "custom"
    description = "a preset menu and nine number boxes that edit the 3x3 kernel"

    def __init__(self, image: torch.Tensor, preset: str = "sobel x (vertical edges)",
                 presets: Mapping[str, Sequence[Sequence[float]]] = KERNEL_PRESETS) -> None:
        import ipywidgets as w

        if image.dim() != 2:
            raise ValueError(f"KernelEditor needs a greyscale image (H, W); got {tuple(image.shape)}.")
        if preset not in presets:
            raise ValueError(f"unknown preset {preset!r}; choose one of: {', '.join(presets)}.")
        self.image = image
        self.presets = {name: torch.tensor(k, dtype=torch.float32) for name, k in presets.items()}
        self.preset = w.Dropdown(options=[*self.presets, self.CUSTOM], value=preset, description="preset")
        start = self.presets[preset]
        self.cells = [
            w.FloatText(value=round(float(v), 4), step=0.5, layout=w.Layout(width="80px")) for v in start.flatten()
        ]
        self.status = w.HTML("")
        grid = w.GridBox(self.cells, layout=w.Layout(grid_template_columns="repeat(3, 85px)"))
        self.box = w.VBox([self.preset, grid, self.status])
        self._busy = False
        super().__init__()
        self.preset.observe(self._on_preset, names="value")
        for cell in self.cells:
            cell.observe(self._on_cell, names="value")

    def kernel(self) -> torch.Tensor:
        """The 3x3 kernel in the number boxes."""
        return torch.tensor([c.value for c in self.cells], dtype=torch.float32).view(3, 3)

    def figure(self) -> Figure:
        return kernel_figure(self.image, self.kernel(), title=f"output ({self.preset.value})")

    def on_redraw(self) -> None:
        k = self.kernel()
        out = filter_image(self.image, k)
        note = "keeps the overall brightness" if abs(k.sum().item() - 1) < 1e-6 else (
            "a flat region becomes 0: it only responds to changes" if abs(k.sum().item()) < 1e-6
            else "changes the overall brightness")
        self.status.value = (
            f"sum of the weights = {k.sum().item():.4g} ({note}); "
            f"output range [{out.min().item():.3f}, {out.max().item():.3f}], drawn {output_scale(k, out)[2]}"
        )

    def _on_preset(self, change) -> None:
        if self._busy or change["new"] == self.CUSTOM:
            return
        self._busy = True
        for cell, value in zip(self.cells, self.presets[change["new"]].flatten().tolist(), strict=True):
            cell.value = round(value, 4)
        self._busy = False
        self.redraw()

    def _on_cell(self, _change) -> None:
        if self._busy:
            return
        self._busy = True
        self.preset.value = self.CUSTOM
        self._busy = False
        self.redraw()


# --------------------------------------------------------------------------- receptive fields, cost, grouped convolutions


def _geometry(module: nn.Module) -> tuple[int, int, int] | None:
    """(kernel, stride, dilation) of a square conv or pooling layer along one axis; None for size-keeping layers."""
    if isinstance(module, nn.Conv2d | nn.MaxPool2d | nn.AvgPool2d):
        k, s, d = module.kernel_size, module.stride, getattr(module, "dilation", 1)
        k, s, d = (v if isinstance(v, int) else v[0] for v in (k, s, d))
        return k, s, d
    if isinstance(module, nn.AdaptiveAvgPool2d | nn.AdaptiveMaxPool2d | nn.Flatten | nn.Linear):
        raise ValueError(f"{type(module).__name__} mixes all positions: give the layers before it.")
    return None


def _layers(model: nn.Module) -> list[nn.Module]:
    """The leaf modules of a model, in order."""
    return [m for m in model.modules() if not list(m.children())]


def receptive_field(model: nn.Module) -> list[tuple[str, int, int]]:
    """Receptive field and jump after each conv / pooling layer: ``[(layer name, r, j), ...]``.

    With ``r_0 = 1`` and ``j_0 = 1``, a layer of kernel k, stride s and dilation d gives
    ``r_l = r_{l-1} + d (k - 1) j_{l-1}`` and ``j_l = s j_{l-1}`` (padding does not change them).
    Layers that keep the positions (ReLU, batch norm) are skipped; global pooling or Linear raise.
    """
    r, j, out = 1, 1, []
    for module in _layers(model):
        geometry = _geometry(module)
        if geometry is None:
            continue
        k, s, d = geometry
        r, j = r + d * (k - 1) * j, j * s
        out.append((type(module).__name__, r, j))
    if not out:
        raise ValueError("the model has no Conv2d or pooling layer, so every output sees one input pixel.")
    return out


def measured_receptive_field(model: nn.Module, size: int = 64) -> int:
    """Receptive field of the centre output unit, measured with autograd on a copy of the geometry.

    Every Conv2d becomes one with the same kernel, stride, padding and dilation, all weights 1 and
    no bias; every pooling layer an average pool with the same window; other layers are dropped.
    Then the output's centre unit is differentiated with respect to a ``size``×``size`` input: the
    width of the region of non-zero gradient is the receptive field.
    """
    if not isinstance(size, int) or size < 3:
        raise ValueError(f"size must be an int ≥ 3; got {size!r}.")
    layers: list[nn.Module] = []
    for module in _layers(model):
        geometry = _geometry(module)
        if geometry is None:
            continue
        if isinstance(module, nn.Conv2d):
            conv = nn.Conv2d(1, 1, module.kernel_size, stride=module.stride, padding=module.padding,
                             dilation=module.dilation, bias=False)
            nn.init.ones_(conv.weight)
            layers.append(conv)
        else:
            layers.append(nn.AvgPool2d(module.kernel_size, module.stride, padding=module.padding))
    if not layers:
        raise ValueError("the model has no Conv2d or pooling layer to measure.")
    x = torch.ones(1, 1, size, size, dtype=torch.float64, requires_grad=True)
    out = nn.Sequential(*layers).double()(x)
    h, w = out.shape[-2:]
    out[0, 0, h // 2, w // 2].backward()
    rows = (x.grad[0, 0].abs().sum(dim=1) > 0).nonzero().flatten()
    if rows[0] == 0 or rows[-1] == size - 1:
        raise ValueError(f"the receptive field reaches the border of a {size}×{size} input: use a larger size.")
    return int(rows[-1] - rows[0] + 1)


def multiply_adds(model: nn.Module, input_shape: Sequence[int]) -> int:
    """Multiply-adds of one forward pass for one input of ``input_shape`` (C, H, W), counted in Conv2d and Linear.

    A convolution does (C_in / groups)·k_h·k_w multiply-adds for each of its output values; a
    Linear layer in_features for each. Other layers (ReLU, pooling, batch norm) are not counted.
    """
    if len(input_shape) < 1 or not all(isinstance(v, int) and v > 0 for v in input_shape):
        raise ValueError(f"input_shape must be positive ints without the batch, e.g. (1, 8, 8); got {input_shape!r}.")
    total = [0]

    def count(module: nn.Module, _inputs, output: torch.Tensor) -> None:
        if isinstance(module, nn.Conv2d):
            per_output = module.in_channels // module.groups * module.kernel_size[0] * module.kernel_size[1]
        else:
            per_output = module.in_features
        total[0] += output[0].numel() * per_output

    handles = [m.register_forward_hook(count) for m in model.modules() if isinstance(m, nn.Conv2d | nn.Linear)]
    was_training = model.training
    try:
        model.eval()
        with torch.no_grad():
            model(torch.zeros(1, *input_shape))
    finally:
        for handle in handles:
            handle.remove()
        model.train(was_training)
    return total[0]


def depthwise_conv2d(x: torch.Tensor, weight: torch.Tensor, bias: torch.Tensor | None = None,
                     padding: int = 0) -> torch.Tensor:
    """Depthwise convolution from scratch: channel c of ``x`` is filtered by its own kernel ``weight[c, 0]``.

    ``weight`` has the shape of ``nn.Conv2d(C, C, k, groups=C).weight``, (C, 1, k, k). Each channel is
    a one-channel ``conv2d_unfold``; there is no mixing between channels.
    """
    if x.dim() != 4 or weight.dim() != 4 or weight.shape[1] != 1 or weight.shape[0] != x.shape[1]:
        raise ValueError(f"depthwise_conv2d needs x (N, C, H, W) and weight (C, 1, k, k); got {tuple(x.shape)} "
                         f"and {tuple(weight.shape)}.")
    channels = [conv2d_unfold(x[:, c:c + 1], weight[c:c + 1], None if bias is None else bias[c:c + 1], padding=padding)
                for c in range(x.shape[1])]
    return torch.cat(channels, dim=1)


def pointwise_conv2d(x: torch.Tensor, weight: torch.Tensor, bias: torch.Tensor | None = None) -> torch.Tensor:
    """A 1×1 convolution from scratch: the same Linear map of the C_in channel values at every pixel.

    ``weight`` has the shape of ``nn.Conv2d(C_in, C_out, 1).weight``, (C_out, C_in, 1, 1).
    """
    if x.dim() != 4 or weight.dim() != 4 or weight.shape[2:] != (1, 1) or weight.shape[1] != x.shape[1]:
        raise ValueError(f"pointwise_conv2d needs x (N, C_in, H, W) and weight (C_out, C_in, 1, 1); got "
                         f"{tuple(x.shape)} and {tuple(weight.shape)}.")
    out = torch.einsum("oc,nchw->nohw", weight[:, :, 0, 0], x)
    return out if bias is None else out + bias.view(1, -1, 1, 1)
