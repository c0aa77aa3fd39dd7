"""axe-core accessibility checks in a real page: inject node_modules/axe-core and run it.

Usage: ``violations = await serious_violations(page)``; ``assert not violations, describe(...)``.
The script is evaluated through Playwright (CDP), so the page's CSP does not block it.
"""

from __future__ import annotations

from pathlib import Path
from typing import Any

from playwright.async_api import Page

from tests.databases import missing_service

AXE = Path(__file__).resolve().parents[2] / "node_modules" / "axe-core" / "axe.min.js"
SERIOUS = frozenset({"serious", "critical"})


async def serious_violations(page: Page, selector: str | None = None) -> list[dict[str, Any]]:
    """Serious and critical WCAG 2.x A/AA violations on the page (or inside ``selector``)."""
    if not AXE.exists():
        missing_service(f"axe-core at {AXE} (run npm ci)")
    if not await page.evaluate("typeof window.axe !== 'undefined'"):
        # evaluate() runs through CDP, which a strict CSP (no inline scripts) does not block.
        await page.evaluate("() => {\n" + AXE.read_text() + "\n}")
    result: dict[str, Any] = await page.evaluate(
        """async (selector) => {
            const context = selector ? document.querySelector(selector) : document;
            return await window.axe.run(context, {
                runOnly: { type: "tag", values: ["wcag2a", "wcag2aa", "wcag21a", "wcag21aa"] },
                resultTypes: ["violations"],
            });
        }""",
        selector,
    )
    return [v for v in result["violations"] if v.get("impact") in SERIOUS]


def describe(violations: list[dict[str, Any]]) -> str:
    """A readable summary for an assertion message."""
    lines = []
    for v in violations:
        targets = [node["target"] for node in v.get("nodes", [])][:3]
        lines.append(f"{v['impact']}: {v['id']} — {v['help']} at {targets}")
    return "\n".join(lines)
