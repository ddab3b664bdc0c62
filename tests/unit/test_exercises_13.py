import pytest
import torch
import torch.nn.functional as F
import torch.nn.utils.prune as prune
from torch import nn

from course_utils.exercises import ex13

# --------------------------------------------------------------------------- 13.1


def test_13_1_right_answer(capsys):
    ex13.check_1((262144, 66048, 40960))
    out = capsys.readouterr().out
    assert "✅ Exercise 13.1 passed" in out and "5 bits per weight" in out


def test_13_1_typical_mistakes(capsys):
    for answer, words in [((65536, 65664, 67584), "values, not bytes"), ((2097152, 66048, 40960), "counted bits"),
                          ((262144, 65536, 32768), "scales are stored too"),
                          ((262144, 65540, 40960), "one scale per output row"),
                          ((262144, 66048, 73728), "two 4-bit codes share one byte"),
                          ((262144, 66048, 33280), "16 groups"), ((262144, 66048, 34816), "4 bytes, not 1"),
                          ((262144, 65536), "three numbers")]:
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
    ex13.check_2(right_symmetric, 7)
    out = capsys.readouterr().out
    assert "✅ Exercise 13.2 passed" in out and "used 7 values" in out


def test_13_2_prediction_is_checked(capsys):
    for prediction, words in [(8, "leaves the most negative one"), (3, "count the negative codes"),
                              (6, "0 is a level too"), (5, "your own function used 7")]:
        ex13.check_2(right_symmetric, prediction)
        out = capsys.readouterr().out
        assert "not right yet" in out and words in out, (prediction, out)
    ex13.check_2(right_symmetric)          # the prediction left as ...
    out = capsys.readouterr().out
    assert "not done yet" in out and "distinct_at_3_bits" in out


def test_13_2_fallback_hint_does_not_give_the_code(capsys):
    def wrong_clamp(x, bits):
        q_max = 2 ** (bits - 1) - 1
        scale = x.abs().max() / q_max
        return torch.clamp(torch.round(x / scale), -q_max, q_max - 1) * scale

    ex13.check_2(wrong_clamp, 7)
    out = capsys.readouterr().out
    assert "not right yet" in out and "return q * scale" not in out and "outermost code" in out


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
        ex13.check_2(fn, 7)
        out = capsys.readouterr().out
        assert "not right yet" in out and words in out, (fn.__name__, out)


def test_13_2_not_done(capsys):
    def stub(x, bits):
        raise NotImplementedError

    ex13.check_2(stub, 7)
    assert "not done yet" in capsys.readouterr().out
    ex13.check_2(..., ...)
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


# --------------------------------------------------------------------------- 13.5


@pytest.mark.filterwarnings("ignore:Sparse CSR tensor support is in beta")
def test_13_5_reference_matches_torch_sparse_arrays():
    coo, csr = ex13.break_even_reference()
    assert coo == 0.8 and abs(csr - 0.668) < 0.001
    weight = torch.randn(128, 512, generator=torch.Generator().manual_seed(0))
    nnz = 10_000
    sparse = torch.zeros(128 * 512)
    sparse[:nnz] = 1.0
    sparse = (sparse[torch.randperm(128 * 512, generator=torch.Generator().manual_seed(1))].view(128, 512) * weight)
    as_coo, as_csr = sparse.to_sparse(), sparse.to_sparse_csr()
    assert as_coo.values().nbytes + as_coo.indices().nbytes == 20 * nnz
    assert as_csr.values().nbytes + as_csr.col_indices().nbytes + as_csr.crow_indices().nbytes == 12 * nnz + 8 * 129


def test_13_5_right_and_wrong(capsys):
    ex13.check_5((0.8, 0.668))
    assert "✅ Exercise 13.5 passed" in capsys.readouterr().out
    for answer, words in [((0.2, 0.332), "fraction of non-zeros"), ((2 / 3, 0.5), "two indices per value"),
                          ((0.6, 0.5), "int64"), ((0.8, 2 / 3), "row pointers"), ((0.8, 0.5), "COO is right"),
                          ((0.8,), "two fractions"), (("a", "b"), "two fractions")]:
        ex13.check_5(answer)
        out = capsys.readouterr().out
        assert "not right yet" in out and words in out, (answer, out)
    ex13.check_5(...)
    assert "not done yet" in capsys.readouterr().out


# --------------------------------------------------------------------------- 13.6


def test_13_6_reference_is_the_limit_of_autograd():
    from course_utils.topics.compression import soft_target_loss

    z, v = torch.randn(4, 10, dtype=torch.float64), torch.randn(4, 10, dtype=torch.float64) * 2
    leaf = z.clone().requires_grad_(True)
    soft_target_loss(leaf, v, 1e4).backward()
    assert torch.allclose(leaf.grad, ex13.high_temperature_gradient_reference(z, v), atol=1e-4)


def test_13_6_right_and_wrong(capsys):
    ex13.check_6(ex13.high_temperature_gradient_reference)
    assert "✅ Exercise 13.6 passed" in capsys.readouterr().out
    ref = ex13.high_temperature_gradient_reference
    for fn, words in [(lambda z, v: 0 * z, "not 0"), (lambda z, v: -ref(z, v), "the sign"),
                      (lambda z, v: (z - v) / z.numel(), "centre each row"),
                      (lambda z, v: ref(z, v) * z.shape[1], "number of classes"),
                      (lambda z, v: ref(z, v) * z.shape[0], "batch size"),
                      (lambda z, v: ref(z, v)[0], "shaped (6, 10)"),
                      (lambda z, v: 2 * ref(z, v), "keep the terms of order 1/T")]:
        ex13.check_6(fn)
        out = capsys.readouterr().out
        assert "not right yet" in out and words in out, out

    def stub(z, v):
        raise NotImplementedError

    ex13.check_6(stub)
    assert "not done yet" in capsys.readouterr().out
    ex13.check_6(...)
    assert "not done yet" in capsys.readouterr().out
    ex13.check_6(lambda z, v: z.nope)
    assert "raised AttributeError" in capsys.readouterr().out
