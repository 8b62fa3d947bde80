"""The README's two set-up commands, its rule table and `.ci/run` stay in step with the code."""

from __future__ import annotations

import re
from pathlib import Path

from metriclint.rules import TOOL_CODES, all_rules

ROOT = Path(__file__).resolve().parents[1]
README = (ROOT / "README.md").read_text(encoding="utf-8")
SETUP = README.split("## Set up", 1)[1].split("\n## ", 1)[0]


def test_exactly_two_setup_commands():
    commands = re.findall(r"```sh\n(.*?)```", SETUP, re.S)
    assert [c.strip() for c in commands] == [
        "python3 -m pip install . && metriclint check fixtures",
        "python3 -m pip install '.[test]' && python3 -m pytest -n 2",
    ]


def test_ci_runs_the_readme_test_command():
    script = (ROOT / ".ci" / "run").read_text(encoding="utf-8")
    install, test = "python3 -m pip install '.[test]'", "python3 -m pytest -n 2"
    assert re.search(rf"^{re.escape(install)}$", script, re.M)
    assert re.search(rf"^{re.escape(test)} \|\| status=\$\?$", script, re.M)
    assert "python3 -m venv" in script


def test_rule_table_lists_every_code_with_its_name():
    rows = dict(re.findall(r"^\| \[(\w+)\]\(rules/\w+\.md\) \| ([\w-]+) \|", README, re.M))
    expected = {code: rule.name for code, rule in all_rules().items()}
    expected.update({code: text.split(":")[0] for code, text in TOOL_CODES.items()})
    assert rows == expected
