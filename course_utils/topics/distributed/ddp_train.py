"""The script that ``torchrun`` starts once per rank: every demo of notebook 22 in one launch.

    python -m torch.distributed.run --nnodes 1 --nproc-per-node 2 \\
        --master-addr 127.0.0.1 --master-port PORT \\
        -m course_utils.topics.distributed.ddp_train --out DIR --seed 0

torchrun sets RANK, LOCAL_RANK, WORLD_SIZE, MASTER_ADDR and MASTER_PORT for each process;
``init_process_group`` reads them. Each rank writes ``rank{r}.json`` (small results) and ``rank{r}.pt``
(tensors) to DIR; the notebook reads them back. On a cluster the same file runs unchanged: ``setup`` picks
NCCL and the GPU numbered LOCAL_RANK where CUDA exists (gloo and the CPU otherwise), so only the torchrun
line (more nodes, a rendezvous endpoint) changes.
"""

from __future__ import annotations

import argparse
import json
import os
import time
from pathlib import Path

import torch
import torch.distributed as dist
from torch.nn.parallel import DistributedDataParallel as DDP
from torch.utils.data import DataLoader, DistributedSampler, TensorDataset

from course_utils.topics.distributed import common
from course_utils.topics.distributed.common import flat_grads, flat_params, loss_of, make_model
from course_utils.topics.distributed.common import make_data as _make_data_cpu

DEVICE = torch.device("cpu")  # set by setup(): this process's GPU, or the CPU


def setup() -> tuple[int, int]:
    """Join the process group: NCCL and GPU number LOCAL_RANK where CUDA exists, gloo and the CPU otherwise."""
    global DEVICE
    local_rank = int(os.environ.get("LOCAL_RANK", 0))
    if torch.cuda.is_available():
        torch.cuda.set_device(local_rank)  # each process drives one GPU of its node
        DEVICE = torch.device("cuda", local_rank)
    dist.init_process_group(backend="nccl" if DEVICE.type == "cuda" else "gloo")  # reads RANK, WORLD_SIZE, ...
    return dist.get_rank(), dist.get_world_size()


def wrap(model: torch.nn.Module) -> DDP:
    """DDP around ``model`` on this process's device (``device_ids`` only on a GPU)."""
    return DDP(model.to(DEVICE), device_ids=[DEVICE.index] if DEVICE.type == "cuda" else None)


def make_data(n: int, seed: int, **sizes) -> tuple[torch.Tensor, torch.Tensor]:
    """``common.make_data`` (the same numbers on every rank), moved to this process's device."""
    X, y = _make_data_cpu(n, seed, **sizes)
    return X.to(DEVICE), y.to(DEVICE)


def collectives(rank: int, world: int) -> dict:
    """all_reduce, broadcast and all_gather on small tensors; each rank's tensor before and after."""
    x = torch.tensor([rank + 1.0, 10.0 * (rank + 1)], device=DEVICE)
    before = x.tolist()
    dist.all_reduce(x, op=dist.ReduceOp.SUM)  # in place: every rank ends with the sum
    out = {"all_reduce": (before, x.tolist())}

    x = torch.tensor([100.0 * rank + 7], device=DEVICE)
    before = x.tolist()
    dist.broadcast(x, src=0)  # in place: every rank ends with rank 0's tensor
    out["broadcast"] = (before, x.tolist())

    x = torch.tensor([float(rank), float(rank) ** 2 + 1], device=DEVICE)
    gathered = [torch.empty_like(x) for _ in range(world)]
    dist.all_gather(gathered, x)  # every rank receives every rank's tensor, in rank order
    out["all_gather"] = (x.tolist(), [t.tolist() for t in gathered])
    return out


def ring_allreduce_p2p(x: torch.Tensor) -> tuple[torch.Tensor, int]:
    """The ring all-reduce (sum) between real processes, with point-to-point isend/irecv only.

    Returns this rank's result and the number of elements it sent. The same schedule as the
    one-process simulation ``ring_allreduce``: rank r sends one chunk to rank r + 1 and receives one
    from rank r − 1 per step; N − 1 steps of reduce-scatter, then N − 1 of all-gather.
    """
    rank, world = dist.get_rank(), dist.get_world_size()
    chunks = list(x.detach().flatten().clone().tensor_split(world))
    right, left, sent = (rank + 1) % world, (rank - 1) % world, 0
    for phase in ("reduce-scatter", "all-gather"):
        for step in range(world - 1):
            out = (rank - step) % world if phase == "reduce-scatter" else (rank + 1 - step) % world
            into = (out - 1) % world  # the chunk that the left neighbour sends in this step
            incoming = torch.empty_like(chunks[into])
            requests = [dist.isend(chunks[out].contiguous(), dst=right), dist.irecv(incoming, src=left)]
            for request in requests:
                request.wait()
            chunks[into] = chunks[into] + incoming if phase == "reduce-scatter" else incoming
            sent += chunks[out].numel()
    return torch.cat(chunks).reshape(x.shape), sent


def ring_demo(rank: int, size: int, seed: int) -> tuple[dict, dict]:
    """The hand-written ring against ``dist.all_reduce`` on a vector of ``size`` random floats per rank."""
    g = torch.Generator().manual_seed(seed * 1000 + rank)
    x = torch.randn(size, generator=g).to(DEVICE)
    mine, sent = ring_allreduce_p2p(x)
    reference = x.clone()
    dist.all_reduce(reference)
    return {"size": size, "sent": sent}, {"ring_input": x, "ring_p2p": mine, "ring_gloo": reference}


def manual_data_parallel(rank: int, world: int, seed: int) -> torch.Tensor:
    """Data parallelism by hand: broadcast rank 0's weights, backward on the own half, all_reduce(grad) / N."""
    model = make_model(seed + rank).to(DEVICE)  # different weights on each rank, as in ddp_gradients
    for p in model.parameters():
        dist.broadcast(p.data, src=0)  # what DDP(...) does when it wraps the model
    X, y = make_data(common.BATCH, seed)
    loss_of(model, X[rank::world], y[rank::world]).backward()
    for p in model.parameters():
        dist.all_reduce(p.grad, op=dist.ReduceOp.SUM)  # what DDP does, bucket by bucket, during backward()
        p.grad /= world
    return flat_grads(model)


def sampler_shards(rank: int, world: int, n: int, seed: int) -> dict:
    """The indices DistributedSampler hands this rank in epochs 0 and 1 (shuffled, seeded alike on all ranks)."""
    sampler = DistributedSampler(TensorDataset(torch.arange(n)), num_replicas=world, rank=rank, shuffle=True,
                                 seed=seed)
    shards = {}
    for epoch in (0, 1):
        sampler.set_epoch(epoch)  # without it every epoch repeats the same order
        shards[epoch] = list(sampler)
    return shards


def ddp_gradients(rank: int, world: int, seed: int) -> tuple[dict, torch.Tensor]:
    """One DDP backward pass on this rank's half of a batch of common.BATCH; returns the averaged gradient."""
    model = make_model(seed + rank)  # deliberately different weights on each rank ...
    before = flat_params(model).sum().item()
    ddp = wrap(model)  # ... DDP broadcasts rank 0's weights when it wraps the model
    after = flat_params(model).sum().item()
    X, y = make_data(common.BATCH, seed)
    mine = list(DistributedSampler(TensorDataset(X), num_replicas=world, rank=rank, shuffle=False))
    loss_of(ddp, X[mine], y[mine]).backward()  # backward() all-reduces the gradients (averaged over ranks)
    return {"weights_sum_before": before, "weights_sum_after": after, "rows": mine}, flat_grads(model)


class Traffic:
    """The state of ``counting_allreduce``: how many all-reduces ran and how many bytes they carried."""

    def __init__(self) -> None:
        self.calls, self.bytes = 0, 0


def counting_allreduce(state: Traffic, bucket):
    """A DDP communication hook: count the all-reduce of this gradient bucket, then do the default one."""
    from torch.distributed.algorithms.ddp_comm_hooks.default_hooks import allreduce_hook

    state.calls += 1
    state.bytes += bucket.buffer().numel() * bucket.buffer().element_size()
    return allreduce_hook(None, bucket)  # the default: average the bucket over all ranks


def accumulate(rank: int, world: int, seed: int, use_no_sync: bool) -> tuple[dict, torch.Tensor]:
    """One optimizer step's gradient from common.MICRO_BATCHES micro-batches per rank."""
    ddp = wrap(make_model(seed))
    traffic = Traffic()
    ddp.register_comm_hook(traffic, counting_allreduce)
    k, m = common.MICRO_BATCHES, common.MICRO_BATCH
    X, y = make_data(world * k * m, seed + 1)
    for i in range(k):
        rows = slice((i * world + rank) * m, (i * world + rank + 1) * m)
        last = i == k - 1
        if use_no_sync and not last:
            with ddp.no_sync():  # forward and backward inside: gradients only add up locally
                (loss_of(ddp, X[rows], y[rows]) / k).backward()
        else:
            (loss_of(ddp, X[rows], y[rows]) / k).backward()  # all-reduces the accumulated gradients
    return {"all_reduces": traffic.calls, "bytes": traffic.bytes}, flat_grads(ddp.module)


def train_epochs(ddp, optimizer, loader, sampler, epochs) -> list[float]:
    """The usual loop; ``sampler.set_epoch`` gives every epoch its own (reproducible) shuffle."""
    losses = []
    for epoch in epochs:
        sampler.set_epoch(epoch)
        for X, y in loader:
            optimizer.zero_grad()
            loss = loss_of(ddp, X, y)
            loss.backward()
            optimizer.step()
        losses.append(loss.item())
    return losses


def fresh_run(world: int, rank: int, seed: int, init_seed: int):
    """Model (DDP, initialised from ``init_seed``), optimizer, sampler and loader for the checkpoint demo."""
    data = TensorDataset(*make_data(common.CHECKPOINT_DATA, seed + 2))
    sampler = DistributedSampler(data, num_replicas=world, rank=rank, shuffle=True, seed=seed)
    loader = DataLoader(data, batch_size=common.CHECKPOINT_BATCH, sampler=sampler)
    ddp = wrap(make_model(init_seed))
    optimizer = torch.optim.SGD(ddp.parameters(), lr=0.1, momentum=0.9)  # momentum: state worth saving
    return ddp, optimizer, sampler, loader


def checkpoint_and_resume(rank: int, world: int, seed: int, folder: Path) -> tuple[dict, dict]:
    """Train without a break; then train, save on rank 0, rebuild everything, load and finish."""
    ddp, optimizer, sampler, loader = fresh_run(world, rank, seed, init_seed=seed + 3)
    straight = train_epochs(ddp, optimizer, loader, sampler, range(common.CHECKPOINT_EPOCHS))
    final_straight = flat_params(ddp.module)

    ddp, optimizer, sampler, loader = fresh_run(world, rank, seed, init_seed=seed + 3)
    first = train_epochs(ddp, optimizer, loader, sampler, range(common.CHECKPOINT_AT))
    path = folder / "checkpoint.pt"
    if rank == 0:  # one writer: the weights are the same on every rank
        torch.save({"model": ddp.module.state_dict(), "optimizer": optimizer.state_dict(),
                    "epoch": common.CHECKPOINT_AT}, path)
    dist.barrier()  # nobody reads the file before rank 0 has finished writing it
    del ddp, optimizer  # as if the job had been killed: build everything again
    ddp, optimizer, sampler, loader = fresh_run(world, rank, seed, init_seed=seed + 100)  # other weights
    state = torch.load(path, map_location=DEVICE, weights_only=True)
    ddp.module.load_state_dict(state["model"])
    optimizer.load_state_dict(state["optimizer"])
    rest = train_epochs(ddp, optimizer, loader, sampler, range(state["epoch"], common.CHECKPOINT_EPOCHS))
    info = {"losses_straight": straight, "losses_resumed": first + rest, "saved_by": rank if rank == 0 else None,
            "resumed_from_epoch": state["epoch"]}
    return info, {"final_straight": final_straight, "final_resumed": flat_params(ddp.module)}


def fsdp_demo(rank: int, world: int, seed: int) -> tuple[dict, dict]:
    """FSDP2 (``fully_shard``): each rank stores a shard of every weight; gather gradients to compare."""
    from torch.distributed.fsdp import fully_shard

    model = make_model(seed).to(DEVICE)
    full_sizes = [p.numel() for p in model.parameters()]
    for layer in model:
        if isinstance(layer, torch.nn.Linear):
            fully_shard(layer)  # one unit per layer: its weights are gathered just before use
    fully_shard(model)
    local_sizes = [p.to_local().numel() for p in model.parameters()]  # parameters are now DTensors
    X, y = make_data(common.BATCH, seed)
    loss_of(model, X[rank::world], y[rank::world]).backward()  # gradients are reduce-scattered
    grads = torch.cat([p.grad.full_tensor().flatten() for p in model.parameters()])  # gather, for the check
    return {"full_sizes": full_sizes, "local_sizes": local_sizes}, {"fsdp_grad": grads}


def _step(model, optimizer, X, y) -> None:
    optimizer.zero_grad()
    loss_of(model, X, y).backward()
    optimizer.step()


def _timed(step, steps: int) -> float:
    """Seconds for ``steps`` calls of ``step()``, after one untimed warm-up call (first-call costs)."""
    step()
    if DEVICE.type == "cuda":
        torch.cuda.synchronize()
    start = time.perf_counter()
    for _ in range(steps):
        step()
    if DEVICE.type == "cuda":
        torch.cuda.synchronize()
    return time.perf_counter() - start


def _trainer(model, X, y):
    optimizer = torch.optim.SGD(model.parameters(), lr=0.05)
    return lambda: _step(model, optimizer, X, y)


def timing(rank: int, world: int, seed: int, steps: int, batch: int) -> tuple[dict, dict]:
    """The same training (``steps`` SGD steps on a global batch) on 1 process, then with DDP on all ranks.

    Every timed loop starts with one untimed warm-up step (the same on both sides, so the final weights
    still agree).
    """
    X, y = make_data(batch, seed + 4, features=common.TIMING_SIZES[0], classes=common.TIMING_SIZES[-1])
    mine = slice(rank, None, world)
    out, tensors = {}, {}
    dist.barrier()
    if rank == 0:  # one process, the whole batch; the other ranks wait at the barrier
        model = make_model(seed + 5, common.TIMING_SIZES).to(DEVICE)
        out["single_s"] = _timed(_trainer(model, X, y), steps)
        tensors["single_final"] = flat_params(model)
    dist.barrier()
    model = make_model(seed + 5, common.TIMING_SIZES).to(DEVICE)  # compute only: each rank its half, no comm
    out["half_compute_s"] = _timed(_trainer(model, X[mine], y[mine]), steps)
    dist.barrier()
    ddp = wrap(make_model(seed + 5, common.TIMING_SIZES))
    out["ddp_s"] = _timed(_trainer(ddp, X[mine], y[mine]), steps)
    dist.barrier()
    tensors["ddp_final"] = flat_params(ddp.module)
    buffer = torch.zeros(sum(p.numel() for p in ddp.parameters()), device=DEVICE)
    out["allreduce_s"] = _timed(lambda: dist.all_reduce(buffer), steps)  # communication only, gradient-sized
    out["gradient_bytes"], out["steps"] = buffer.numel() * buffer.element_size(), steps
    return out, tensors


def _memory_mb() -> dict:
    """This process's peak resident memory (VmHWM) in MB, where /proc exists."""
    try:
        for line in Path("/proc/self/status").read_text().splitlines():
            if line.startswith("VmHWM:"):
                return {"peak_rss_mb": int(line.split()[1]) / 1024}
    except OSError:
        pass
    return {}


def main(argv: list[str] | None = None) -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--out", type=Path, required=True, help="folder for rank{r}.json and rank{r}.pt")
    parser.add_argument("--seed", type=int, default=0)
    parser.add_argument("--timing-steps", type=int, default=20)
    parser.add_argument("--timing-batch", type=int, default=1024)
    parser.add_argument("--no-fsdp", action="store_true", help="skip the FSDP demo")
    args = parser.parse_args(argv)

    start = time.perf_counter()
    after_import = _memory_mb().get("peak_rss_mb")  # torch imported, nothing computed yet
    rank, world = setup()  # NCCL on GPUs, gloo on CPUs; reads RANK, WORLD_SIZE, MASTER_ADDR, MASTER_PORT
    info = {"rank": rank, "world_size": world, "seed": args.seed, "local_rank": int(os.environ.get("LOCAL_RANK", rank)),
            "backend": dist.get_backend(), "device": str(DEVICE), "init_s": time.perf_counter() - start,
            "import_rss_mb": after_import}
    tensors: dict[str, torch.Tensor] = {}
    info["collectives"] = collectives(rank, world)
    info["ring"], more = ring_demo(rank, common.RING_SIZE, args.seed)
    tensors.update(more)
    info["sampler"] = sampler_shards(rank, world, n=20, seed=args.seed)
    info["ddp"], tensors["ddp_grad"] = ddp_gradients(rank, world, args.seed)
    tensors["manual_grad"] = manual_data_parallel(rank, world, args.seed)
    for use_no_sync in (False, True):
        name = "no_sync" if use_no_sync else "sync_every_micro_batch"
        info[name], tensors[name] = accumulate(rank, world, args.seed, use_no_sync)
    info["checkpoint"], more = checkpoint_and_resume(rank, world, args.seed, args.out)
    tensors.update(more)
    if not args.no_fsdp:
        info["fsdp"], more = fsdp_demo(rank, world, args.seed)
        tensors.update(more)
    info["timing"], more = timing(rank, world, args.seed, args.timing_steps, args.timing_batch)
    tensors.update(more)
    info["total_s"] = time.perf_counter() - start
    info.update(_memory_mb())
    torch.save({k: v.cpu() for k, v in tensors.items()}, args.out / f"rank{rank}.pt")
    (args.out / f"rank{rank}.json").write_text(json.dumps(info))
    dist.barrier()
    dist.destroy_process_group()


if __name__ == "__main__":
    main()
