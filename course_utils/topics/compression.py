"""Model compression, measured: quantization, pruning, distillation, size and latency (notebook 13).

Pure helpers (no global state) plus one thin widget shell, ``BitWidthExplorer``:

* quantization: ``qrange``, ``affine_qparams``, ``quantize``, ``dequantize``, ``fake_quantize``,
  ``rms_error_by_bits``, ``fake_quantize_weight`` / ``fake_quantize_model`` (three ``SCHEMES``), per-channel ``per_channel_qparams`` /
  ``per_channel_fake_quantize``, ``dynamic_int8_linear`` (what ``quantize_dynamic`` computes inside a
  ``Linear``, written out), ``quantized_engine`` and ``quantized_kernels_allowed`` for static int8;
* sensitivity: ``weight_layer_names``, ``quantize_one_layer``, ``prune_one_layer``;
* measuring: ``state_dict_bytes``, ``linear_weight_bytes``, ``median_latency``, ``format_timed``,
  ``format_ratio``, ``timing_noise`` (the same call timed against itself);
* pruning: ``magnitude_mask``, ``sparsity``;
* distillation: ``soft_target_loss``, ``distillation_loss``, ``ranking_auc``;
* pictures: ``bit_width_figure``, ``student_comparison_figure``, ``results_table``, ``results_figure``.
"""

from __future__ import annotations

import contextlib
import copy
import io
import math
import statistics
import textwrap
import time
from collections.abc import Callable, Iterable, Iterator, Mapping, Sequence
from dataclasses import dataclass

import matplotlib.pyplot as plt
import numpy as np
import torch
import torch.nn.functional as F
from matplotlib.figure import Figure
from torch import nn

from course_utils.widgets import Explorer

# --------------------------------------------------------------------------- quantization


def qrange(bits: int, signed: bool = True) -> tuple[int, int]:
    """The integer range of a ``bits``-bit code: (-128, 127) for signed 8 bits, (0, 255) unsigned."""
    if not isinstance(bits, int) or isinstance(bits, bool) or not 1 <= bits <= 16:
        raise ValueError(f"bits must be an int between 1 and 16; got {bits!r}.")
    if signed:
        return -(2 ** (bits - 1)), 2 ** (bits - 1) - 1
    return 0, 2**bits - 1


def affine_qparams(x: torch.Tensor, bits: int = 8, signed: bool = True) -> tuple[float, int]:
    """Scale and zero-point that map the range [min(x, 0), max(x, 0)] onto the integer range.

    ``scale = (x_max - x_min) / (q_max - q_min)`` and ``zero_point = q_min - round(x_min / scale)``,
    so that the real number 0 is represented exactly (by the integer ``zero_point``).
    """
    if not isinstance(x, torch.Tensor) or not x.is_floating_point():
        raise TypeError(f"affine_qparams needs a floating-point tensor; got {type(x).__name__}.")
    if x.numel() == 0:
        raise ValueError("affine_qparams got an empty tensor: there is no range to quantize.")
    q_min, q_max = qrange(bits, signed)
    x_min = min(float(x.detach().min()), 0.0)
    x_max = max(float(x.detach().max()), 0.0)
    if not (math.isfinite(x_min) and math.isfinite(x_max)):
        raise ValueError("affine_qparams got inf or NaN values: quantize finite tensors only.")
    scale = (x_max - x_min) / (q_max - q_min)
    if scale == 0.0:  # an all-zero tensor: any scale represents it exactly
        scale = 1.0
    zero_point = int(min(max(q_min - round(x_min / scale), q_min), q_max))
    return scale, zero_point


def quantize(x: torch.Tensor, scale: float, zero_point: int, bits: int = 8, signed: bool = True) -> torch.Tensor:
    """``q = clamp(round(x / scale) + zero_point, q_min, q_max)`` as an int64 tensor of codes."""
    if scale <= 0 or not math.isfinite(scale):
        raise ValueError(f"scale must be a positive finite number; got {scale!r}.")
    q_min, q_max = qrange(bits, signed)
    return torch.clamp(torch.round(x / scale) + zero_point, q_min, q_max).to(torch.int64)


def dequantize(q: torch.Tensor, scale: float, zero_point: int) -> torch.Tensor:
    """``x_hat = scale * (q - zero_point)`` as float32."""
    return (scale * (q.to(torch.float32) - zero_point)).to(torch.float32)


def fake_quantize(x: torch.Tensor, bits: int = 8, signed: bool = True) -> torch.Tensor:
    """Quantize with ``affine_qparams`` and map straight back: what the rounding does to ``x``."""
    scale, zero_point = affine_qparams(x, bits, signed)
    return dequantize(quantize(x, scale, zero_point, bits, signed), scale, zero_point)


def rms_error_by_bits(x: torch.Tensor, bits: Iterable[int] = range(2, 9),
                      scheme: str = "per_tensor_affine") -> dict[int, float]:
    """Root-mean-square rounding error for each bit width ``b`` under one of ``SCHEMES``."""
    x = x.detach()
    return {b: float((fake_quantize_weight(x, b, scheme) - x).pow(2).mean().sqrt()) for b in bits}


def per_channel_qparams(weight: torch.Tensor, bits: int = 8) -> tuple[torch.Tensor, torch.Tensor]:
    """Symmetric scales, one per output channel (row 0 of ``weight``), and zero-points (all 0).

    ``scale_j = max_k |w_jk| / q_max`` with ``q_max = 2**(bits-1) - 1``: each row gets its own step,
    so a row of small weights is no longer rounded on the grid of the largest row.
    """
    if not isinstance(weight, torch.Tensor) or not weight.is_floating_point() or weight.dim() < 2:
        raise ValueError("per_channel_qparams needs a floating-point weight with at least 2 dimensions "
                         f"(output channels first); got {getattr(weight, 'shape', type(weight).__name__)}.")
    _, q_max = qrange(bits)
    if q_max < 1:
        raise ValueError(f"symmetric quantization needs at least 2 bits; got {bits!r}.")
    scales = weight.detach().abs().flatten(1).amax(dim=1) / q_max
    scales = torch.clamp(scales, min=torch.finfo(torch.float32).eps)
    return scales, torch.zeros(len(scales), dtype=torch.int64)


def per_channel_fake_quantize(weight: torch.Tensor, bits: int = 8) -> torch.Tensor:
    """``clamp(round(w / s_j), -q_max, q_max) * s_j`` with one symmetric scale per output channel."""
    scales, _ = per_channel_qparams(weight, bits)
    _, q_max = qrange(bits)
    shape = (-1,) + (1,) * (weight.dim() - 1)
    s = scales.view(shape)
    return torch.clamp(torch.round(weight.detach() / s), -q_max, q_max) * s


def _weight_layers(model: nn.Module) -> dict[str, nn.Module]:
    return {name: m for name, m in model.named_modules() if isinstance(m, nn.Linear | nn.Conv1d | nn.Conv2d)}


def weight_layer_names(model: nn.Module) -> list[str]:
    """Names of the conv and linear layers of ``model`` (the ones quantization and pruning touch)."""
    return list(_weight_layers(model))


SCHEMES = ("per_tensor_affine", "per_tensor_symmetric", "per_channel_symmetric")


def fake_quantize_weight(weight: torch.Tensor, bits: int, scheme: str = "per_tensor_affine") -> torch.Tensor:
    """Round a weight to ``bits`` bits and map it back, with one of the ``SCHEMES`` (named as in torch).

    ``per_tensor_affine``: one scale and zero-point for the tensor (``2**bits`` levels);
    ``per_tensor_symmetric``: one scale, zero-point 0 (``2**bits - 1`` levels);
    ``per_channel_symmetric``: one scale per output channel, zero-point 0.
    """
    if scheme == "per_tensor_affine":
        return fake_quantize(weight.detach(), bits)
    if scheme == "per_tensor_symmetric":
        return per_channel_fake_quantize(weight.detach().reshape(1, -1), bits).view_as(weight)
    if scheme == "per_channel_symmetric":
        return per_channel_fake_quantize(weight, bits)
    raise ValueError(f"scheme is one of {SCHEMES}; got {scheme!r}.")


def fake_quantize_model(model: nn.Module, bits: int, scheme: str = "per_tensor_affine",
                        layers: Iterable[str] | None = None) -> nn.Module:
    """A copy of ``model`` whose conv and linear weights are fake-quantized (biases stay float).

    ``scheme`` is one of ``SCHEMES``; ``layers`` (names from ``weight_layer_names``) limits it to those layers.
    """
    if scheme not in SCHEMES:
        raise ValueError(f"scheme is one of {SCHEMES}; got {scheme!r}.")
    quantized = copy.deepcopy(model)
    found = _weight_layers(quantized)
    names = list(found) if layers is None else list(layers)
    unknown = [n for n in names if n not in found]
    if unknown:
        raise ValueError(f"no conv or linear layer named {unknown}; the model has {list(found)}.")
    with torch.no_grad():
        for name in names:
            weight = found[name].weight
            weight.copy_(fake_quantize_weight(weight, bits, scheme))
    return quantized


def quantize_one_layer(model: nn.Module, name: str, bits: int, scheme: str = "per_tensor_affine") -> nn.Module:
    """A copy of ``model`` with only layer ``name`` fake-quantized to ``bits`` bits."""
    return fake_quantize_model(model, bits, scheme=scheme, layers=[name])


def prune_one_layer(model: nn.Module, name: str, amount: float) -> nn.Module:
    """A copy of ``model`` with the ``amount`` smallest-magnitude weights of layer ``name`` set to 0."""
    pruned = copy.deepcopy(model)
    found = _weight_layers(pruned)
    if name not in found:
        raise ValueError(f"no conv or linear layer named {name!r}; the model has {list(found)}.")
    with torch.no_grad():
        found[name].weight.mul_(magnitude_mask(found[name].weight, amount))
    return pruned


def quantized_engine() -> str | None:
    """The quantized engine static int8 runs on: the active one, else x86/fbgemm/qnnpack; None if none."""
    supported = list(torch.backends.quantized.supported_engines)
    if torch.backends.quantized.engine in supported and torch.backends.quantized.engine != "none":
        return torch.backends.quantized.engine
    for engine in ("x86", "fbgemm", "qnnpack"):
        if engine in supported:
            torch.backends.quantized.engine = engine
            return engine
    return None


@contextlib.contextmanager
def quantized_kernels_allowed() -> Iterator[None]:
    """Run quantized CPU kernels although ``torch.use_deterministic_algorithms(True)`` is on.

    Their integer arithmetic is exact, but one of them resizes its output with an operation that
    PyTorch lists as non-deterministic, so the strict mode refuses it. The mode is put back afterwards.
    """
    was_on = torch.are_deterministic_algorithms_enabled()
    warn_only = torch.is_deterministic_algorithms_warn_only_enabled()
    torch.use_deterministic_algorithms(False)
    try:
        yield
    finally:
        torch.use_deterministic_algorithms(was_on, warn_only=warn_only)


def _activation_qparams(x: torch.Tensor, q_min: int = 0, q_max: int = 127) -> tuple[float, int]:
    """Per-tensor uint8 parameters chosen at run time, as PyTorch's x86/fbgemm dynamic kernels do.

    The range is [min(x, 0), max(x, 0)]; the zero-point comes from whichever end gives the
    smaller rounding error (fbgemm's ``ChooseQuantizationParams``).
    """
    x_min, x_max = min(float(x.detach().min()), 0.0), max(float(x.detach().max()), 0.0)
    scale = float(torch.tensor((x_max - x_min) / (q_max - q_min), dtype=torch.float32))  # kept as float32
    if scale == 0.0 or math.isinf(1.0 / scale):
        scale = 0.1
    from_min, from_max = q_min - x_min / scale, q_max - x_max / scale
    err_min, err_max = abs(q_min) + abs(x_min / scale), abs(q_max) + abs(x_max / scale)
    zero_point = from_min if err_min < err_max else from_max
    return scale, int(min(max(round(zero_point), q_min), q_max))


def weight_int8_symmetric(weight: torch.Tensor) -> tuple[torch.Tensor, float]:
    """Per-tensor symmetric int8 weights as PyTorch's default weight observer makes them.

    ``scale = max|w| / 127.5`` (the range [-max, max] spread over 255 steps), zero-point 0,
    codes clamped to [-128, 127]. Returns ``(int8 codes, scale)``.
    """
    weight = weight.detach()
    scale = torch.clamp(weight.abs().max().float() / 127.5, min=torch.finfo(torch.float32).eps)  # float32
    return torch.clamp(torch.round(weight * (1.0 / scale)), -128, 127).to(torch.int8), float(scale)


def dynamic_int8_linear(
    x: torch.Tensor, weight: torch.Tensor, bias: torch.Tensor | None = None, reduce_range: bool | None = None
) -> torch.Tensor:
    """A linear layer computed the way PyTorch's dynamic int8 quantization computes it.

    1. weights: symmetric int8 codes (done once, ahead of time);
    2. activations: uint8 codes with a scale chosen from this batch's range; x86 kernels use only
       7 bits (0..127, ``reduce_range``) so that pairs of u8*s8 products cannot overflow int16;
       ARM's qnnpack engine uses all 8 bits. ``None`` follows ``torch.backends.quantized.engine``;
    3. an integer matrix product accumulated in int32;
    4. one float rescale: ``y = s_x * s_w * sum_k (q_x - z_x) * q_w + b``.
    """
    if x.dim() != 2 or weight.dim() != 2 or x.shape[1] != weight.shape[1]:
        raise ValueError(
            f"dynamic_int8_linear needs x (N, in) and weight (out, in); got {tuple(x.shape)} and {tuple(weight.shape)}."
        )
    if reduce_range is None:
        reduce_range = torch.backends.quantized.engine != "qnnpack"
    q_max = 127 if reduce_range else 255
    w_int, s_w = weight_int8_symmetric(weight)
    x = x.detach()
    s_x, z_x = _activation_qparams(x, 0, q_max)
    inverse = 1.0 / torch.tensor(s_x, dtype=torch.float32)  # the kernels multiply by a float32 1/scale
    x_int = torch.clamp(torch.round(x * inverse) + z_x, 0, q_max).to(torch.int32)
    acc = (x_int - z_x) @ w_int.to(torch.int32).T  # exact integer arithmetic
    y = acc.to(torch.float64) * (s_x * s_w)
    if bias is not None:
        y = y + bias.detach().to(torch.float64)
    return y.to(torch.float32)


# --------------------------------------------------------------------------- measuring


def state_dict_bytes(model_or_state: nn.Module | Mapping[str, object]) -> int:
    """Bytes of ``torch.save(state_dict)``, written to memory (io.BytesIO), not to disk.

    This is what a checkpoint of the model weighs, including the file format's own overhead
    (about 1.3 kB for an empty dictionary).
    """
    state = model_or_state.state_dict() if isinstance(model_or_state, nn.Module) else model_or_state
    if not isinstance(state, Mapping):
        raise TypeError(f"state_dict_bytes needs an nn.Module or a state dict; got {type(model_or_state).__name__}.")
    buffer = io.BytesIO()
    torch.save(state, buffer)
    return buffer.getbuffer().nbytes


def linear_weights(model: nn.Module) -> dict[str, torch.Tensor]:
    """The weight matrices of every linear layer: float ``nn.Linear`` or dynamic-quantized int8 ones."""
    found: dict[str, torch.Tensor] = {}
    for name, module in model.named_modules():
        weight = getattr(module, "weight", None)
        if isinstance(module, nn.Linear):
            found[f"{name}.weight"] = module.weight.detach()
        elif callable(weight) and hasattr(module, "_packed_params"):  # a (dynamic) quantized Linear
            found[f"{name}.weight"] = weight()
    if not found:
        raise ValueError("linear_weights found no linear layer in this model.")
    return found


def linear_weight_bytes(model: nn.Module) -> int:
    """Bytes of the saved linear-layer weight matrices alone (measured with ``state_dict_bytes``)."""
    return state_dict_bytes(linear_weights(model))


def median_latency(fn: Callable[[], object], repeats: int = 50, warmup: int = 5,
                   timer: Callable[[], float] = time.perf_counter) -> float:
    """Median wall time of ``fn()`` in seconds over ``repeats`` runs, after ``warmup`` untimed runs.

    The median ignores the odd slow run (another process, a page fault) that would drag a mean.
    Runs happen under ``torch.inference_mode()`` (no autograd bookkeeping).
    """
    if not callable(fn):
        raise TypeError(f"median_latency needs a function to call; got {type(fn).__name__}.")
    if not isinstance(repeats, int) or repeats < 1 or not isinstance(warmup, int) or warmup < 0:
        raise ValueError(f"repeats must be a positive int and warmup a non-negative int; got {repeats!r}, {warmup!r}.")
    times = []
    with torch.inference_mode():
        for _ in range(warmup):
            fn()
        for _ in range(repeats):
            start = timer()
            fn()
            times.append(timer() - start)
    return statistics.median(times)


def format_timed(seconds: float) -> str:
    """A measured duration as ``'0.4213 ms (timed)'``; the course's nbval sanitizer masks this form.

    Always in milliseconds below one second (ASCII only, so the sanitizer matches whatever the locale).
    """
    if not isinstance(seconds, int | float) or seconds < 0 or not math.isfinite(seconds):
        raise ValueError(f"a duration must be a non-negative finite number of seconds; got {seconds!r}.")
    if seconds < 1.0:
        return f"{seconds * 1e3:.4f} ms (timed)"
    return f"{seconds:.3f} s (timed)"


def format_ratio(ratio: float) -> str:
    """A ratio of two measured durations as ``'1.05× (timed)'``; the nbval sanitizer masks this form."""
    if not isinstance(ratio, int | float) or ratio < 0 or not math.isfinite(ratio):
        raise ValueError(f"a ratio of durations must be a non-negative finite number; got {ratio!r}.")
    return f"{ratio:.2f}× (timed)"


def timing_noise(fn: Callable[[], object], rounds: int = 5, repeats: int = 20,
                 timer: Callable[[], float] = time.perf_counter) -> list[float]:
    """Ratios ``median_latency(fn) / median_latency(fn)`` of the very same call, ``rounds`` times.

    Both medians time the same work, so their ratio would be 1.00 on a quiet machine: its spread is
    the noise against which a timing ratio of two different models must be read.
    """
    if not isinstance(rounds, int) or rounds < 1:
        raise ValueError(f"rounds must be a positive int; got {rounds!r}.")
    return [median_latency(fn, repeats=repeats, timer=timer) / median_latency(fn, repeats=repeats, timer=timer)
            for _ in range(rounds)]


# --------------------------------------------------------------------------- pruning


def magnitude_mask(weight: torch.Tensor, amount: float) -> torch.Tensor:
    """A 0/1 float mask that zeroes the ``round(amount * numel)`` weights of smallest magnitude.

    Ties are broken by position (the first ones are pruned), exactly like
    ``torch.nn.utils.prune.l1_unstructured``, so the two masks agree.
    """
    if not 0.0 <= amount <= 1.0:
        raise ValueError(f"amount is the fraction of weights to prune, between 0 and 1; got {amount!r}.")
    n_prune = round(amount * weight.numel())
    mask = torch.ones_like(weight)
    if n_prune > 0:
        smallest = torch.topk(weight.detach().abs().flatten(), k=n_prune, largest=False).indices
        mask.view(-1)[smallest] = 0.0
    return mask


def sparsity(tensors: nn.Module | Iterable[torch.Tensor]) -> float:
    """Fraction of exact zeros among the weights of conv/linear layers (or among the given tensors)."""
    if isinstance(tensors, nn.Module):
        tensors = [m.weight for m in tensors.modules() if isinstance(m, nn.Linear | nn.Conv1d | nn.Conv2d)]
    tensors = list(tensors)
    total = sum(t.numel() for t in tensors)
    if total == 0:
        raise ValueError("sparsity got no weights to count.")
    return sum(int((t == 0).sum()) for t in tensors) / total


# --------------------------------------------------------------------------- distillation


def soft_target_loss(student_logits: torch.Tensor, teacher_logits: torch.Tensor, T: float) -> torch.Tensor:
    """``T**2 * KL(softmax(teacher / T) || softmax(student / T))``, averaged over the batch.

    The ``T**2`` keeps the gradient of this term about as large as that of a cross-entropy
    whatever the temperature (softening divides the gradients by ``T**2``).
    """
    if T <= 0:
        raise ValueError(f"the temperature T must be positive; got {T!r}.")
    if student_logits.shape != teacher_logits.shape or student_logits.dim() != 2:
        raise ValueError(
            f"student and teacher logits must both be (batch, classes); got {tuple(student_logits.shape)} "
            f"and {tuple(teacher_logits.shape)}."
        )
    log_p_student = F.log_softmax(student_logits / T, dim=1)
    p_teacher = F.softmax(teacher_logits.detach() / T, dim=1)
    return F.kl_div(log_p_student, p_teacher, reduction="batchmean") * T**2


def distillation_loss(student_logits: torch.Tensor, teacher_logits: torch.Tensor, labels: torch.Tensor, T: float = 4.0,
                      alpha: float = 0.7) -> torch.Tensor:
    """``alpha * T**2 * KL(p_teacher^T || p_student^T) + (1 - alpha) * CE(student_logits, labels)``."""
    if not 0.0 <= alpha <= 1.0:
        raise ValueError(f"alpha weighs the soft targets against the labels, between 0 and 1; got {alpha!r}.")
    hard = F.cross_entropy(student_logits, labels)
    return alpha * soft_target_loss(student_logits, teacher_logits, T) + (1 - alpha) * hard


def ranking_auc(scores: torch.Tensor, positive: torch.Tensor) -> float:
    """Probability that a random positive example scores above a random negative one (ties count half).

    ``scores`` (N,) and a boolean ``positive`` (N,): 1.0 means the score separates the two groups
    perfectly, 0.5 means it knows nothing. Used to ask whether an output unit responds to a class.
    """
    scores, positive = scores.detach().flatten().double(), positive.flatten().bool()
    if scores.shape != positive.shape:
        raise ValueError(f"scores and positive need the same length; got {scores.numel()} and {positive.numel()}.")
    pos, neg = scores[positive], scores[~positive]
    if len(pos) == 0 or len(neg) == 0:
        raise ValueError("ranking_auc needs at least one positive and one negative example.")
    above = (pos[:, None] > neg[None, :]).double().mean() + 0.5 * (pos[:, None] == neg[None, :]).double().mean()
    return float(above)


# --------------------------------------------------------------------------- pictures


def student_comparison_figure(accuracies: Mapping[str, Sequence[float]], teacher_accuracy: float,
                              title: str) -> Figure:
    """One bar per student recipe: mean test accuracy over seeds, the range as an error bar, each seed a dot."""
    if not accuracies or any(len(v) == 0 for v in accuracies.values()):
        raise ValueError("student_comparison_figure needs at least one accuracy per recipe.")
    names = list(accuracies)
    fig, ax = plt.subplots(figsize=(8, 3.8))
    for k, name in enumerate(names):
        values = 100 * np.asarray(accuracies[name], dtype=float)
        ax.bar(k, values.mean(), color=plt.get_cmap("tab10")(k), alpha=0.75,
               yerr=[[values.mean() - values.min()], [values.max() - values.mean()]], capsize=4)
        ax.plot(np.full(len(values), k), values, "k.", ms=4)
    ax.axhline(100 * teacher_accuracy, color="gray", ls="--", lw=1, label="teacher")
    ax.set_xticks(range(len(names)), [textwrap.fill(n, 15) for n in names], fontsize=8)
    everything = np.concatenate([100 * np.asarray(v, dtype=float) for v in accuracies.values()])
    ax.set_ylim(max(0.0, min(everything.min(), 100 * teacher_accuracy) - 3), 100)
    ax.set_ylabel("test accuracy (%)")
    ax.set_title(textwrap.fill(title, 90), fontsize=9)
    ax.legend(fontsize=8, loc="upper right")
    fig.tight_layout()
    return fig


def bit_width_figure(weights: torch.Tensor, bits: int, all_bits: Sequence[int] = tuple(range(2, 9)),
                     scheme: str = "per_tensor_affine") -> Figure:
    """Three panels: the weights with the quantization grid, the rounding error, the error per bit width.

    ``scheme`` is one of ``SCHEMES``; per channel needs a weight with output channels first, and the
    left panel then draws the levels of the channel with the largest weights (each row has its own).
    """
    if scheme not in SCHEMES:
        raise ValueError(f"scheme is one of {SCHEMES}; got {scheme!r}.")
    w = weights.detach().to(torch.float32)
    if scheme == "per_channel_symmetric" and w.dim() < 2:
        raise ValueError("per-channel quantization needs a weight with output channels first (2 or more dimensions).")
    error = (fake_quantize_weight(w, bits, scheme) - w).flatten().numpy()
    errors = rms_error_by_bits(w, all_bits, scheme=scheme)
    fig, axes = plt.subplots(1, 3, figsize=(9, 3))
    ax = axes[0]
    ax.hist(w.flatten().numpy(), bins=80, color="tab:blue", alpha=0.7)
    if scheme == "per_tensor_affine":
        scale, zero_point = affine_qparams(w, bits)
        q_min, q_max = qrange(bits)
        levels = dequantize(torch.arange(q_min, q_max + 1), scale, zero_point)
    else:
        _, q_max = qrange(bits)
        scale = float(w.abs().max()) / q_max       # per tensor, or the widest row per channel
        levels = torch.arange(-q_max, q_max + 1) * scale
    if len(levels) <= 64:
        ax.vlines(levels.numpy(), 0, 1, transform=ax.get_xaxis_transform(), colors="tab:red", lw=0.6, alpha=0.6)
    ax.set_title(f"weights and the {len(levels)} levels of {bits} bits", fontsize=9)
    ax.set_xlabel("weight value")
    ax = axes[1]
    ax.hist(error, bins=60, color="tab:orange")
    ax.set_title(f"rounding error ({scheme.replace('_', ' ')})", fontsize=9)
    ax.set_xlabel("dequantized - original")
    ax = axes[2]
    ax.semilogy(list(errors), list(errors.values()), "o-", color="tab:gray", ms=4)
    ax.semilogy([bits], [errors[bits]], "o", color="tab:red", ms=8)
    ax.set_title("RMS error: about halves per extra bit", fontsize=9)
    ax.set_xlabel("bits")
    fig.tight_layout()
    return fig


class BitWidthExplorer(Explorer):
    """Slider (2-8 bits) and a scheme menu -> ``bit_width_figure`` and a status line with a model's accuracy.

    ``accuracy_at(bits, scheme)`` (optional) returns the test accuracy of the model with every weight at
    that bit width under that scheme; it should be fast (a look-up or an evaluation, not a training run).
    ``show()`` displays it; tests read ``.redraws``, ``.fig`` and ``.status.value``.
    """

    description = "a bit-width slider (2 to 8 bits) and a menu of quantization schemes"

    def __init__(self, weights: torch.Tensor, bits: int = 4, accuracy_at: Callable[[int, str], float] | None = None,
                 scheme: str = "per_tensor_affine") -> None:
        import ipywidgets as w

        qrange(bits)
        if scheme not in SCHEMES:
            raise ValueError(f"scheme is one of {SCHEMES}; got {scheme!r}.")
        self.weights = weights.detach()
        self.accuracy_at = accuracy_at
        self.slider = w.IntSlider(value=bits, min=2, max=8, description="bits", continuous_update=False)
        self.scheme = w.Dropdown(options=list(SCHEMES), value=scheme, description="scheme")
        self.start((self.slider, self.scheme))

    def status_text(self, bits: int, scheme: str) -> str:
        rms = rms_error_by_bits(self.weights, [bits], scheme=scheme)[bits]
        levels = 2**bits if scheme == "per_tensor_affine" else 2**bits - 1
        text = f"{bits} bits, {scheme}: {levels} levels, RMS error {rms:.2e}"
        if self.accuracy_at is not None:
            text += f", test accuracy with all weights this way: {self.accuracy_at(bits, scheme):.4f}"
        return text

    def figure(self) -> Figure:
        return bit_width_figure(self.weights, self.slider.value, scheme=self.scheme.value)

    def on_redraw(self) -> None:
        self.status.value = self.status_text(self.slider.value, self.scheme.value)


@dataclass(frozen=True)
class Row:
    """One line of the final comparison."""

    name: str
    size_bytes: int
    latency_s: float
    accuracy: float


def results_table(rows: Sequence[Row]) -> str:
    """The rows as an aligned text table; latencies in the sanitizable ``(timed)`` form.

    The last column is each latency divided by the first row's (``1.00× (timed)`` for the first row),
    the form in which timings are compared with their noise.
    """
    if not rows:
        raise ValueError("results_table got no rows.")
    width = max(len(r.name) for r in rows)
    lines = [f"{'model':<{width}}  {'size (bytes)':>12}  {'size (kB)':>9}  {'accuracy':>8}  "
             f"latency (batch of 1), and / first row"]
    for r in rows:
        lines.append(
            f"{r.name:<{width}}  {r.size_bytes:>12d}  {r.size_bytes / 1000:>9.1f}  {r.accuracy:>8.4f}  "
            f"{format_timed(r.latency_s)}  {format_ratio(r.latency_s / rows[0].latency_s)}"
        )
    return "\n".join(lines)


def results_figure(rows: Sequence[Row]) -> Figure:
    """Bars of size, latency and accuracy, one colour per model."""
    if not rows:
        raise ValueError("results_figure got no rows.")
    names = [r.name for r in rows]
    colours = plt.get_cmap("tab10")(np.arange(len(rows)))
    fig, axes = plt.subplots(1, 3, figsize=(9, 3.2))
    panels = [
        ([r.size_bytes / 1000 for r in rows], "saved size (kB)"),
        ([r.latency_s * 1e3 for r in rows], "latency, batch of 1 (ms)"),
        ([100 * r.accuracy for r in rows], "test accuracy (%)"),
    ]
    for ax, (values, title) in zip(axes, panels, strict=True):
        ax.bar(range(len(rows)), values, color=colours)
        ax.set_xticks(range(len(rows)), names, rotation=30, ha="right", fontsize=8)
        ax.set_title(title, fontsize=9)
    low = min(100 * r.accuracy for r in rows)
    axes[2].set_ylim(max(0.0, low - 5), 100)
    fig.tight_layout()
    return fig
