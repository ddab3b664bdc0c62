"""course_utils.topics.layers: the loan perceptron, its rule and its explorer."""

import matplotlib.pyplot as plt
import pytest
import torch

from course_utils.topics import layers


@pytest.mark.parametrize(
    ("weights", "bias", "approved", "rule"),
    [((0.8, 0.6, 0.9), -1.2, 4, "at least 2 of the 3"), ((0.8, 0.6, 0.9), -2.0, 1, "all 3 conditions"),
     ((0.8, 0.6, 0.9), -0.1, 7, "at least 1 of the 3"), ((1.0, 0.0, 0.0), -0.5, 4, "exactly condition 1 (income)"),
     ((1.0, 1.0, 0.0), -1.5, 2, "not a count rule"),
     ((0.8, 0.6, 0.9), -3.0, 0, "nobody"), ((0.8, 0.6, 0.9), 0.5, 8, "everybody"),
     ((-1.0, -1.0, -1.0), 1.5, 4, "at most 1 of the 3"), ((-1.0, -1.0, -1.0), 0.5, 1, "none of the conditions")],
)
def test_scores_and_rules(weights, bias, approved, rule):
    X, z, ok = layers.loan_scores(weights, bias)
    assert X.shape == (8, 3) and z.shape == (8,)
    torch.testing.assert_close(z, X @ torch.tensor(weights) + bias)
    assert int(ok.sum()) == approved and rule in layers.describe_rule(ok, X)


def test_scores_refuse_no_weights():
    with pytest.raises(ValueError, match="at least one number"):
        layers.loan_scores([], 0.0)


def test_explorer_follows_the_sliders():
    explorer = layers.LoanExplorer()
    assert explorer.redraws == 0 and "4 of 8 approved: at least 2" in explorer.status.value
    explorer.sliders["b"].value = -2.0
    assert explorer.redraws == 1 and int(explorer.approved.sum()) == 1
    assert "only applicants meeting all 3" in explorer.status.value
    assert "1 of 8 approved" in explorer.fig.axes[0].get_title()
    explorer.sliders["w1"].value = 0.0
    assert explorer.redraws == 2
    assert explorer.show() is None
    with pytest.raises(ValueError, match="three weights"):
        layers.LoanExplorer(weights=(1.0, 2.0))
    with pytest.raises(ValueError, match=r"\[-3, 3\]"):
        layers.LoanExplorer(bias=-5.0)
    plt.close("all")
