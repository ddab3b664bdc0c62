"""course_utils.topics.welcome: the average digit image and its explorer."""

import matplotlib.pyplot as plt
import pytest
import torch

from course_utils.topics import welcome


@pytest.fixture
def digits():
    images = torch.zeros(6, 1, 2, 2)
    images[:3, 0, 0, 0] = torch.tensor([1.0, 2.0, 3.0])
    images[3:, 0, 1, 1] = 1.0
    return images, torch.tensor([3, 3, 3, 7, 7, 7])


def test_mean_digit_averages_one_class(digits):
    average, count = welcome.mean_digit(*digits, 3)
    assert count == 3
    torch.testing.assert_close(average, torch.tensor([[2.0, 0.0], [0.0, 0.0]]))


def test_mean_digit_refuses_bad_input(digits):
    images, labels = digits
    with pytest.raises(ValueError, match="labels present"):
        welcome.mean_digit(images, labels, 5)
    with pytest.raises(ValueError, match=r"\(N, 1, H, W\)"):
        welcome.mean_digit(images[:, 0], labels, 3)
    with pytest.raises(ValueError, match="one per image"):
        welcome.mean_digit(images, labels[:2], 3)
    with pytest.raises(ValueError, match="int class label"):
        welcome.mean_digit(images, labels, 3.0)


def test_explorer_redraws_when_the_slider_moves(digits):
    explorer = welcome.MeanDigitExplorer(*digits, digit=3)
    assert explorer.redraws == 0 and "3 images of a '3'" in explorer.status.value
    first = explorer.fig
    explorer.digit.value = 7
    assert explorer.redraws == 1 and explorer.fig is not first
    assert "'7'" in explorer.fig.axes[0].get_title() and "'7'" in explorer.status.value
    assert explorer.show() is None
    plt.close("all")


def test_explorer_refuses_a_missing_class(digits):
    with pytest.raises(ValueError, match="no image has label 4"):
        welcome.MeanDigitExplorer(*digits, digit=4)


def test_tested_versions_reads_exact_pins(tmp_path):
    req = tmp_path / "requirements.txt"
    req.write_text("# a comment\ntorch==2.14.1\nscikit-learn==1.9.1  # trailing comment\nloose>=1.0\n")
    assert welcome.tested_versions(req) == {"torch": "2.14.1", "scikit-learn": "1.9.1"}
    assert "torch" in welcome.tested_versions()  # the repository's own file


def test_tested_versions_refuses_a_missing_file(tmp_path):
    with pytest.raises(ValueError, match="requirements.txt"):
        welcome.tested_versions(tmp_path / "nothing.txt")


def test_version_lines_flag_mismatches():
    lines = welcome.version_lines({"torch": "2.14.1+cpu", "numpy": "2.0.0", "extra": "1.0"},
                                  {"torch": "2.14.1", "numpy": "2.4.6"})
    assert "= tested version" in lines[0] and "2.14.1 " in lines[0]
    assert "DIFFERS from the tested 2.4.6" in lines[1]
    assert "no pin found" in lines[2]
