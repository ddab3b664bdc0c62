from course_utils.exercises import ex00


def test_right_answer_passes(capsys):
    ex00.check_1(64)
    assert "✅ Exercise 00.1 passed" in capsys.readouterr().out


def test_adding_instead_of_multiplying_is_named(capsys):
    ex00.check_1(16)
    out = capsys.readouterr().out
    assert "not right yet" in out and "multiply, don't add" in out


def test_placeholder_is_not_done(capsys):
    ex00.check_1(...)
    assert "not done yet" in capsys.readouterr().out
