"""course_utils.cache: keys that change with what they depend on, atomic writes, broken files ignored."""

import tempfile

import torch

from course_utils import cache


def test_path_changes_with_the_key_and_the_code(tmp_path):
    source = tmp_path / "module.py"
    source.write_text("x = 1\n")
    first = cache.path_for("demo", {"seed": 0}, source)
    assert cache.path_for("demo", {"seed": 0}, source) == first
    assert cache.path_for("demo", {"seed": 1}, source) != first
    source.write_text("x = 2\n")
    assert cache.path_for("demo", {"seed": 0}, source) != first


def test_digest_depends_on_the_values():
    assert cache.digest(torch.zeros(3)) == cache.digest(torch.zeros(3))
    assert cache.digest(torch.zeros(3)) != cache.digest(torch.ones(3))


def test_save_and_load_round_trip(tmp_path, monkeypatch):
    monkeypatch.setattr(tempfile, "tempdir", str(tmp_path))
    path = cache.path_for("demo", {"n": 1}, __file__)
    assert path.parent == tmp_path and cache.load(path) is None
    state = {"w": torch.arange(4.0)}
    assert cache.save(state, path) == path
    assert torch.equal(cache.load(path)["w"], state["w"])
    assert [p.name for p in tmp_path.iterdir()] == [path.name]  # no temporary file left behind


def test_a_broken_file_reads_as_missing(tmp_path):
    path = tmp_path / "broken.pt"
    path.write_bytes(b"not a checkpoint")
    assert cache.load(path) is None


def test_an_unwritable_folder_returns_none(tmp_path):
    assert cache.save({"w": torch.zeros(1)}, tmp_path / "missing" / "x.pt") is None
