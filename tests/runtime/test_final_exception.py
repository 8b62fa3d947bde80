"""`final_exception` reads the exception that ended a program, not one a library printed."""

from __future__ import annotations

from conftest import final_exception

_CAUGHT = '''Traceback (most recent call last):
  File "/lib/keras_tuner/base_tuner.py", line 274, in _try_run_and_update_trial
    return logs[self.name]
KeyError: 'val_acc'
'''
_FINAL = '''Traceback (most recent call last):
  File "/tmp/bad.py", line 33, in <module>
    tuner.search(x, y)
  File "/lib/keras_tuner/oracle.py", line 545, in _check_consecutive_failures
    raise RuntimeError(
RuntimeError: Number of consecutive failures exceeded the limit of 3.
'''


def test_a_traceback_in_the_message_is_not_the_final_exception():
    # keras-tuner prints each failed trial's traceback, then raises with the last one in its message
    kind, message = final_exception(_CAUGHT * 3 + _FINAL + _CAUGHT)
    assert kind == "RuntimeError"
    assert message.startswith("Number of consecutive failures exceeded the limit of 3.")


def test_the_last_uncaught_traceback_wins():
    chained = _FINAL.replace("RuntimeError: Number", "ValueError: first") + (
        "\nDuring handling of the above exception, another exception occurred:\n\n") + _FINAL
    assert final_exception(chained)[0] == "RuntimeError"
    assert final_exception(_CAUGHT) == ("KeyError", "'val_acc'")  # no module frame: the last traceback
