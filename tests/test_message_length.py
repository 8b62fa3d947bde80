"""A finding's first sentence is what one line of output shows (`concise`, the header of `full`,
JSON's `message`): short enough to scan. ruff's messages are 41 characters at the median; the
explanation (what happens at run time, the evidence, the fix) follows the first `. ` and is shown
by `full` and `metriclint rule`. Every rule's own examples are measured."""

from __future__ import annotations

import statistics

from metriclint.diagnostics import split_message
from metriclint.engine import lint_text
from metriclint.rules import all_rules
from metriclint.settings import Settings

LONGEST = 100  # with `path:line:col: CODE [*] ` in front, about one line and a half of a 100-column terminal
MEDIAN = 65


def _headlines():
    out = []
    for code, rule in all_rules().items():
        for example in rule.invalid:
            settings = Settings(select=(code,), target_keras=example.flavour)
            for diag in lint_text(example.code, "example.py", settings).diagnostics:
                if diag.code == code:
                    out.append((code, diag.headline, diag.message))
    return out


def test_every_rule_example_has_a_short_first_sentence():
    found = _headlines()
    assert {code for code, _, _ in found} == set(all_rules())  # every rule was measured
    too_long = [(code, len(head), head) for code, head, _ in found if len(head) > LONGEST]
    assert not too_long, "\n".join(f"{code} ({n} characters): {head}" for code, n, head in too_long)
    assert statistics.median(len(head) for _, head, _ in found) <= MEDIAN


def test_long_messages_keep_their_explanation_after_the_first_sentence():
    for code, head, message in _headlines():
        assert message.startswith(head), (code, message)
        if len(message) > LONGEST:
            assert split_message(message)[1], f"{code}: a long message with no first sentence to show: {message}"


def test_first_sentence_ends_at_a_period_outside_code():
    assert split_message("`a. b` does c. Then d. And e.") == ("`a. b` does c", "Then d. And e.")
    assert split_message("one sentence") == ("one sentence", "")
    assert split_message("0.5 is not 0.5. Because") == ("0.5 is not 0.5", "Because")


def test_every_fixture_finding_has_a_short_first_sentence(monkeypatch):
    """The bundled programs (`metriclint check fixtures`, the README's first command): each
    finding's one line fits the same bound as the rule examples'."""
    import json
    from pathlib import Path

    from click.testing import CliRunner

    from metriclint.cli import main

    monkeypatch.chdir(Path(__file__).resolve().parents[1])
    result = CliRunner().invoke(main, ["check", "fixtures", "--output-format", "json", "--no-cache"],
                                catch_exceptions=False)
    found = json.loads(result.stdout)
    assert result.exit_code == 1 and len({d["filename"] for d in found}) >= 40
    too_long = [(d["code"], len(d["message"]), d["message"]) for d in found if len(d["message"]) > LONGEST]
    assert not too_long, "\n".join(f"{code} ({n} characters): {head}" for code, n, head in too_long)
    assert statistics.median(len(d["message"]) for d in found) <= MEDIAN
