"""course_utils.topics.distributed: the ring all-reduce, the cost model, the launcher's errors, the widget."""

import subprocess

import pytest
import torch

from course_utils.topics import distributed
from course_utils.topics.distributed import common


@pytest.mark.parametrize("workers", [1, 2, 3, 4, 7])
@pytest.mark.parametrize("size", [1, 5, 12, 33])
def test_ring_allreduce_sums_and_counts(workers, size):
    g = torch.Generator().manual_seed(workers * 100 + size)
    vectors = [torch.randn(size, generator=g) for _ in range(workers)]
    results, sent = distributed.ring_allreduce(vectors)
    total = torch.stack(vectors).sum(0)
    for r in results:
        torch.testing.assert_close(r, total)
    assert sum(sent) == 2 * (workers - 1) * size  # every chunk goes round twice, N − 1 hops each
    if size % workers == 0:
        assert all(s == distributed.ring_bytes_per_worker(size, workers) for s in sent)


def test_ring_allreduce_keeps_shape_and_inputs():
    vectors = [torch.ones(2, 3) * k for k in range(3)]
    copies = [v.clone() for v in vectors]
    results, _ = distributed.ring_allreduce(vectors)
    assert results[0].shape == (2, 3)
    assert all(torch.equal(v, c) for v, c in zip(vectors, copies, strict=True))


def test_ring_allreduce_bad_input():
    with pytest.raises(ValueError, match="same shape"):
        distributed.ring_allreduce([torch.zeros(2), torch.zeros(3)])
    with pytest.raises(ValueError, match="at least one"):
        distributed.ring_allreduce([])


def test_cost_model():
    assert distributed.ring_bytes_per_worker(100, 1) == 0
    assert distributed.ring_bytes_per_worker(100, 4) == 150
    assert distributed.allreduce_seconds(4e9, 64, 25e9) == pytest.approx(0.315)
    assert distributed.allreduce_seconds(0, 3, 1e9, latency=1e-3) == pytest.approx(4e-3)
    assert distributed.scaling_efficiency(1.0, 4e9, 1, 10e9) == 1.0
    e = [distributed.scaling_efficiency(1.0, 4e9, n, 10e9, 20e-6) for n in (2, 8, 64)]
    assert e[0] > e[1] > e[2] > 0.5
    assert distributed.scaling_efficiency(1.0, 4e9, 64, 10e9, overlap=1.0) == 1.0
    for bad in (lambda: distributed.ring_bytes_per_worker(1, 0), lambda: distributed.allreduce_seconds(1, 2, 0),
                lambda: distributed.scaling_efficiency(0, 1, 2, 1), lambda: distributed.scaling_efficiency(1, 1, 2, 1,
                                                                                                      overlap=2)):
        with pytest.raises(ValueError):
            bad()


def test_data_and_model_are_seeded_and_checked():
    X1, y1 = common.make_data(10, seed=3)
    X2, y2 = common.make_data(10, seed=3)
    assert torch.equal(X1, X2) and torch.equal(y1, y2) and X1.shape == (10, common.FEATURES)
    a, b = common.make_model(1), common.make_model(1)
    assert torch.equal(common.flat_params(a), common.flat_params(b))
    assert not torch.equal(common.flat_params(a), common.flat_params(common.make_model(2)))
    with pytest.raises(ValueError, match="n ≥ 1"):
        common.make_data(0, seed=0)
    with pytest.raises(ValueError, match="at least an input"):
        common.make_model(0, sizes=(3,))


def test_half_batch_gradients_average_to_full_batch():
    X, y = common.make_data(8, seed=0)
    model = common.make_model(0)
    full = common.full_batch_gradient(model, X, y)
    halves = [common.full_batch_gradient(model, X[r::2], y[r::2]) for r in range(2)]
    torch.testing.assert_close((halves[0] + halves[1]) / 2, full, atol=1e-6, rtol=0)


def test_command_and_port():
    port = distributed.free_port()
    command = distributed.torchrun_command("out", port, nproc=2, seed=4)
    assert command[1:3] == ["-m", "torch.distributed.run"]
    assert command[command.index("--master-addr") + 1] == "127.0.0.1"
    assert command[command.index("--master-port") + 1] == str(port)
    assert command[command.index("--nproc-per-node") + 1] == "2"
    assert command[-2:] == ["--seed", "4"]
    with pytest.raises(ValueError, match="number of processes"):
        distributed.torchrun_command("out", port, nproc=0)
    with pytest.raises(ValueError, match="free_port"):
        distributed.torchrun_command("out", 70000)


def test_launch_failure_says_what_to_do(tmp_path):
    calls = []

    def busy(command, env, timeout):
        calls.append(command)
        return 1, "RuntimeError: The server socket has failed to listen: EADDRINUSE: address already in use\n", {}

    with pytest.raises(distributed.DistributedLaunchError) as error:
        distributed.launch(tmp_path, seed=0, runner=busy)
    text = str(error.value)
    assert len(calls) == 2  # retried once, with a new port
    assert "was taken by another program" in text and "run the cell again" in text and "EADDRINUSE" in text
    assert calls[0][-4:] == ["--out", str(tmp_path), "--seed", "0"]


def test_launch_crash_names_the_error(tmp_path):
    def crash(command, env, timeout):
        assert env["GLOO_SOCKET_IFNAME"] and env["OMP_NUM_THREADS"]
        return 1, "[rank0]: ValueError: something broke\nmore\n", {}

    with pytest.raises(distributed.DistributedLaunchError, match="could not reach each other") as error:
        distributed.launch(tmp_path, seed=0, runner=crash)
    assert "ValueError: something broke" in str(error.value) and "firewall" in str(error.value)


def test_launch_timeout(tmp_path):
    def hang(command, env, timeout):
        raise subprocess.TimeoutExpired(command, timeout)

    with pytest.raises(distributed.DistributedLaunchError, match="did not finish within 5 s"):
        distributed.launch(tmp_path, seed=0, timeout=5, runner=hang)


def test_launch_missing_results(tmp_path):
    with pytest.raises(distributed.DistributedLaunchError, match="left no results"):
        distributed.launch(tmp_path, seed=0, runner=lambda command, env, timeout: (0, "", {}))


def test_launch_bad_timeout(tmp_path):
    with pytest.raises(ValueError, match="positive"):
        distributed.launch(tmp_path, seed=0, timeout=0, runner=lambda *a: (0, "", {}))


def test_scaling_explorer_redraws():
    explorer = distributed.ScalingExplorer(params=1e9, compute_ms=1000, bandwidth_gbs=10, latency_us=20)
    first = explorer.at_64
    assert "64 workers" in explorer.status.value and explorer.redraws == 0
    explorer.bandwidth.value = 100
    assert explorer.redraws == 1 and explorer.at_64 > first
    explorer.overlap.value = 1.0
    assert explorer.at_64 == pytest.approx(1.0)
    with pytest.raises(ValueError, match="ScalingExplorer needs"):
        distributed.ScalingExplorer(params=0)


def test_efficiency_table_lists_every_model():
    text = distributed.efficiency_table({"a": 10, "b": 1_000_000_000}, [2, 8], 10e9, 20e-6)
    lines = text.splitlines()
    assert len(lines) == 3 and "N=8 ms" in lines[0] and "1,000,000,000" in lines[2]


def test_run_watched_returns_output_and_memory():
    import sys

    code, output, measured = distributed.run_watched([sys.executable, "-c", "print('hello from a child')"],
                                                     env=None, timeout=60)
    assert code == 0 and "hello from a child" in output
    assert measured["peak_pss_mb"] > 0 and measured["peak_rss_sum_mb"] >= measured["peak_pss_mb"] * 0.5


def _fake_run():
    info = []
    for rank in range(2):
        info.append({
            "rank": rank,
            "collectives": {"all_reduce": ([rank + 1.0], [3.0]), "broadcast": ([7.0 + rank], [7.0]),
                            "all_gather": ([float(rank)], [[0.0], [1.0]])},
            "sampler": {"0": list(range(rank, 6, 2)), "1": list(range(1 - rank, 6, 2))},
            "timing": {"single_s": 2.0, "half_compute_s": 1.2 + rank, "ddp_s": 1.5, "allreduce_s": 0.1},
            "import_rss_mb": 500.0, "peak_rss_mb": 700.0,
        })
    return distributed.Run(info, [{}, {}], ["torchrun"], 1.0, {"peak_pss_mb": 1500.0, "peak_rss_sum_mb": 2500.0})


def test_figures_of_a_run():
    import matplotlib.pyplot as plt

    run = _fake_run()
    assert distributed.merged_timing(run)["half_compute_s"] == 2.2  # the slowest rank
    fig = distributed.timing_figure(run, steps=10)
    assert "1.33×" in fig.axes[0].get_title() and "1500 MB" in fig.axes[1].get_title()
    assert len(distributed.collectives_figure(run).axes) == 3
    assert distributed.shards_figure([i["sampler"] for i in run.info], 6).axes[0].images
    plt.close("all")


def test_scaling_explorer_says_when_it_stops_scaling():
    explorer = distributed.ScalingExplorer(params=1e9, compute_ms=10, bandwidth_gbs=1, latency_us=20)
    assert explorer.at_64 < 0.5 and "stopped scaling" in explorer.status.value and "0.5" in explorer.status.value
    explorer.params.value = 1e4
    assert explorer.at_64 >= 0.5 and "still scales" in explorer.status.value


def test_timing_ratios():
    run = _fake_run()
    for info in run.info:
        info["timing"]["steps"] = 10
    r = distributed.timing_ratios(run)
    assert r["compute_speedup"] == pytest.approx(2.0 / 2.2) and r["ddp_speedup"] == pytest.approx(2.0 / 1.5)
    assert r["unhidden_ms"] == pytest.approx((1.5 - 2.2) / 10 * 1000) and r["allreduce_ms"] == pytest.approx(10.0)


def test_torchrun_report_drops_prefixes_ports_and_pids():
    log = "\n".join([
        "I1201 13:26:02.177000 19104 /x/torch/distributed/launcher/api.py:257]   max_restarts             : 0",
        "I1201 13:26:02.177000 19104 /x/torch/distributed/launcher/api.py:257]   rdzv_endpoint            : 127.0.0.1:29611",
        "I1201 13:26:02.204000 19104 /x/torch/distributed/elastic/agent/server/api.py:553]   local_ranks=[0, 1]",
        "I1201 13:26:02.204000 19104 /x/api.py:553]   master_port=29611",
        "I1201 13:26:15.840000 19104 /x/api.py:932] [default] worker group successfully finished. Waiting 300 "
        "seconds for other agents to finish.",
    ])
    lines = distributed.torchrun_report(log)
    assert lines == ["max_restarts : 0", "local_ranks=[0, 1]", "[default] worker group successfully finished."]


def test_worker_functions_on_one_process(tmp_path, monkeypatch):
    """The script's set-up, the point-to-point ring and the hand-written step, in a group of one (gloo, CPU)."""
    import torch.distributed as dist

    from course_utils.topics.distributed import ddp_train

    monkeypatch.setenv("MASTER_ADDR", "127.0.0.1")
    monkeypatch.setenv("MASTER_PORT", str(distributed.free_port()))
    monkeypatch.setenv("RANK", "0")
    monkeypatch.setenv("WORLD_SIZE", "1")
    monkeypatch.setattr(torch.cuda, "is_available", lambda: False)
    assert ddp_train.setup() == (0, 1)
    try:
        assert dist.get_backend() == "gloo" and ddp_train.DEVICE.type == "cpu"
        info, tensors = ddp_train.ring_demo(0, 10, seed=0)
        assert info["sent"] == 0 and torch.equal(tensors["ring_p2p"], tensors["ring_gloo"])
        _, ddp_grad = ddp_train.ddp_gradients(0, 1, seed=0)
        torch.testing.assert_close(ddp_train.manual_data_parallel(0, 1, seed=0), ddp_grad)
        X, y = common.make_data(common.BATCH, 0)
        torch.testing.assert_close(ddp_grad, distributed.full_batch_gradient(common.make_model(0), X, y))
    finally:
        dist.destroy_process_group()
