"""Checks for notebook 22 (distributed data parallel)."""

from __future__ import annotations

from typing import Any

from course_utils import checks

# Exercise 22.3: a 10⁸-parameter model, 50 ms of compute per step, 10 GB/s and 20 µs per message, no overlap
PARAMS, COMPUTE_S, BANDWIDTH, LATENCY, THRESHOLD = 100_000_000, 0.05, 10e9, 20e-6, 0.5


def real_shards(n: int = 10, ranks: int = 4) -> list[list[int]]:
    """What ``DistributedSampler(range(n), num_replicas=ranks, rank=r, shuffle=False)`` hands each rank."""
    from torch.utils.data import DistributedSampler

    return [list(DistributedSampler(range(n), num_replicas=ranks, rank=r, shuffle=False)) for r in range(ranks)]


def _numbers(exercise: str, *answers: Any) -> tuple | None:
    """The answers as plain numbers, or None after saying "not done yet" for a placeholder."""
    return None if checks.unanswered(exercise, *answers) else tuple(checks.as_number(a) for a in answers)


PER_RANK_MISTAKES = [
    (2, "2 per rank is what drop_last=True gives (it drops the 2 samples that do not fill a round).",
     "by default the sampler pads: every rank gets ⌈10/4⌉ samples."),
    (2.5, "a rank gets whole samples.", "every rank gets the same whole number of samples, ⌈10/4⌉."),
    (10, "that is the size of the data set; the sampler splits it.", "10 samples over 4 ranks."),
    (lambda v: not checks.close(v, 3), "the number of samples per rank is not right.",
     "every rank gets the same number, ⌈10/4⌉."),
]
DUPLICATED_MISTAKES = [  # (wrong answer, problem, hint)
    (0, "4 ranks × 3 = 12 indices come from a data set of 10.", "the sampler repeats indices to fill a round."),
    (12, "12 is the number of indices handed out, not the number repeated.", "12 − 10."),
    (lambda v: not checks.close(v, 2), "the number of repeated indices is not right.", "4 × 3 − 10."),
]


def check_1(samples_per_rank: Any, duplicated: Any) -> None:
    """Exercise 22.1: DistributedSampler, 10 samples on 4 ranks (drop_last=False)."""
    if (numbers := _numbers("22.1", samples_per_rank, duplicated)) is None:
        return
    found = checks.first_mistake(numbers[0], PER_RANK_MISTAKES) or checks.first_mistake(numbers[1], DUPLICATED_MISTAKES)
    shards = "; ".join(f"rank {r} {shard}" for r, shard in enumerate(real_shards()))
    checks.verdict("22.1", found, "each rank gets ⌈10/4⌉ = 3 indices, 12 in all, so 2 samples are seen twice per "
                                   "epoch (drop_last=True would drop them instead). DistributedSampler(range(10), "
                                   f"num_replicas=4, rank=r, shuffle=False) itself hands out: {shards}.")


def check_2(weight_rank0: Any, weight_rank1: Any) -> None:
    """Exercise 22.2: weights of one sample in the DDP-averaged gradient, with 3 and 5 samples on the ranks."""
    if (numbers := _numbers("22.2", weight_rank0, weight_rank1)) is None:
        return
    w0, w1 = numbers
    found = None
    if checks.close(w0, 1 / 8) and checks.close(w1, 1 / 8):
        found = ("1/8 each would be the full-batch mean; DDP averages the two ranks' *means* instead.",
                 "each rank divides by its own batch size, then DDP divides by the number of ranks.")
    elif checks.close(w0, 1 / 3) and checks.close(w1, 1 / 5):
        found = ("1/3 and 1/5 are the weights inside each rank's own mean, before DDP averages the ranks.",
                 "DDP's all-reduce sums the ranks' gradients and divides by the world size, 2.")
    elif checks.close(w0, 1 / 10) and checks.close(w1, 1 / 6):
        found = ("the two weights are swapped.", "rank 0 has 3 samples: its mean gives each 1/3.")
    elif not (checks.close(w0, 1 / 6) and checks.close(w1, 1 / 10)):
        found = ("not right yet.", "weight = 1/(samples on the rank) × 1/(number of ranks).")
    checks.verdict("22.2", found, "1/2 · 1/3 = 1/6 for a rank-0 sample and 1/2 · 1/5 = 1/10 for a rank-1 sample: "
                                   "with unequal shards DDP is not the full-batch gradient (1/8 each). Equal "
                                   "shards, as DistributedSampler makes them, remove the difference.")


def first_n_below(threshold: float = THRESHOLD, limit: int = 100_000) -> int:
    """The smallest N ≥ 2 at which the scaling efficiency of exercise 22.3's model falls below ``threshold``."""
    from course_utils.topics.distributed import scaling_efficiency

    for n in range(2, limit):
        if scaling_efficiency(COMPUTE_S, 4 * PARAMS, n, BANDWIDTH, LATENCY) < threshold:
            return n
    raise ValueError(f"the efficiency stays at or above {threshold} up to N = {limit}.")


def check_3(first_n: Any) -> None:
    """Exercise 22.3: the smallest number of workers at which the efficiency falls below 0.5."""
    if (numbers := _numbers("22.3", first_n)) is None:
        return
    expected, value = first_n_below(), numbers[0]
    latency_only = next(n for n in range(2, 100_000) if 2 * (n - 1) * LATENCY > COMPUTE_S)
    found = checks.first_mistake(value, [
        (lambda v: isinstance(v, int | float) and v > 10 * expected,
         "the ring's bytes per worker, 2(N − 1)/N × S, stay below 2S but are not constant: they grow with N "
         f"long before the latencies matter (those alone would reach the compute time only at N = {latency_only}).",
         "compare the bytes term at N = 2 and at N = 3 with the 50 ms of compute."),
        (1, "one worker sends nothing: its efficiency is 1.", "start at N = 2."),
        (2, "at N = 2 each worker sends one gradient: 0.4 GB / 10 GB/s = 40 ms, less than the 50 ms of "
         "compute, so the efficiency is still about 0.56.", "2(N − 1)/N is 1 at N = 2 and 4/3 at N = 3."),
        (lambda v: not checks.close(v, expected), "that is not the first N with an efficiency below 0.5.",
         "efficiency < 0.5 means the all-reduce takes longer than the compute: 2(N − 1)/N × 40 ms > 50 ms."),
    ])
    checks.verdict("22.3", found, f"N = {expected}: the bytes term 2(N − 1)/N × 40 ms is 40 ms at N = 2 but "
                                   "53 ms at N = 3, above the 50 ms of compute, while the latencies add only "
                                   "tens of µs. The bytes dominate: this model needs overlap, a faster link or "
                                   "more compute per step (a larger batch) before a second or third worker pays.")
