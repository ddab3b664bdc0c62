import random

import numpy as np
import pytest
import torch

from course_utils import runtime


def test_setup_seeds_everything_and_reports(capsys):
    runtime.setup(seed=3)
    a = (random.random(), np.random.rand(), torch.rand(1).item())  # noqa: NPY002
    runtime.setup(seed=3)
    b = (random.random(), np.random.rand(), torch.rand(1).item())  # noqa: NPY002
    assert a == b
    line = capsys.readouterr().out.strip().splitlines()[-1]
    assert "torch 2." in line and "device cpu" in line and "threads 1" in line and "seed 3" in line
    assert torch.get_num_threads() == 1
    assert torch.are_deterministic_algorithms_enabled()


def test_scale_switch(monkeypatch):
    monkeypatch.setenv("COURSE_SCALE", "full")
    assert runtime.get_scale() == "full"
    monkeypatch.setenv("COURSE_SCALE", "huge")
    with pytest.raises(runtime.CourseConfigError, match="COURSE_SCALE must be one of small, full; got 'huge'"):
        runtime.get_scale()
    monkeypatch.delenv("COURSE_SCALE")
    assert runtime.get_scale() == "small"


def test_by_scale_picks_the_small_value_by_default(monkeypatch):
    monkeypatch.delenv("COURSE_SCALE", raising=False)
    runtime.setup(seed=0, quiet=True)
    assert runtime.by_scale(small=1, full=2) == 1


@pytest.mark.parametrize(
    ("kwargs", "message"),
    [({"seed": -1}, "seed must be a non-negative int"), ({"seed": 1.5}, "seed must be"),
     ({"threads": 0}, "threads must be a positive int"), ({"device": "tpu"}, "device must be one of")],
)
def test_bad_setup_arguments(kwargs, message):
    with pytest.raises(runtime.CourseConfigError, match=message):
        runtime.setup(quiet=True, **kwargs)


def test_bad_thread_variable(monkeypatch):
    monkeypatch.setenv("COURSE_THREADS", "lots")
    with pytest.raises(runtime.CourseConfigError, match="COURSE_THREADS must be a positive integer"):
        runtime.setup(quiet=True)


def test_unavailable_cuda_is_a_clear_error():
    if torch.cuda.is_available():
        pytest.skip("this machine has a GPU")
    with pytest.raises(runtime.CourseConfigError, match="no CUDA GPU"):
        runtime.pick_device("cuda")


def test_seeded_generator_repeats():
    assert torch.randint(0, 100, (5,), generator=runtime.torch_generator(7)).tolist() == torch.randint(
        0, 100, (5,), generator=runtime.torch_generator(7)
    ).tolist()


def test_fingerprint_names_what_decides_float_results(monkeypatch):
    monkeypatch.delenv("ATEN_CPU_CAPABILITY", raising=False)
    fp = runtime.fingerprint()
    assert set(fp) == {"torch", "machine", "cpu", "capability", "blas", "threads", "float_env"}
    assert fp["torch"] == torch.__version__ and fp["capability"] == torch.backends.cpu.get_cpu_capability()
    monkeypatch.setenv("COURSE_THREADS", "3")
    monkeypatch.setenv("MKL_CBWR", "COMPATIBLE")
    other = runtime.fingerprint()
    assert other["threads"] == "3" and "MKL_CBWR=COMPATIBLE" in other["float_env"] and other != fp


def test_course_seed_moves_every_later_manual_seed(monkeypatch, capsys):
    try:
        runtime.setup(seed=0)
        torch.manual_seed(5)
        stored = torch.rand(3)
        monkeypatch.setenv("COURSE_SEED", "2")
        runtime.setup(seed=0)
        assert "seed 2" in capsys.readouterr().out
        torch.manual_seed(5)
        swept = torch.rand(3)
        assert not torch.equal(stored, swept)
        assert torch.equal(swept, torch.rand(3, generator=torch.Generator().manual_seed(5 + 2 * runtime.SEED_SALT_STEP)))
        monkeypatch.setenv("COURSE_SEED", "0")
        runtime.setup(seed=0)
        torch.manual_seed(5)
        assert torch.equal(torch.rand(3), stored)  # seed 0 is the stored run
        monkeypatch.setenv("COURSE_SEED", "two")
        with pytest.raises(runtime.CourseConfigError, match="COURSE_SEED must be a non-negative integer"):
            runtime.setup(seed=0)
    finally:
        runtime._salt_manual_seed(0)


def test_cache_context_changes_with_the_code(tmp_path):
    source = tmp_path / "module.py"
    source.write_text("x = 1\n")
    before = runtime.cache_context(source)
    source.write_text("x = 2\n")
    assert runtime.cache_context(source)["code"] != before["code"]
    assert runtime.cache_context(source)["capability"] == before["capability"]
