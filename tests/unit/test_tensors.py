"""course_utils.topics.tensors: broadcasting from scratch, its picture and its explorer."""

import matplotlib.pyplot as plt
import pytest
import torch
from hypothesis import given, settings
from hypothesis import strategies as st

from course_utils.topics import tensors

shapes = st.lists(st.integers(0, 3), min_size=0, max_size=4).map(tuple)


@settings(max_examples=200, deadline=None)
@given(a=shapes, b=shapes)
def test_rule_from_scratch_agrees_with_pytorch(a, b):
    try:
        expected = tuple(torch.broadcast_shapes(a, b))
    except RuntimeError:
        expected = None
    assert tensors.explain_broadcast(a, b)[0] == expected


def test_sentences_explain_success_and_failure():
    assert tensors.explain_broadcast((2, 3), (3,))[1] == "(2, 3) + (3,): as (2, 3) and (1, 3) -> (2, 3)"
    result, sentence = tensors.explain_broadcast((16, 3, 32, 32), (3,))
    assert result is None and "size 32 meets size 3 in dimension 3" in sentence
    with pytest.raises(ValueError, match="sequence of sizes"):
        tensors.explain_broadcast((2, -1), (3,))


def test_broadcast_figure_titles():
    a = torch.zeros(2, 3)
    assert "-> (2, 3)" in tensors.broadcast_figure(a, torch.ones(3)).axes[0].get_title()
    assert "cannot broadcast" in tensors.broadcast_figure(a, torch.ones(2)).axes[0].get_title()
    with pytest.raises(ValueError, match="2-D a"):
        tensors.broadcast_figure(torch.zeros(3), torch.ones(3))
    with pytest.raises(ValueError, match="2-D tensors"):
        tensors.draw_table(plt.gca(), torch.zeros(3), 0, "C0")
    plt.close("all")


def test_explorer_follows_the_menu():
    a = torch.zeros(2, 3)
    explorer = tensors.BroadcastExplorer(a, {"(3,)": torch.ones(3), "(2,)": torch.ones(2)}, start="(3,)")
    assert explorer.redraws == 0 and explorer.result_shape == (2, 3) and "-> (2, 3)" in explorer.status.value
    explorer.shape_menu.value = "(2,)"
    assert explorer.redraws == 1 and explorer.result_shape is None
    assert "fails" in explorer.status.value and "cannot broadcast" in explorer.fig.axes[0].get_title()
    assert explorer.show() is None
    with pytest.raises(ValueError, match="one of the choices"):
        tensors.BroadcastExplorer(a, {"(3,)": torch.ones(3)}, start="(4,)")
    with pytest.raises(ValueError, match="at least one"):
        tensors.BroadcastExplorer(a, {})
    plt.close("all")


def test_memory_offsets_follow_the_strides():
    g = torch.arange(12).view(3, 4)
    assert torch.equal(tensors.memory_offsets(g), g)  # arange: each value is its own position
    assert torch.equal(tensors.memory_offsets(g.T), g.T)
    assert torch.equal(tensors.memory_offsets(g[:, 1:]), g[:, 1:])
    with pytest.raises(ValueError, match="2-D"):
        tensors.memory_offsets(torch.arange(3))


def test_strides_figure_draws_one_row_per_view():
    g = torch.arange(12).view(3, 4)
    fig = tensors.strides_figure({"as_grid": g, "as_grid.T": g.T})
    assert len(fig.axes) == 2
    assert any("strides (1, 4)" in t.get_text() for t in fig.axes[1].texts)
    with pytest.raises(ValueError, match="2-D tensors"):
        tensors.strides_figure({})
    plt.close("all")
