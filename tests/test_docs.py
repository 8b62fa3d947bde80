"""Every rule has a page in `rules/`, and each page's examples behave as the page says."""

from __future__ import annotations

import re
from pathlib import Path

import pytest
from click.testing import CliRunner

from metriclint.cli import main
from metriclint.engine import fix_text, lint_text
from metriclint.rules import TOOL_CODES, all_rules
from metriclint.settings import Settings

PAGES = Path(__file__).resolve().parents[1] / "rules"
SECTIONS = ("## What it does", "## Why is this bad?", "## Example", "## Use instead", "## Fix safety", "## Evidence")


def _block(page: str, heading: str) -> str:
    match = re.search(re.escape(heading) + r"\n.*?```python\n(.*?)```", page, re.S)
    assert match, f"no python block under {heading!r}"
    return match.group(1)


def test_every_code_has_a_page():
    codes = set(all_rules()) | set(TOOL_CODES)
    pages = {p.stem for p in PAGES.glob("*.md")}
    assert codes - pages == set(), "codes without a page"
    assert pages - codes == set(), "pages without a code"


@pytest.mark.parametrize("code", sorted(all_rules()))
def test_rule_page_structure(code):
    rule = all_rules()[code]
    page = (PAGES / f"{code}.md").read_text(encoding="utf-8")
    assert page.startswith(f"# {code}: {rule.name}\n"), "title must be `# CODE: rule-name`"
    for section in SECTIONS:
        assert section in page, f"{code}.md lacks {section}"


@pytest.mark.parametrize("code", sorted(all_rules()))
def test_rule_page_examples_behave(code):
    rule = all_rules()[code]
    page = (PAGES / f"{code}.md").read_text(encoding="utf-8")
    bad, good = _block(page, "## Example"), _block(page, "## Use instead")
    flavour = "3" if "3" in rule.flavours else "2"
    settings = Settings(target_keras=flavour)
    found = [d.code for d in lint_text(bad, f"{code}.py", settings).diagnostics]
    assert code in found, f"the page's Example is not flagged with {code}: {found}"
    assert code not in [d.code for d in lint_text(good, f"{code}.py", settings).diagnostics]
    if rule.fix_safety is not None:
        fixed = fix_text(bad, f"{code}.py", Settings(select=(code,), target_keras=flavour), unsafe=True).text
        assert fixed == good, "`metriclint fix` does not turn the Example into `Use instead`"


@pytest.mark.parametrize("code", sorted(all_rules()) + sorted(TOOL_CODES))
def test_rule_command_prints_the_page(code):
    result = CliRunner().invoke(main, ["rule", code.lower()])
    assert result.exit_code == 0, result.output
    assert result.output.startswith(f"# {code}: ")
    assert result.output.rstrip("\n") == (PAGES / f"{code}.md").read_text(encoding="utf-8").rstrip("\n")


def test_rule_command_unknown_code():
    result = CliRunner().invoke(main, ["rule", "KM999"])
    assert result.exit_code == 2
    assert "unknown rule code" in result.output
