import pytest
import torch
from torch import nn

from course_utils.exercises import ex03


def out(capsys) -> str:
    return capsys.readouterr().out


def not_written(*_args):
    raise NotImplementedError


# --------------------------------------------------------------------------- 03.1

RIGHT_NEGATIVE = {"sigmoid": False, "tanh": True, "relu": False, "leaky_relu": True, "elu": True,
                  "gelu": True, "silu": True}


def test_1_right_answer_passes(capsys):
    ex03.check_1(dict(RIGHT_NEGATIVE))
    text = out(capsys)
    assert "✅ Exercise 03.1 passed" in text and "-0.17" in text and "-0.28" in text


def test_1_minima_match_the_modules():
    minima = ex03.activation_minima()
    assert minima["sigmoid"] > 0 and minima["relu"] == 0
    assert abs(minima["gelu"] + 0.170) < 1e-3 and abs(minima["silu"] + 0.278) < 1e-3


@pytest.mark.parametrize(
    ("name", "hint"),
    [("gelu", "x·Φ(x)"), ("silu", "x·σ(x)"), ("sigmoid", "between 0 and 1"), ("relu", "max(0, x)"),
     ("tanh", "odd"), ("leaky_relu", "a·x"), ("elu", "α(e^x - 1)")],
)
def test_1_each_wrong_answer_gets_its_reason(capsys, name, hint):
    answer = dict(RIGHT_NEGATIVE, **{name: not RIGHT_NEGATIVE[name]})
    ex03.check_1(answer)
    text = out(capsys)
    assert "❌ Exercise 03.1 is not right yet" in text and name in text and hint in text


@pytest.mark.parametrize(
    ("answer", "hint"),
    [([True] * 7, "dictionary"), ({"sigmoid": False}, "missing from your dict"),
     (dict(RIGHT_NEGATIVE, gelu="yes"), "True or False")],
)
def test_1_malformed_answers_get_a_hint(capsys, answer, hint):
    ex03.check_1(answer)
    text = out(capsys)
    assert "❌ Exercise 03.1 is not right yet" in text and hint in text


@pytest.mark.parametrize("answer", [..., None, dict(RIGHT_NEGATIVE, tanh=...)])
def test_1_placeholder_is_not_done(capsys, answer):
    ex03.check_1(answer)
    assert "⏳ Exercise 03.1 is not done yet" in out(capsys)


# --------------------------------------------------------------------------- 03.2

def test_2_right_answer_passes(capsys):
    ex03.check_2(4.5849)
    assert "✅ Exercise 03.2 passed" in out(capsys)


def test_2_point_really_has_slope_001():
    x = torch.tensor(ex03.sigmoid_slope_point(0.01), dtype=torch.float64)
    assert abs((torch.sigmoid(x) * (1 - torch.sigmoid(x))).item() - 0.01) < 1e-12


def test_2_tensor_answer_is_accepted(capsys):
    ex03.check_2(torch.tensor(4.585))
    assert "✅ Exercise 03.2 passed" in out(capsys)


@pytest.mark.parametrize(
    ("answer", "hint"),
    [(-4.585, "symmetric"), (4.5951, "σ(x) = 0.99"), (4.6052, "e^(-x)"), (0.01, "the slope"),
     (3.0, "quadratic in s"), ("4.6", "one float")],
)
def test_2_typical_mistakes_get_named(capsys, answer, hint):
    ex03.check_2(answer)
    text = out(capsys)
    assert "❌ Exercise 03.2 is not right yet" in text and hint in text


@pytest.mark.parametrize("slope", [0.0, 0.25, -1.0])
def test_2_slope_out_of_range_raises(slope):
    with pytest.raises(ValueError, match="slope must be in"):
        ex03.sigmoid_slope_point(slope)


@pytest.mark.parametrize("answer", [..., None])
def test_2_placeholder_is_not_done(capsys, answer):
    ex03.check_2(answer)
    assert "⏳ Exercise 03.2 is not done yet" in out(capsys)


# --------------------------------------------------------------------------- 03.3

RIGHT_SOFTMAX = {"z + 5": True, "z - z.mean()": True, "2 * z": False, "z / 10": False, "-z": False}


def test_3_right_answer_passes(capsys):
    ex03.check_3(dict(RIGHT_SOFTMAX))
    assert "✅ Exercise 03.3 passed" in out(capsys)


@pytest.mark.parametrize(
    ("name", "hint"),
    [("z + 5", "cancels"), ("z - z.mean()", "one number"), ("2 * z", "sharper"), ("z / 10", "flatter"),
     ("-z", "reverses the order")],
)
def test_3_each_wrong_answer_gets_its_reason(capsys, name, hint):
    ex03.check_3(dict(RIGHT_SOFTMAX, **{name: not RIGHT_SOFTMAX[name]}))
    text = out(capsys)
    assert "❌ Exercise 03.3 is not right yet" in text and name in text and hint in text


@pytest.mark.parametrize(
    ("answer", "hint"),
    [(True, "dictionary"), ({"z + 5": True}, "missing from your dict"), (dict(RIGHT_SOFTMAX, **{"-z": 0}), "True or False")],
)
def test_3_malformed_answers_get_a_hint(capsys, answer, hint):
    ex03.check_3(answer)
    text = out(capsys)
    assert "❌ Exercise 03.3 is not right yet" in text and hint in text


@pytest.mark.parametrize("answer", [..., dict(RIGHT_SOFTMAX, **{"2 * z": ...})])
def test_3_placeholder_is_not_done(capsys, answer):
    ex03.check_3(answer)
    assert "⏳ Exercise 03.3 is not done yet" in out(capsys)


# --------------------------------------------------------------------------- 03.5

def right_kinks():
    net = ex03.exercise_5_net()
    return torch.sort(-net[0].bias.detach() / net[0].weight.detach().flatten()).values


@pytest.mark.parametrize("answer", [right_kinks(), right_kinks().tolist(), right_kinks().double()])
def test_4_right_answers_pass(capsys, answer):
    ex03.check_5(answer)
    assert "✅ Exercise 03.5 passed" in out(capsys)


def test_4_kinks_are_where_the_network_bends():
    net = ex03.exercise_5_net()
    x = torch.linspace(-3, 3, 6001).unsqueeze(1)
    with torch.no_grad():
        slope = net(x).flatten().diff() / (6 / 6000)
    bends = x.flatten()[1:-1][(slope.diff().abs() > 1e-3)]
    for kink in right_kinks():
        assert (bends - kink).abs().min() < 2e-3


def test_4_typical_mistakes_get_named(capsys):
    net = ex03.exercise_5_net()
    w, b = net[0].weight.detach().flatten(), net[0].bias.detach()
    cases = [
        (torch.sort(b / w).values, "x = -b / w"),
        (torch.sort(-w / b).values, "not -w / b"),
        (-b / w, "sort them"),
        (torch.zeros(5), "count bends, not pieces"),
        (torch.tensor([0.5]), "one position per hidden unit"),
        (["a", "b"], "expected numbers"),
        (torch.zeros(4), "-b / w from the first layer"),
    ]
    for answer, hint in cases:
        ex03.check_5(answer)
        text = out(capsys)
        assert "❌ Exercise 03.5 is not right yet" in text and hint in text, (answer, text)


def test_4_placeholder_is_not_done(capsys):
    ex03.check_5(...)
    assert "⏳ Exercise 03.5 is not done yet" in out(capsys)


# --------------------------------------------------------------------------- 03.4

def right_net(act=nn.ReLU):
    return nn.Sequential(nn.Linear(8, 16), act(), nn.Linear(16, 16), act(), nn.Linear(16, 16), act(),
                         nn.Linear(16, 1))


@pytest.mark.parametrize("act", [nn.ReLU, nn.GELU, nn.Tanh])
def test_5_right_answers_pass(capsys, act):
    ex03.check_4(right_net(act))
    assert "✅ Exercise 03.4 passed" in out(capsys)


class Constant(nn.Module):
    def forward(self, x):
        return torch.zeros_like(x)


@pytest.mark.parametrize(
    ("model", "hint"),
    [
        (nn.Sequential(nn.Linear(8, 16), nn.Linear(16, 16), nn.Linear(16, 16), nn.Linear(16, 1), nn.Softmax(dim=-1)),
         "softmax over a single output is always 1.0"),
        (nn.Sequential(*right_net(), nn.Sigmoid()), "BCEWithLogitsLoss applies the sigmoid itself"),
        (nn.Sequential(nn.Linear(8, 16), nn.Linear(16, 16), nn.Linear(16, 16), nn.Linear(16, 1)),
         "collapse into one linear map"),
        (nn.Sequential(nn.Linear(8, 16), nn.ReLU(), nn.Linear(16, 1)), "exactly four"),
        (nn.Sequential(*right_net(), nn.ReLU()), "end with nn.Linear(..., 1)"),
        (nn.Sequential(nn.Linear(4, 16), nn.ReLU(), nn.Linear(16, 16), nn.ReLU(), nn.Linear(16, 16), nn.ReLU(),
                       nn.Linear(16, 1)), "nn.Linear(8, ...)"),
        (nn.Sequential(nn.Linear(8, 16), nn.ReLU(), nn.Linear(16, 16), nn.ReLU(), nn.Linear(16, 16), nn.ReLU(),
                       nn.Linear(16, 2)), "one logit"),
        (nn.Sequential(nn.Linear(8, 16), nn.ReLU(), nn.Linear(8, 16), nn.ReLU(), nn.Linear(16, 16), nn.ReLU(),
                       nn.Linear(16, 1)), "in_features must equal"),
        (nn.Sequential(nn.Linear(8, 16), nn.ReLU(), nn.Linear(16, 16), nn.ReLU(), nn.Linear(16, 16), Constant(),
                       nn.ReLU(), nn.Linear(16, 1)), "squashes the output"),
        (right_net().__getitem__(0), "nn.Sequential"),
    ],
)
def test_5_typical_mistakes_get_named(capsys, model, hint):
    ex03.check_4(model)
    text = out(capsys)
    assert "❌ Exercise 03.4 is not right yet" in text and hint in text


def test_5_placeholder_is_not_done(capsys):
    ex03.check_4(...)
    assert "⏳ Exercise 03.4 is not done yet" in out(capsys)
