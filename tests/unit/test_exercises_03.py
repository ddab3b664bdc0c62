import pytest
import torch
from torch import nn

from course_utils.exercises import ex03


def out(capsys) -> str:
    return capsys.readouterr().out


def not_written(*_args):
    raise NotImplementedError


# --------------------------------------------------------------------------- 03.1

def test_1_right_answer_passes(capsys):
    ex03.check_1(lambda x, s: torch.where(x > 0, x, s * x))
    assert "✅ Exercise 03.1 passed" in out(capsys)


@pytest.mark.parametrize(
    ("fn", "hint"),
    [
        (lambda x, s: torch.relu(x), "negative_slope * x instead of 0"),
        (lambda x, s: torch.where(x > 0, x, torch.full_like(x, s)), "multiply the slope by x"),
        (lambda x, s: torch.where(x > 0, s * x, x), "only x ≤ 0 is multiplied"),
        (lambda x, s: torch.where(x > 0, x, 0.01 * x), "instead of a fixed 0.01"),
        (lambda x, s: torch.where(x > 0, x, -s * x), "torch.where(x > 0, x, negative_slope * x)"),
        (lambda x, s: x.numpy(), "NumPy array"),
    ],
)
def test_1_typical_mistakes_get_named(capsys, fn, hint):
    ex03.check_1(fn)
    text = out(capsys)
    assert "❌ Exercise 03.1 is not right yet" in text and hint in text


@pytest.mark.parametrize("answer", [..., not_written])
def test_1_placeholder_is_not_done(capsys, answer):
    ex03.check_1(answer)
    assert "⏳ Exercise 03.1 is not done yet" in out(capsys)


# --------------------------------------------------------------------------- 03.2

def test_2_right_answer_passes(capsys):
    ex03.check_2(lambda x: 1 - torch.tanh(x) ** 2)
    assert "✅ Exercise 03.2 passed" in out(capsys)


@pytest.mark.parametrize(
    ("fn", "hint"),
    [
        (lambda x: 1 - torch.tanh(x), "square the tanh"),
        (lambda x: torch.tanh(x) * (1 - torch.tanh(x)), "sigmoid's derivative"),
        (lambda x: 1 - x**2, "apply tanh first"),
        (lambda x: 1 - torch.sigmoid(x) ** 2, "not torch.sigmoid"),
        (lambda x: torch.tanh(x) ** 2, "1 - tanh(x)²"),
    ],
)
def test_2_typical_mistakes_get_named(capsys, fn, hint):
    ex03.check_2(fn)
    text = out(capsys)
    assert "❌ Exercise 03.2 is not right yet" in text and hint in text


@pytest.mark.parametrize("answer", [..., not_written])
def test_2_placeholder_is_not_done(capsys, answer):
    ex03.check_2(answer)
    assert "⏳ Exercise 03.2 is not done yet" in out(capsys)


# --------------------------------------------------------------------------- 03.3

def stable(z):
    e = torch.exp(z - z.amax(dim=-1, keepdim=True))
    return e / e.sum(dim=-1, keepdim=True)


def test_3_right_answer_passes(capsys):
    ex03.check_3(stable)
    assert "✅ Exercise 03.3 passed" in out(capsys)


def test_3_global_max_is_also_right(capsys):
    def global_max(z):
        e = torch.exp(z - z.max())
        return e / e.sum(dim=-1, keepdim=True)

    ex03.check_3(global_max)
    assert "✅ Exercise 03.3 passed" in out(capsys)


def naive(z):
    e = torch.exp(z)
    return e / e.sum(dim=-1, keepdim=True)


def wrong_dim(z):
    e = torch.exp(z - z.amax(dim=0, keepdim=True))
    return e / e.sum(dim=0, keepdim=True)


def no_keepdim(z):
    e = torch.exp(z - z.max(dim=-1).values)
    return e / e.sum(dim=-1)


@pytest.mark.parametrize(
    ("fn", "hint"),
    [
        (naive, "subtract the largest logit"),
        (lambda z: torch.exp(z - z.max()), "divide by the sum"),
        (wrong_dim, "softmax on the wrong dim"),
        (no_keepdim, "keepdim=True"),
        (lambda z: torch.sigmoid(z), "e = exp(z - z.amax"),
    ],
)
def test_3_typical_mistakes_get_named(capsys, fn, hint):
    ex03.check_3(fn)
    text = out(capsys)
    assert "❌ Exercise 03.3 is not right yet" in text and hint in text


@pytest.mark.parametrize("answer", [..., not_written])
def test_3_placeholder_is_not_done(capsys, answer):
    ex03.check_3(answer)
    assert "⏳ Exercise 03.3 is not done yet" in out(capsys)


# --------------------------------------------------------------------------- 03.4

def right_kinks():
    net = ex03.exercise_4_net()
    return torch.sort(-net[0].bias.detach() / net[0].weight.detach().flatten()).values


@pytest.mark.parametrize("answer", [right_kinks(), right_kinks().tolist(), right_kinks().double()])
def test_4_right_answers_pass(capsys, answer):
    ex03.check_4(answer)
    assert "✅ Exercise 03.4 passed" in out(capsys)


def test_4_kinks_are_where_the_network_bends():
    net = ex03.exercise_4_net()
    x = torch.linspace(-3, 3, 6001).unsqueeze(1)
    with torch.no_grad():
        slope = net(x).flatten().diff() / (6 / 6000)
    bends = x.flatten()[1:-1][(slope.diff().abs() > 1e-3)]
    for kink in right_kinks():
        assert (bends - kink).abs().min() < 2e-3


def test_4_typical_mistakes_get_named(capsys):
    net = ex03.exercise_4_net()
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
        ex03.check_4(answer)
        text = out(capsys)
        assert "❌ Exercise 03.4 is not right yet" in text and hint in text, (answer, text)


def test_4_placeholder_is_not_done(capsys):
    ex03.check_4(...)
    assert "⏳ Exercise 03.4 is not done yet" in out(capsys)


# --------------------------------------------------------------------------- 03.5

def right_net(act=nn.ReLU):
    return nn.Sequential(nn.Linear(8, 16), act(), nn.Linear(16, 16), act(), nn.Linear(16, 16), act(),
                         nn.Linear(16, 1))


@pytest.mark.parametrize("act", [nn.ReLU, nn.GELU, nn.Tanh])
def test_5_right_answers_pass(capsys, act):
    ex03.check_5(right_net(act))
    assert "✅ Exercise 03.5 passed" in out(capsys)


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
    ex03.check_5(model)
    text = out(capsys)
    assert "❌ Exercise 03.5 is not right yet" in text and hint in text


def test_5_placeholder_is_not_done(capsys):
    ex03.check_5(...)
    assert "⏳ Exercise 03.5 is not done yet" in out(capsys)
