"""Exercise checks, one module per notebook (``ex01`` for notebook 01, ...).

Each module has ``check_1``, ``check_2``... for exercises ``NN.1``, ``NN.2``...
A check computes the right answer itself, compares it with the learner's through
``course_utils.checks`` and prints one line (passed / not right yet + hint / not
done yet). Keeping the checks here, not in the notebooks, lets the unit tests feed
each one a typical wrong answer (tests/unit/test_exercises_*.py).
"""
