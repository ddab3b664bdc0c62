import torch
import torch.nn.functional as F
import torch.nn.utils.prune as prune
from torch import nn

from course_utils.exercises import ex13

# --------------------------------------------------------------------------- 13.1


def test_13_1_right_answer(capsys):
    ex13.check_1((262144, 65536))
    assert "✅ Exercise 13.1 passed" in capsys.readouterr().out


def test_13_1_typical_mistakes(capsys):
    for answer, words in [((65536, 65536), "values, not bytes"), ((2097152, 524288), "counted bits"),
                          ((262656, 65536), "leave the 128 bias"), ((262144, 262144), "one byte per value"),
                          (262144, "a pair")]:
        ex13.check_1(answer)
        out = capsys.readouterr().out
        assert "not right yet" in out and words in out, (answer, out)


def test_13_1_placeholder(capsys):
    ex13.check_1(...)
    assert "not done yet" in capsys.readouterr().out


# --------------------------------------------------------------------------- 13.2


def right_symmetric(x, bits):
    q_max = 2 ** (bits - 1) - 1
    scale = x.abs().max() / q_max
    return torch.clamp(torch.round(x / scale), -q_max, q_max) * scale


def test_13_2_right_answer(capsys):
    ex13.check_2(right_symmetric)
    assert "✅ Exercise 13.2 passed" in capsys.readouterr().out


def test_13_2_typical_mistakes(capsys):
    def codes(x, bits):
        q_max = 2 ** (bits - 1) - 1
        return torch.clamp(torch.round(x / (x.abs().max() / q_max)), -q_max, q_max)

    def unsigned_range(x, bits):
        scale = x.abs().max() / (2**bits - 1)
        return torch.round(x / scale) * scale

    def no_round(x, bits):
        return x / (x.abs().max() / 127) * (x.abs().max() / 127)

    def floor(x, bits):
        q_max = 2 ** (bits - 1) - 1
        scale = x.abs().max() / q_max
        return torch.clamp(torch.floor(x / scale), -q_max, q_max) * scale

    for fn, words in [(codes, "integer codes"), (unsigned_range, "signed b-bit"), (no_round, "nothing was rounded"),
                      (floor, "not floor")]:
        ex13.check_2(fn)
        out = capsys.readouterr().out
        assert "not right yet" in out and words in out, (fn.__name__, out)


def test_13_2_not_done(capsys):
    def stub(x, bits):
        raise NotImplementedError

    ex13.check_2(stub)
    assert "not done yet" in capsys.readouterr().out
    ex13.check_2(...)
    assert "not done yet" in capsys.readouterr().out


# --------------------------------------------------------------------------- 13.3


def right_global(weights, amount):
    magnitudes = torch.cat([w.abs().flatten() for w in weights])
    threshold = magnitudes.kthvalue(round(amount * magnitudes.numel())).values
    return [(w.abs() > threshold).float() for w in weights]


def test_13_3_reference_matches_torch_global_pruning():
    g = torch.Generator().manual_seed(0)
    layers = [nn.Linear(10, 6), nn.Linear(6, 4)]
    with torch.no_grad():
        layers[0].weight.copy_(torch.randn(6, 10, generator=g) * 0.05)
        layers[1].weight.copy_(torch.randn(4, 6, generator=g))
    weights = [layer.weight.detach().clone() for layer in layers]
    prune.global_unstructured([(layer, "weight") for layer in layers], pruning_method=prune.L1Unstructured, amount=0.5)
    for mask, layer in zip(ex13.global_masks_reference(weights, 0.5), layers, strict=True):
        assert torch.equal(mask, layer.weight_mask)


def test_13_3_right_answer_bool_masks_too(capsys):
    ex13.check_3(right_global)
    assert "✅ Exercise 13.3 passed" in capsys.readouterr().out
    ex13.check_3(lambda weights, amount: [m.bool() for m in right_global(weights, amount)])
    assert "✅ Exercise 13.3 passed" in capsys.readouterr().out


def test_13_3_typical_mistakes(capsys):
    def per_layer(weights, amount):
        return [(w.abs() > w.abs().flatten().kthvalue(round(amount * w.numel())).values).float() for w in weights]

    def inverted(weights, amount):
        return [1 - m for m in right_global(weights, amount)]

    def signed(weights, amount):
        values = torch.cat([w.flatten() for w in weights])
        threshold = values.kthvalue(round(amount * values.numel())).values
        return [(w > threshold).float() for w in weights]

    def off_by_one(weights, amount):
        magnitudes = torch.cat([w.abs().flatten() for w in weights])
        threshold = magnitudes.kthvalue(round(amount * magnitudes.numel())).values
        return [(w.abs() >= threshold).float() for w in weights]

    def flat_list(weights, amount):
        return torch.cat([m.flatten() for m in right_global(weights, amount)])

    for fn, words in [(per_layer, "each tensor separately"), (inverted, "inverted"), (signed, "magnitude |w|"),
                      (off_by_one, "kthvalue counts from 1"), (flat_list, "one mask per weight tensor")]:
        ex13.check_3(fn)
        out = capsys.readouterr().out
        assert "not right yet" in out and words in out, (fn.__name__, out)


def test_13_3_not_done_and_crash(capsys):
    def stub(weights, amount):
        raise NotImplementedError

    ex13.check_3(stub)
    assert "not done yet" in capsys.readouterr().out
    ex13.check_3(...)
    assert "not done yet" in capsys.readouterr().out
    ex13.check_3(lambda weights, amount: weights.abs())
    out = capsys.readouterr().out
    assert "raised AttributeError" in out and "torch.cat" in out


# --------------------------------------------------------------------------- 13.4


def test_13_4_right_answer(capsys):
    ex13.check_4(ex13.shrink_pair_reference)
    assert "✅ Exercise 13.4 passed" in capsys.readouterr().out


def test_13_4_typical_mistakes(capsys):
    def forgot_bias_fold(fc1, fc2):
        keep = fc1.weight.abs().sum(dim=1) != 0
        small1, small2 = nn.Linear(fc1.in_features, int(keep.sum())), nn.Linear(int(keep.sum()), fc2.out_features)
        with torch.no_grad():
            small1.weight.copy_(fc1.weight[keep])
            small1.bias.copy_(fc1.bias[keep])
            small2.weight.copy_(fc2.weight[:, keep])
            small2.bias.copy_(fc2.bias)
        return small1, small2

    def unchanged(fc1, fc2):
        return fc1, fc2

    def rows_of_fc2(fc1, fc2):
        keep = fc1.weight.abs().sum(dim=1) != 0
        return nn.Linear(12, int(keep.sum())), nn.Linear(fc2.in_features, fc2.out_features)

    def crashes(fc1, fc2):
        keep = fc1.weight.abs().sum(dim=1) != 0
        return fc1.weight[keep], fc2.weight[keep]  # fc2 has only 3 rows: IndexError

    for fn, words in [(forgot_bias_fold, "relu(bias)"), (unchanged, "still has 8 outputs"),
                      (rows_of_fc2, "matching columns"), (crashes, "raised IndexError")]:
        ex13.check_4(fn)
        out = capsys.readouterr().out
        assert "not right yet" in out and words in out, (fn.__name__, out)


def test_13_4_not_done(capsys):
    def stub(fc1, fc2):
        raise NotImplementedError

    ex13.check_4(stub)
    assert "not done yet" in capsys.readouterr().out
    ex13.check_4(...)
    assert "not done yet" in capsys.readouterr().out


def test_13_4_pruned_pair_has_live_biases():
    fc1, fc2, dead = ex13._pruned_pair()
    assert fc1.weight[dead].abs().sum() == 0 and (F.relu(fc1.bias[dead]) > 0).all()
