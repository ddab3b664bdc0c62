"""Convolution from scratch for notebook 08 (CNN).

* ``cross_correlate_2d``: one image, one kernel, four plain loops (the definition).
* ``conv2d_loops`` / ``conv2d_unfold``: batched, multi-channel convolution with stride,
  padding and dilation, first by looping over output positions, then as one matrix
  product over unfolded patches (im2col). Both match ``F.conv2d``.
* ``pool2d_unfold``: max / average pooling the same way.
* ``conv_output_size`` and ``conv_param_count``: the shape and size arithmetic.
* ``KERNEL_PRESETS``, ``filter_image``, ``kernel_figure``: classic 3x3 filters on a photo,
  and ``KernelEditor``, the thin widget shell around ``kernel_figure``.

Everything except ``KernelEditor`` is pure.
"""

from __future__ import annotations

from collections.abc import Mapping, Sequence

import matplotlib.pyplot as plt
import torch
import torch.nn.functional as F
from matplotlib.figure import Figure

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


def kernel_figure(image: torch.Tensor, kernel: torch.Tensor, title: str | None = None) -> Figure:
    """Three panels: the input image, the kernel with its numbers, and the filtered image."""
    kernel = torch.as_tensor(kernel, dtype=torch.float32)
    out = filter_image(image, kernel)
    fig, axes = plt.subplots(1, 3, figsize=(8.4, 3.0), gridspec_kw={"width_ratios": [3, 1.4, 3]})
    axes[0].imshow(image.numpy(), cmap="gray", vmin=0, vmax=1)
    axes[0].set_title("input")
    limit = max(float(kernel.abs().max()), 1e-6)
    axes[1].imshow(kernel.numpy(), cmap="coolwarm", vmin=-limit, vmax=limit)
    for (a, b), value in zip(torch.cartesian_prod(torch.arange(kernel.shape[0]), torch.arange(kernel.shape[1])).tolist(),
                             kernel.flatten().tolist(), strict=True):
        axes[1].text(b, a, f"{value:.2g}", ha="center", va="center", fontsize=9)
    axes[1].set_title("kernel")
    axes[2].imshow(out.numpy(), cmap="gray")
    axes[2].set_title(title or "output")
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
            f"output range [{out.min().item():.3f}, {out.max().item():.3f}]"
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
