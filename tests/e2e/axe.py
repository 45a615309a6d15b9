"""axe-core in the browser tests: one way to run it on a page and keep what blocks a release.

axe-core comes from npm (``package.json`` at the repository root; ``make install-test`` runs
``npm ci``). It is injected into the page, so the page must come from ``axe_page``, whose context
ignores the portal's Content-Security-Policy.
"""

from __future__ import annotations

from pathlib import Path

import pytest
from playwright.sync_api import Page

from tests.e2e.steps import loaded

AXE = Path(__file__).resolve().parents[2] / "node_modules" / "axe-core" / "axe.min.js"
BLOCKING = ("serious", "critical")


def blocking_violations(page: Page) -> list[dict]:
    """The serious and critical violations on the page shown, once it has loaded: contrast is
    judged from computed colours, which are the browser's defaults until the stylesheets apply."""
    if not AXE.is_file():
        pytest.fail(f"{AXE} is missing: run `npm ci` (make install-test does)", pytrace=False)
    loaded(page)
    page.add_script_tag(path=str(AXE))
    violations = page.evaluate(
        """async () => (await axe.run(document, {resultTypes: ['violations']})).violations
            .map(v => ({id: v.id, impact: v.impact, help: v.help,
                        nodes: v.nodes.map(n => n.target.join(' ') + '  ' + n.failureSummary
                                                .replace(/\\s+/g, ' ').slice(0, 160))}))"""
    )
    return [v for v in violations if v["impact"] in BLOCKING]


def report(found: dict[str, list[dict]]) -> str:
    """``found`` (violations by page) as lines to read in a failed assertion."""
    lines = []
    for path, violations in found.items():
        for v in violations:
            lines.append(f"{path}: {v['impact']} {v['id']} ({v['help']}) on {len(v['nodes'])}:")
            lines += [f"    {node}" for node in v["nodes"][:5]]
    return "\n".join(lines)
