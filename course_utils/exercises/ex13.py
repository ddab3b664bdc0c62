"""Checks for notebook 13 (compression): weight bytes, symmetric quantization, global pruning, shrinking,
sparse storage, the high-temperature limit of distillation."""

from __future__ import annotations

from collections.abc import Callable
from typing import Any

import torch
import torch.nn.functional as F
from torch import nn

from course_utils import checks

# --------------------------------------------------------------------------- helpers


def _call(fn: Callable[..., Any], *args: Any) -> tuple[str, Any]:
    """Run the learner's function: ('ok', result), ('todo', None) or ('error', 'Name: message')."""
    try:
        result = fn(*args)
    except NotImplementedError:
        return "todo", None
    except Exception as error:  # the learner's code: report it as a sentence
        return "error", f"{type(error).__name__}: {error}"
    if result is Ellipsis:
        return "todo", None
    return "ok", result


def _reported(exercise: str, status: str, got: Any, error_hint: str) -> bool:
    """Report a function that is not written yet or raised (``_call``'s status); True when it was reported."""
    if status == "todo":
        checks.not_done(exercise, checks.NOT_WRITTEN_MESSAGE)
    elif status == "error":
        checks.failed(exercise, f"your function raised {got}", error_hint)
    return status != "ok"


# --------------------------------------------------------------------------- 13.1 bytes


def check_1(answer: Any) -> None:
    """Exercise 13.1: bytes of the 512 x 128 weight matrix as float32, int8 per channel, int4 per group of 32."""
    float32, int8_rows, int4_groups = 512 * 128 * 4, 512 * 128 + 128 * 4, 512 * 128 // 2 + (512 * 128 // 32) * 4
    expected = (float32, int8_rows, int4_groups)
    hint = ("count the codes and the scales separately: 4 bytes per float32 value, 1 per int8 code, half a byte per "
            "int4 code, and 4 bytes per float32 scale (how many rows, how many groups of 32?).")
    if isinstance(answer, list | tuple) and len(answer) == 3:
        answer = tuple(int(a) if isinstance(a, int | float) and float(a).is_integer() else a for a in answer)
        _, hint = checks.first_mistake(answer, [
            ((512 * 128, 512 * 128 + 128, 512 * 128 + 2048), None,
             "you counted values, not bytes: 4 bytes per float32 value or scale, 1 per int8 code, 1/2 per int4 code."),
            (lambda a: a[0] == 512 * 128 * 32, None, "you counted bits: one byte is 8 bits."),
            (lambda a: a[1] == 512 * 128 and a[2] == 512 * 128 // 2, None,
             "the scales are stored too: one float32 (4 bytes) per row for int8, one per group of 32 weights for int4."),
            (lambda a: a[1] == 512 * 128 + 4, None,
             "per channel means one scale per output row: 128 scales, not one for the tensor."),
            (lambda a: a[2] == 512 * 128 + (512 * 128 // 32) * 4, None,
             "two 4-bit codes share one byte: the codes take 65,536 / 2 bytes."),
            (lambda a: a[2] == 512 * 128 // 2 + 128 * 4, None,
             "a group is 32 consecutive weights of a row, so each row of 512 has 16 groups: 2,048 scales in all."),
            (lambda a: a[2] == 512 * 128 // 2 + (512 * 128 // 32), None, "each scale is a float32: 4 bytes, not 1."),
        ]) or (None, hint)
    elif not checks.is_placeholder(answer):
        hint = "answer with three numbers: (float32_bytes, int8_per_channel_bytes, int4_group_bytes)."
    bits = 8 * int4_groups / (512 * 128)
    checks.check_value("13.1", answer, expected, hint=hint,
                       success=f"{expected} is right: the int4 file costs {bits:.0f} bits per weight, not 4, "
                               "because every 32 codes carry a 32-bit scale.")


# --------------------------------------------------------------------------- 13.2 symmetric quantization


def symmetric_fake_quantize_reference(x: torch.Tensor, bits: int) -> torch.Tensor:
    """Symmetric per-tensor quantize-dequantize with the signed range ±(2**(bits-1) - 1)."""
    q_max = 2 ** (bits - 1) - 1
    scale = x.abs().max() / q_max
    return torch.clamp(torch.round(x / scale), -q_max, q_max) * scale


def _symmetric_mistakes(x: torch.Tensor, bits: int) -> list[tuple[torch.Tensor, None, str]]:
    """What the typical mistakes of ``symmetric_fake_quantize(x, bits)`` return, with their hints."""
    q_max = 2 ** (bits - 1) - 1
    scale = x.abs().max() / q_max
    unsigned_scale = x.abs().max() / (2**bits - 1)
    return [
        (torch.clamp(torch.round(x / scale), -q_max, q_max), None,
         "you returned the integer codes q: dequantize them (multiply by the scale) before returning."),
        (torch.round(x / unsigned_scale) * unsigned_scale, None,
         "a signed b-bit code has levels -(2**(b-1)-1) ... 2**(b-1)-1 (±127 for 8 bits), not 2**b - 1."),
        (torch.clamp(torch.round(x / (x.abs().max() / 2 ** (bits - 1))), -(2 ** (bits - 1)), q_max)
         * (x.abs().max() / 2 ** (bits - 1)), None,
         "the largest code is 2**(bits-1) - 1 (127 for 8 bits), not 2**(bits-1): the scale is max|x| / 127."),
        (x.clone(), None, "nothing was rounded: use torch.round(x / scale) to get whole-number codes."),
        (torch.clamp(torch.floor(x / scale), -q_max, q_max) * scale, None,
         "use torch.round, not floor or int(): rounding to the nearest level halves the error."),
    ]


def check_2(fn: Callable[[torch.Tensor, int], torch.Tensor], distinct_at_3_bits: Any = ...) -> None:
    """Exercise 13.2: ``symmetric_fake_quantize(x, bits)`` and the predicted number of values at 3 bits."""
    exercise = "13.2"
    generator = torch.Generator().manual_seed(13)
    cases = []
    for bits in (8, 4, 3):
        x = torch.randn(40, generator=generator) * 0.3
        cases.append(((x, bits), symmetric_fake_quantize_reference(x, bits)))
    x, bits = cases[1][0]
    status, got = _call(fn, x.clone(), bits)  # check_function reports a placeholder, "todo" or a crash
    _, hint = checks.first_mistake(got if status == "ok" else None, _symmetric_mistakes(x, bits), atol=1e-6) or (
        None, "which scale s puts max|x| exactly on the outermost code q_max? With z = 0, round x / s, clamp the "
              "codes to the symmetric range, and map them back as in the affine formulas.")
    if checks.is_placeholder(fn) or status != "ok":  # not written yet, or it raised: check_function says which
        checks.check_function(exercise, fn, cases, atol=1e-6, hint=hint)
        return
    if checks.is_placeholder(distinct_at_3_bits):
        checks.not_done(exercise, "write your prediction too: distinct_at_3_bits = how many values the 3-bit "
                                  "result can take.")
        return
    many = torch.randn(2000, generator=generator)
    try:
        used = len(torch.unique(torch.as_tensor(fn(many.clone(), 3))))
    except Exception:  # check_function below reports the crash
        used = None
    if not isinstance(distinct_at_3_bits, int) or isinstance(distinct_at_3_bits, bool) or distinct_at_3_bits != 7:
        _, prediction_hint = checks.first_mistake(distinct_at_3_bits, [
            (8, None, "2**3 = 8 codes exist, but the symmetric range leaves the most negative one (-4) unused."),
            (3, None, "q_max = 3 is the largest code: count the negative codes and 0 as well."),
            (6, None, "0 is a level too (it is why the zero-point exists)."),
            (4, None, "that is the number of non-negative levels; the negative ones count too."),
        ]) or (None, f"your own function used {used} distinct values on 2,000 random numbers at 3 bits.")
        checks.failed(exercise, f"your prediction {distinct_at_3_bits!r} is not the number of levels at 3 bits.",
                      prediction_hint)
        return
    checks.check_function(exercise, fn, cases, atol=1e-6, hint=hint,
                          success=f"your quantizer matches the reference at 8, 4 and 3 bits, and at 3 bits it used "
                                  f"{used} values (-3s to 3s), as you predicted.")


# --------------------------------------------------------------------------- 13.3 global pruning


def _masks_by_score(scores: list[torch.Tensor], amount: float) -> list[torch.Tensor]:
    """0/1 masks that zero the ``round(amount * total)`` smallest scores, ranked over all tensors together."""
    flat = torch.cat([s.detach().flatten() for s in scores])
    n_prune = round(amount * flat.numel())
    keep = torch.ones_like(flat)
    if n_prune:
        keep[torch.topk(flat, n_prune, largest=False).indices] = 0.0
    masks, start = [], 0
    for s in scores:
        masks.append(keep[start : start + s.numel()].view_as(s).clone())
        start += s.numel()
    return masks


def global_masks_reference(weights: list[torch.Tensor], amount: float) -> list[torch.Tensor]:
    """Masks that zero the ``round(amount * total)`` smallest |w| over all tensors together."""
    return _masks_by_score([w.abs() for w in weights], amount)


def _masks_as_list(got: Any, weights: list[torch.Tensor]) -> tuple[list[torch.Tensor] | None, str | None]:
    if not isinstance(got, list | tuple) or len(got) != len(weights):
        return None, f"return a list with one mask per weight tensor ({len(weights)} here); got {type(got).__name__}."
    masks = []
    for i, (m, w) in enumerate(zip(got, weights, strict=True)):
        if not isinstance(m, torch.Tensor) or m.shape != w.shape:
            shape = tuple(m.shape) if isinstance(m, torch.Tensor) else type(m).__name__
            return None, f"mask {i} should be a tensor shaped like its weights {tuple(w.shape)}; got {shape}."
        masks.append(m.detach().float())
    return masks, None


def check_3(fn: Callable[[list[torch.Tensor], float], list[torch.Tensor]]) -> None:
    """Exercise 13.3: ``global_magnitude_masks(weights, amount)``, checked against torch's global pruning."""
    exercise = "13.3"
    if checks.unanswered(exercise, fn):
        return
    generator = torch.Generator().manual_seed(3)
    # two layers with very different weight scales: global and per-layer pruning disagree here
    weights = [torch.randn(6, 10, generator=generator) * 0.05, torch.randn(4, 6, generator=generator)]
    amount = 0.5
    expected = global_masks_reference(weights, amount)
    status, got = _call(fn, [w.clone() for w in weights], amount)
    if _reported(exercise, status, got,
                 "flatten |w| of every tensor, torch.cat them, and find the k smallest (torch.topk or kthvalue)."):
        return
    masks, problem = _masks_as_list(got, weights)
    if masks is None:
        checks.failed(exercise, problem, "build one 0/1 mask per tensor, e.g. (w.abs() > threshold).float().")
        return

    def same_as(reference: list[torch.Tensor]) -> Callable[[list[torch.Tensor]], bool]:
        return lambda got: all(torch.equal(m, r) for m, r in zip(got, reference, strict=True))

    total = sum(w.numel() for w in weights)
    pruned = int(sum((m == 0).sum() for m in masks))
    if same_as(expected)(masks):
        checks.passed(exercise, f"{pruned} of {total} weights pruned "
                      "globally, the same mask as torch.nn.utils.prune.global_unstructured.")
        return
    _, hint = checks.first_mistake(masks, [
        (same_as([1 - e for e in expected]), None,
         "your masks are inverted: a mask keeps (1) the LARGE magnitudes and prunes (0) the small ones."),
        (same_as([_masks_by_score([w.abs()], amount)[0] for w in weights]), None,
         "you pruned each tensor separately (50 % of each). Global pruning ranks all weights together: "
         "torch.cat the flattened |w| of every tensor, then pick one threshold."),
        (same_as(_masks_by_score(weights, amount)), None,  # ranked by the signed value instead of the magnitude
         "rank the weights by magnitude |w| (w.abs()), not by their signed value."),
        (lambda _: pruned != round(amount * total), None,
         f"your masks prune {pruned} of {total} weights; round(amount * total) = {round(amount * total)} "
         "should be pruned. Check how you compute the threshold (kthvalue counts from 1)."),
    ]) or (None, "the right number is pruned but not the right weights: rank |w| over all tensors together.")
    checks.failed(exercise, "your masks differ from global magnitude pruning.", hint)


# --------------------------------------------------------------------------- 13.4 shrinking


def _pruned_pair(seed: int = 4) -> tuple[nn.Linear, nn.Linear, list[int]]:
    generator = torch.Generator().manual_seed(seed)
    fc1, fc2 = nn.Linear(12, 8), nn.Linear(8, 3)
    with torch.no_grad():
        for layer in (fc1, fc2):
            layer.weight.copy_(torch.randn(layer.weight.shape, generator=generator))
            layer.bias.copy_(torch.randn(layer.bias.shape, generator=generator).abs() + 0.1)
        dead = [1, 4, 6]
        fc1.weight[dead] = 0.0  # structured pruning zeroes rows of the weight; the biases stay
    return fc1, fc2, dead


def shrink_pair_reference(fc1: nn.Linear, fc2: nn.Linear) -> tuple[nn.Linear, nn.Linear]:
    """Drop the all-zero rows of ``fc1`` (and the matching columns of ``fc2``), folding their constant output."""
    keep = fc1.weight.detach().abs().sum(dim=1) != 0
    small1, small2 = nn.Linear(fc1.in_features, int(keep.sum())), nn.Linear(int(keep.sum()), fc2.out_features)
    with torch.no_grad():
        small1.weight.copy_(fc1.weight[keep])
        small1.bias.copy_(fc1.bias[keep])
        small2.weight.copy_(fc2.weight[:, keep])
        small2.bias.copy_(fc2.bias + fc2.weight[:, ~keep] @ F.relu(fc1.bias[~keep]))
    return small1, small2


def check_4(fn: Callable[[nn.Linear, nn.Linear], tuple[nn.Linear, nn.Linear]]) -> None:
    """Exercise 13.4: ``shrink_pair(fc1, fc2)`` removes structurally pruned neurons for real."""
    exercise = "13.4"
    if checks.unanswered(exercise, fn):
        return
    fc1, fc2, dead = _pruned_pair()
    x = torch.randn(5, 12, generator=torch.Generator().manual_seed(5))
    with torch.no_grad():
        expected = fc2(F.relu(fc1(x)))
    status, got = _call(fn, fc1, fc2)
    if _reported(exercise, status, got, "keep = rows of fc1.weight that are not all zero; "
                 "fc1 keeps rows (weight[keep]), fc2 keeps columns (weight[:, keep])."):
        return
    if not (isinstance(got, tuple | list) and len(got) == 2 and all(isinstance(m, nn.Linear) for m in got)):
        checks.failed(exercise, "return a pair of nn.Linear layers: (small_fc1, small_fc2).")
        return
    small1, small2 = got
    n_keep = fc1.out_features - len(dead)
    if small1.out_features == fc1.out_features:
        checks.failed(exercise, f"your first layer still has {small1.out_features} outputs.",
                      "drop the neurons whose weight row is all zero: fc1.weight.abs().sum(dim=1) != 0 marks the ones to keep.")
        return
    if small1.out_features != n_keep or small2.in_features != n_keep:
        checks.failed(exercise,
                      f"the layers are {small1.in_features}->{small1.out_features}->{small2.out_features}; "
                      f"with {len(dead)} zero rows they should be 12->{n_keep}->3.",
                      "fc1 keeps rows (weight[keep], bias[keep]) and fc2 keeps the matching columns (weight[:, keep]).")
        return
    try:
        with torch.no_grad():
            out = small2(F.relu(small1(x)))
    except Exception as error:
        checks.failed(exercise, f"running your layers raised {type(error).__name__}: {error}")
        return
    if checks.close(out, expected, atol=1e-5, rtol=1e-5):  # torch.allclose's tolerances
        checks.passed(exercise, f"12->8->3 became 12->{n_keep}->3 with the same outputs.")
        return
    gap = out - expected
    if checks.close(gap, gap[:1].expand_as(gap), atol=1e-5, rtol=1e-5):
        hint = ("the outputs are off by the same amount for every input: a pruned neuron still outputs relu(bias). "
                "Add fc2.weight[:, removed] @ relu(fc1.bias[removed]) to the new fc2 bias.")
    else:
        hint = "the outputs differ input by input: check that fc1 keeps rows and fc2 keeps the same COLUMNS."
    checks.failed(exercise, "the smaller pair does not compute what the pruned pair computed.", hint)


# --------------------------------------------------------------------------- 13.5 sparse storage


def break_even_reference(rows: int = 128, cols: int = 512) -> tuple[float, float]:
    """Sparsity above which the arrays of COO and CSR (float32 values, int64 indices) take fewer bytes than dense.

    Dense: ``4 * rows * cols``. COO: ``(4 + 8 + 8) * nnz``. CSR: ``(4 + 8) * nnz + 8 * (rows + 1)``
    (values, column indices, row pointers).
    """
    dense = 4 * rows * cols
    coo_density = dense / 20 / (rows * cols)
    csr_density = (dense - 8 * (rows + 1)) / 12 / (rows * cols)
    return 1 - coo_density, 1 - csr_density


def check_5(answer: Any) -> None:
    """Exercise 13.5: the break-even sparsities ``(coo, csr)`` of a 128 x 512 float32 weight."""
    exercise = "13.5"
    coo, csr = break_even_reference()
    if checks.is_placeholder(answer):
        checks.not_done(exercise)
        return
    if not (isinstance(answer, list | tuple) and len(answer) == 2
            and all(isinstance(a, int | float) and not isinstance(a, bool) for a in answer)):
        checks.failed(exercise, "answer with two fractions of zeros: (coo_break_even, csr_break_even).")
        return
    got = tuple(float(a) for a in answer)
    if abs(got[0] - coo) <= 6e-4 and abs(got[1] - csr) <= 6e-4:   # three decimals
        checks.passed(exercise, f"COO breaks even at {coo:.3f} zeros, CSR at {csr:.3f}: CSR's row pointers "
                                "replace one index per value.")
        return
    _, hint = checks.first_mistake(got, [
        (lambda a: abs(a[0] - (1 - coo)) < 0.01 or abs(a[1] - (1 - csr)) < 0.01, None,
         "that is the fraction of non-zeros at break-even; the question asks for the fraction of zeros."),
        (lambda a: abs(a[0] - 2 / 3) < 0.01, None,
         "COO stores two indices per value (row and column), each an int64: 4 + 8 + 8 = 20 bytes per non-zero."),
        (lambda a: abs(a[0] - 0.6) < 0.01 or abs(a[0] - 0.5) < 0.01, None,
         "torch's sparse indices are int64 (8 bytes each), not int32."),
        (lambda a: abs(a[0] - coo) <= 6e-4 and abs(a[1] - 2 / 3) < 6e-4, None,
         "close: CSR also stores rows + 1 row pointers (int64) whatever the sparsity; they move the break-even a "
         "little."),
        (lambda a: abs(a[0] - coo) <= 6e-4, None,
         "COO is right. CSR keeps one int64 column index per value (12 bytes with the value) plus rows + 1 row "
         "pointers of 8 bytes."),
    ]) or (None, "dense costs 4 bytes per weight whether zero or not; write each format's bytes as a function of "
                 "the number of non-zeros and solve for equality.")
    checks.failed(exercise, f"{answer!r} are not the break-even sparsities.", hint)


# --------------------------------------------------------------------------- 13.6 the high-temperature limit


def high_temperature_gradient_reference(student_logits: torch.Tensor, teacher_logits: torch.Tensor) -> torch.Tensor:
    """The T -> infinity limit of d soft_target_loss / d student logits: logit matching.

    ``((z - mean z) - (v - mean v)) / (classes * batch)``.
    """
    z, v = student_logits.detach(), teacher_logits.detach()
    batch, classes = z.shape
    return ((z - z.mean(dim=1, keepdim=True)) - (v - v.mean(dim=1, keepdim=True))) / (classes * batch)


def check_6(fn: Callable[[torch.Tensor, torch.Tensor], torch.Tensor]) -> None:
    """Exercise 13.6: ``high_temperature_gradient(student_logits, teacher_logits)``, checked against autograd at T = 10^4."""
    from course_utils.topics.compression import soft_target_loss

    exercise = "13.6"
    if checks.unanswered(exercise, fn):
        return
    generator = torch.Generator().manual_seed(6)
    z = (torch.randn(6, 10, generator=generator) + 2.0).double()    # the two sets of logits have different means
    v = (3 * torch.randn(6, 10, generator=generator) - 1.0).double()
    leaf = z.clone().requires_grad_(True)
    soft_target_loss(leaf, v, 1e4).backward()       # float64: the remaining gap is the O(1/T) term, about 5e-5
    expected = leaf.grad
    status, got = _call(fn, z.clone(), v.clone())
    if _reported(exercise, status, got, "expand exp(z / T) = 1 + z / T for large T in the softmax, then take "
                 "T * (p_student - p_teacher) / batch."):
        return
    if not isinstance(got, torch.Tensor) or got.shape != z.shape:
        shape = tuple(got.shape) if isinstance(got, torch.Tensor) else type(got).__name__
        checks.failed(exercise, f"return one gradient per logit, shaped {tuple(z.shape)}; got {shape}.")
        return
    got = got.detach().double()
    if checks.close(got, expected, atol=5e-4):
        checks.passed(exercise, "your limit matches autograd at T = 10,000: at high temperature distillation is "
                                "matching the centred logits with a squared error.")
        return
    batch, classes = z.shape
    centred = (z - z.mean(1, keepdim=True)) - (v - v.mean(1, keepdim=True))
    _, hint = checks.first_mistake(got, [
        (torch.zeros_like(z), None, "the T**2 factor in the loss cancels the 1/T**2 shrinkage: the limit is not 0."),
        (-expected, None, "the sign: the gradient pushes the student's logits towards the teacher's, "
                          "so it is (student - teacher), not (teacher - student)."),
        ((z - v) / (classes * batch), None,
         "centre each row: softmax ignores a constant added to all logits, so only z - mean(z) and "
         "v - mean(v) can matter."),
        (centred / batch, None, "each softened probability is about 1/K + (z_i - mean z) / (K T): divide by "
                                "the number of classes K too."),
        (centred / classes, None, "the loss is averaged over the batch: divide by the batch size as well."),
    ], atol=5e-4) or (None, "for large T, p_i is about (1 + z_i / T) / (K + sum_j z_j / T); keep the "
                                       "terms of order 1/T.")
    checks.failed(exercise, "your gradient differs from autograd's at T = 10,000.", hint)
