"""The optimizer playground of notebook 06 in a real JupyterLab, driven by headless Chromium.

The test opens notebooks/06_training_loops.ipynb, runs its set-up cell and the playground cell
(the playground cell is self-contained, so the rest of the notebook need not run), then moves the
learning-rate slider with the keyboard and types a value into its readout. Each time the kernel
must recompute the walk: the figure (the whole ``<img src>``) and the outcome line must change.
"""

from __future__ import annotations

import time

import pytest

NOTEBOOK = "notebooks/06_training_loops.ipynb"
KERNEL_NAME = "Python 3 (ipykernel)"
SLOW = 120_000  # ms: kernel start and the first torch import on a busy 2-core machine
UPDATE = 60_000  # ms: one recomputation of the walk and the figure

pytestmark = pytest.mark.browser


def _cell(page, text: str):
    return page.locator(".jp-Notebook .jp-CodeCell").filter(has_text=text).first


def _run_cell(page, cell) -> None:
    cell.scroll_into_view_if_needed()
    cell.locator(".jp-InputArea-editor").click()
    page.keyboard.press("Shift+Enter")


def _wait_for_new_src(figure, old: str, timeout_s: float) -> str:
    deadline = time.monotonic() + timeout_s
    while time.monotonic() < deadline:
        src = figure.get_attribute("src") or ""
        if src and src != old:
            return src
        time.sleep(0.1)
    raise AssertionError("the playground figure did not change after the slider moved")


def test_playground_reacts_to_the_learning_rate_slider(lab_server, page):
    from playwright.sync_api import expect

    timings = {}
    start = time.monotonic()
    page.goto(lab_server.notebook_url(NOTEBOOK))
    # The toolbar first says "No Kernel" while a hidden "Kernel status: Idle" is already there:
    # wait for the kernel name too, or the cells would be run before the kernel exists.
    expect(page.locator(".jp-NotebookPanel-toolbar .jp-KernelName")).to_contain_text(KERNEL_NAME, timeout=SLOW)
    expect(page.locator(".jp-Notebook-ExecutionIndicator[data-status='idle']")).to_have_count(1, timeout=SLOW)
    timings["open notebook until kernel idle"] = time.monotonic() - start

    start = time.monotonic()
    setup_cell = _cell(page, "setup(seed=0)")
    playground_cell = _cell(page, "optimizer_playground(surface=")
    _run_cell(page, setup_cell)
    _run_cell(page, playground_cell)
    expect(playground_cell.locator(".jp-InputPrompt")).to_contain_text("[2]", timeout=SLOW)
    lr_slider = playground_cell.locator(".widget-slider").filter(has_text="learning rate")
    expect(lr_slider).to_be_visible(timeout=SLOW)
    status = playground_cell.locator(".jp-OutputArea-output").filter(has_text="Outcome (")
    expect(status).to_contain_text("Outcome (sgd, lr=0.05, momentum=0.00, 40 steps): still far", timeout=UPDATE)
    figure = playground_cell.locator(".jp-OutputArea-output img")
    expect(figure).to_have_count(1)
    first_src = figure.get_attribute("src")
    timings["run set-up and playground cells until widgets are live"] = time.monotonic() - start

    # 1. Keyboard: ten steps of the log slider (0.1 in the exponent each) to the right.
    start = time.monotonic()
    readout = lr_slider.locator(".widget-readout")
    lr_slider.locator(".noUi-handle").focus()
    for _ in range(10):
        page.keyboard.press("ArrowRight")
    expect(status).not_to_contain_text("lr=0.05,", timeout=UPDATE)
    second_src = _wait_for_new_src(figure, first_src, UPDATE / 1000)
    expect(readout).not_to_have_text("0.0500")
    moved_to = float(readout.inner_text())
    assert moved_to > 0.1, f"ten steps right should multiply lr by about 10; the readout says {moved_to}"
    expect(status).to_contain_text(f"lr={moved_to:.4g}", timeout=UPDATE)
    timings["keyboard slider move until figure and outcome updated"] = time.monotonic() - start

    # 2. Type a value into the readout: lr = 0.6 makes SGD diverge on the ravine.
    start = time.monotonic()
    readout.fill("0.6")
    readout.press("Enter")
    expect(status).to_contain_text("Outcome (sgd, lr=0.6, momentum=0.00, 40 steps): diverged at step 5",
                                   timeout=UPDATE)
    _wait_for_new_src(figure, second_src, UPDATE / 1000)
    timings["readout edit until figure and outcome updated"] = time.monotonic() - start

    print()
    for step, seconds in timings.items():
        print(f"browser timing: {step}: {seconds:.1f} s")
