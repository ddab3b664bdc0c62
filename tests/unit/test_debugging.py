"""Helpers of notebook 20: probes, the planted-bug scripts and their diagnosis, the explorer."""

import math

import pytest
import torch
from torch import nn

from course_utils import data
from course_utils.topics import debugging as dbg

pytestmark = pytest.mark.usefixtures("one_thread")  # tests/unit/conftest.py


@pytest.fixture(scope="module")
def split():
    return data.digits_split(test_fraction=0.2, seed=0)


@pytest.fixture(scope="module")
def prepared(split):
    return dbg.prepare(split)


# --------------------------------------------------------------------------- probes


def test_make_model_rejects_bad_sizes():
    with pytest.raises(ValueError, match="hidden must be a positive int"):
        dbg.make_model(hidden=0)
    with pytest.raises(ValueError, match="dropout must be in"):
        dbg.make_model(dropout=1.0)


def test_initial_loss_is_near_ln_c_and_keeps_the_mode(prepared):
    torch.manual_seed(0)
    model = dbg.make_model().train()
    loss = dbg.initial_loss(model, prepared.X_train, prepared.y_train)
    assert abs(loss - math.log(10)) < 0.15
    assert model.training
    with pytest.raises(ValueError, match="X must be a torch.Tensor"):
        dbg.initial_loss(model, [[0.0]], prepared.y_train)


def test_sanity_problems_find_each_slip(prepared):
    X, y = prepared.X_train, prepared.y_train
    assert dbg.sanity_problems(X, y, 10) == []
    assert any("0..9" in p for p in dbg.sanity_problems(X, y + 1, 10))
    assert any("int64" in p for p in dbg.sanity_problems(X, y.float(), 10))
    assert any("shape (N,)" in p for p in dbg.sanity_problems(X, y[:, None], 10))
    assert any("floats" in p for p in dbg.sanity_problems(X.to(torch.uint8), y, 10))
    assert any("NaN" in p for p in dbg.sanity_problems(X.clone().fill_(math.nan), y, 10))
    assert any("labels" in p and "inputs" in p for p in dbg.sanity_problems(X[:10], y, 10))
    assert any("never occur" in p for p in dbg.sanity_problems(X[y < 9], y[y < 9], 10))
    assert any("features" in p for p in dbg.sanity_problems(X, y, 10, n_features=32))
    assert "tensors" in dbg.sanity_problems([1], y, 10)[0]
    with pytest.raises(ValueError, match="n_classes must be an int"):
        dbg.sanity_problems(X, y, 1)


def test_activation_recorder_removes_its_hooks(prepared):
    model = dbg.make_model().eval()
    with dbg.ActivationRecorder(model) as recorder:
        assert dbg.hooks_left(model) == 7
        model(prepared.X_test)
    assert dbg.hooks_left(model) == 0 and recorder.removed == 7
    assert set(recorder.outputs) == {str(i) for i in range(7)}
    stats = dbg.activation_stats(recorder.outputs, recorder.kinds)
    relu = next(s for s in stats if s.kind == "ReLU")
    assert 0 < relu.zero_fraction < 1 and relu.dead_fraction <= relu.zero_fraction
    with torch.no_grad():
        assert torch.equal(recorder.outputs["2"], model[:3](prepared.X_test))
    with pytest.raises(ValueError, match="nn.Module"):
        dbg.ActivationRecorder("model")


def test_parameter_report_rows(prepared):
    model = dbg.make_model()
    dbg.loss_fn(model(prepared.X_train[:64]), prepared.y_train[:64]).backward()
    rows = dbg.parameter_report(model, {"0.weight": [1e-3, 2e-3, 3e-3]})
    assert [r.name for r in rows][:2] == ["0.weight", "0.bias"]
    assert rows[0].update_ratio == pytest.approx(2e-3)
    assert math.isnan(rows[1].update_ratio)
    assert rows[1].grad_norm < 1e-5  # a bias in front of BatchNorm has no effect on the loss
    text = dbg.format_parameter_report(rows)
    assert "64×64" in text and "–" in text


def _naive_loss():
    logits = torch.tensor([[0.0, 50.0, -60.0]], requires_grad=True)
    probabilities = torch.exp(logits) / torch.exp(logits).sum(dim=1, keepdim=True)
    return -torch.log(probabilities[:, 2]).mean()


def test_anomaly_sentence_names_the_backward_function_and_the_line():
    sentence = dbg.anomaly_sentence(_naive_loss)
    assert sentence.startswith("DivBackward0 returned NaN during backward.")
    assert "`_naive_loss`" in sentence and "torch.exp(logits) / torch.exp(logits).sum" in sentence
    assert "\n" not in sentence
    finite = dbg.anomaly_sentence(lambda: (torch.ones(2, requires_grad=True) * 2).sum())
    assert "no anomaly" in finite
    assert not torch.is_anomaly_enabled()
    with pytest.raises(ValueError, match="function that returns a loss"):
        dbg.anomaly_sentence(3.0)


def test_model_free_probes(prepared):
    X, y = prepared.X_train[:400], prepared.y_train[:400]
    assert dbg.nearest_neighbour_agreement(X, y) > 0.9
    shuffled = y[torch.randperm(len(y), generator=torch.Generator().manual_seed(0))]
    assert dbg.nearest_neighbour_agreement(X, shuffled) < 0.25
    assert dbg.overlap_fraction(X, prepared.X_test) == 0.0
    assert dbg.overlap_fraction(X, X[:10]) == 1.0


def test_label_agreement_compares_with_a_shuffled_baseline(prepared):
    X, y = prepared.X_train[:400], prepared.y_train[:400]
    agree, baseline = dbg.label_agreement(X, y, seed=0)
    assert agree == pytest.approx(dbg.nearest_neighbour_agreement(X, y))
    assert agree - baseline > 0.5 and baseline < 0.25
    assert dbg.label_agreement(X, y, seed=0) == (agree, baseline)  # its own generator: repeatable
    noisy = torch.where(torch.arange(len(y)) % 2 == 0, y, (y + 3) % 10)  # half the labels wrong: still above baseline
    agree_noisy, baseline_noisy = dbg.label_agreement(X, noisy, seed=0)
    assert agree_noisy < 0.7 and agree_noisy - baseline_noisy > dbg.LABEL_MARGIN


def test_forward_probe_finds_dead_units_and_non_finite_outputs(prepared):
    torch.manual_seed(0)
    model = dbg.make_model().train()
    dead, broken = dbg.forward_probe(model, prepared.X_train)
    assert dead < 0.1 and broken is None and model.training and dbg.hooks_left(model) == 0
    with torch.no_grad():
        model[4].bias[:40] = -1e3  # 40 of the 64 units after the second Linear can never fire
    assert dbg.forward_probe(model, prepared.X_train)[0] == pytest.approx(40 / 64)
    with torch.no_grad():
        model[4].weight[0, 0] = math.nan
    assert dbg.forward_probe(model, prepared.X_train)[1] == "4"
    assert dbg.hooks_left(model) == 0


# --------------------------------------------------------------------------- scripts and diagnosis


def test_scripts_change_one_part_each():
    assert dbg.script("correct").changed_part() is None
    parts = {name: s.changed_part() for name, s in dbg.SCRIPTS.items() if name != "correct"}
    assert parts == {"forgot zero_grad": "step", "softmax before CrossEntropyLoss": "loss_fn",
                     "eval mode left off": "predict_proba", "softmax over the batch dim": "predict_proba",
                     "data leakage": "prepare", "labels shuffled apart": "prepare", "learning rate ×100": "lr"}
    assert "optimizer.zero_grad()" in dbg.script("correct").source()
    assert "dim=0" in dbg.script("softmax over the batch dim").source()
    assert "lr=0.1" in dbg.script("learning rate ×100").source()
    with pytest.raises(ValueError, match="unknown script"):
        dbg.script("no such bug")


def test_train_rejects_bad_arguments(split):
    with pytest.raises(ValueError, match="needs a Script"):
        dbg.train("correct", split)
    with pytest.raises(ValueError, match="positive ints"):
        dbg.train(dbg.CORRECT, split, epochs=0)


def test_step_probes(prepared):
    xb, yb = prepared.X_train[:32], prepared.y_train[:32]
    assert dbg.gradient_accumulation_ratio(dbg.CORRECT, xb, yb) == pytest.approx(1.0, abs=1e-6)
    assert dbg.gradient_accumulation_ratio(dbg.script("forgot zero_grad"), xb, yb) == pytest.approx(2.0, abs=1e-5)
    assert dbg.overfit_one_batch(dbg.CORRECT, xb, yb) < 0.1
    assert dbg.overfit_one_batch(dbg.script("softmax before CrossEntropyLoss"), xb, yb) > math.log(1 + 9 / math.e) - 0.01


EXPECTED_FLAG = {
    "forgot zero_grad": "fresh gradients",
    "softmax before CrossEntropyLoss": "overfit one batch",
    "eval mode left off": "stable predictions",
    "softmax over the batch dim": "probabilities sum to 1",
    "data leakage": "train/test overlap",
    "labels shuffled apart": "labels go with inputs",
    "learning rate ×100": "update/data ratio",
}


@pytest.fixture(scope="module")
def diagnosed(split):
    results = {}
    for name, s in dbg.SCRIPTS.items():
        run = dbg.train(s, split, seed=0, epochs=3)
        results[name] = (run, dbg.diagnose(run, seed=0))
    return results


def test_the_correct_script_raises_no_alarm(diagnosed):
    findings = diagnosed["correct"][1]
    assert [f.check for f in findings] == list(dbg.CHECKS)
    assert not any(f.flagged for f in findings)


@pytest.mark.parametrize("name", list(EXPECTED_FLAG))
def test_each_bug_is_flagged_by_its_check(diagnosed, name):
    by_check = {f.check: f for f in diagnosed[name][1]}
    assert by_check[EXPECTED_FLAG[name]].severity > 2.0
    report = dbg.format_findings(diagnosed[name][1])
    assert f"⚠ {EXPECTED_FLAG[name]}" in report


def test_reports_are_computed_sentences(diagnosed):
    report = dbg.format_findings(diagnosed["learning rate ×100"][1])
    assert "loss at init 2.3" in report and "vs ln 10 = 2.30" in report
    assert "flagged above 0.025" in report and "e-0" not in report.split("update/data ratio", 1)[1].splitlines()[0]


def test_figures_draw(diagnosed):
    import matplotlib.pyplot as plt

    run = diagnosed["correct"][0]
    X, y = run.data.X_train[:200], run.data.y_train[:200]
    torch.manual_seed(0)
    at_init, trained = dbg.snapshot(dbg.make_model(), X, y), dbg.snapshot(run.model, X, y)
    assert list(at_init[0]) == ["2", "5", "6"] and list(at_init[1]) == ["0.weight", "4.weight", "6.weight"]
    assert dbg.hooks_left(run.model) == 0
    for fig in (dbg.run_figure(run), dbg.findings_figure({name: f for name, (_, f) in diagnosed.items()}),
                dbg.init_vs_trained_figure(at_init, trained)):
        assert fig.axes
        plt.close(fig)


def test_bug_explorer_redraws_from_its_cache(split, diagnosed):
    cache = {(name, 0): result for name, result in diagnosed.items()}
    explorer = dbg.BugExplorer(split, cache, name="correct")
    assert "no check flags" in explorer.status.value and explorer.redraws == 0
    explorer.choice.value = "softmax over the batch dim"
    assert explorer.redraws == 1
    assert "probabilities sum to 1" in explorer.status.value
    assert explorer.show() is None
    with pytest.raises(ValueError, match="unknown script"):
        dbg.BugExplorer(split, name="nope")


def test_leaky_and_shuffled_preparations(split):
    torch.manual_seed(0)
    leaky = dbg.prepare_leaky(split)
    assert 0.3 < dbg.overlap_fraction(leaky.X_train, leaky.X_test) < 0.5  # "about four in ten", as documented
    zeroed = dbg.prepare_zeroed(split)
    assert not zeroed.X_train.any() and torch.equal(zeroed.y_test, split.y_test)
    assert dbg.ZEROED.changed_part() == "prepare" and "inputs zeroed" not in dbg.SCRIPTS
    shuffled = dbg.prepare_shuffled(split)
    assert sorted(shuffled.y_train.tolist()) == sorted(split.y_train.tolist())
    assert isinstance(dbg.make_model(), nn.Sequential)
