"""Self-check quizzes: multiple choice, with a one-line explanation per question.

``grade`` is pure; ``show_quiz`` is the widget shell. Where widgets are not live
(GitHub, static HTML, nbval) the quiz shows as plain, readable text.
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass


@dataclass(frozen=True)
class Question:
    """One multiple-choice question; ``answer`` is the index of the right option."""

    prompt: str
    options: tuple[str, ...]
    answer: int
    explanation: str

    def __post_init__(self) -> None:
        if len(self.options) < 2:
            raise ValueError(f"a question needs at least two options: {self.prompt!r}")
        if not 0 <= self.answer < len(self.options):
            raise ValueError(f"answer index {self.answer} is out of range for {self.prompt!r}")


def grade(question: Question, choice: int | None) -> tuple[bool, str]:
    """Return (correct, feedback) for the chosen option index."""
    if choice is None:
        return False, "Pick an option first."
    if not 0 <= choice < len(question.options):
        raise ValueError(f"choice must be between 0 and {len(question.options) - 1}; got {choice}.")
    if choice == question.answer:
        return True, f"Correct. {question.explanation}"
    return False, f"Not quite. {question.explanation}"


def as_text(questions: Sequence[Question], title: str = "Self-check quiz") -> str:
    """The quiz as plain text (no answers), for places where widgets are not live."""
    lines = [f"{title} ({len(questions)} questions; run the notebook to answer them interactively)"]
    for number, q in enumerate(questions, start=1):
        lines.append(f"{number}. {q.prompt}")
        lines.extend(f"   {chr(97 + i)}) {option}" for i, option in enumerate(q.options))
    return "\n".join(lines)


def build_quiz(questions: Sequence[Question]):
    """Build the widget: one block per question with radio buttons, a check button and feedback."""
    import ipywidgets as w

    blocks = []
    for number, q in enumerate(questions, start=1):
        radio = w.RadioButtons(options=list(q.options), value=None, layout=w.Layout(width="auto"))
        feedback = w.HTML("")
        button = w.Button(description="Check", button_style="info")

        def on_click(_, q=q, radio=radio, feedback=feedback):
            choice = None if radio.value is None else q.options.index(radio.value)
            correct, text = grade(q, choice)
            colour = "green" if correct else "#b35900"
            feedback.value = f"<span style='color:{colour}'>{text}</span>"

        button.on_click(on_click)
        blocks.append(w.VBox([w.HTML(f"<b>{number}. {q.prompt}</b>"), radio, w.HBox([button, feedback])]))
    return w.VBox(blocks)


def show_quiz(questions: Sequence[Question], title: str = "Self-check quiz") -> None:
    """Display the quiz as a widget, with the text version as its fallback."""
    from course_utils.widgets import show_controls

    show_controls(build_quiz(questions), title, plain_text=as_text(questions, title))
