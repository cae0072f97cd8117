"""The notebook's health sections run in a real kernel, render their charts, and show what
the bind changed."""

from __future__ import annotations

import json
import shutil
from xml.etree import ElementTree

import nbformat
import pytest
from nbclient import NotebookClient
from tests.test_notebook import NOTEBOOK, inject_parameters, outputs_text

pytestmark = [pytest.mark.notebook, pytest.mark.slow]

REPORT = """
import json as _json
_cmp = health_after.compare(health_before)
print("HEALTH=" + _json.dumps({
    "before": health_before.counts(), "after": health_after.counts(),
    "resolved_unowned": [int(i) for i in str(_cmp.loc["unowned", "resolved_orders"]).split(";")
                         if i],
    "bound": sorted(int(o) for o in pairs.loc[pairs["bind_status"] == "bound", "order_id"]),
    "invoices": [len(f) for f in invoices],
}))
"""


def _cell(nb, cid):
    return next(c for c in nb.cells if c.get("id") == cid)


def _svg(data: str) -> bool:
    """A well-formed SVG with bars in it."""
    root = ElementTree.fromstring(data)
    return root.tag.endswith("svg") and any(e.tag.endswith("rect") for e in root.iter())


def test_notebook_health_sections_render_and_show_the_change(tmp_path, monkeypatch):
    monkeypatch.delenv("B24_WEBHOOK_URL", raising=False)
    monkeypatch.setenv("B24NB_JOURNAL", str(tmp_path / "journal.sqlite"))
    shutil.copy(NOTEBOOK, tmp_path / "reconcile.ipynb")
    nb = nbformat.read(tmp_path / "reconcile.ipynb", as_version=4)
    order = [c.get("id") for c in nb.cells]
    assert order.index("health-before") < order.index("a1fa1bdf")  # before the review
    assert order.index("0db33e90") < order.index("health-after")  # after binding
    inject_parameters(nb, {"BIND": True, "PICK": 3, "DATE_FROM": "2026-01-01",
                           "DATE_TO": "2026-07-01"})
    nb.cells.append(nbformat.v4.new_code_cell(REPORT))
    NotebookClient(nb, timeout=180, kernel_name="python3",
                   resources={"metadata": {"path": str(tmp_path)}}).execute()

    html = "".join(o.get("data", {}).get("text/html", "")
                   for o in _cell(nb, "health-before").outputs)
    assert "Linkage health" in html
    assert _svg(html[html.index("<svg"):html.index("</svg>") + 6])
    svgs = [o["data"]["image/svg+xml"] for o in _cell(nb, "health-after").outputs
            if "image/svg+xml" in o.get("data", {})]
    assert len(svgs) == 1
    assert _svg(svgs[0])
    assert 'fill="#bbbbbb"' in svgs[0]  # the grey "before" bars
    assert "empty auto-created deals" in outputs_text(_cell(nb, "health-shells"))

    report = json.loads(outputs_text(nb.cells[-1]).split("HEALTH=", 1)[1].splitlines()[0])
    assert report["invoices"][0] > 0
    assert report["invoices"][1] > 0
    # a half-year of orders: the big findings show (every finding is pinned in test_health)
    for name in ("unowned", "auto_created", "amount_mismatch"):
        assert report["before"][name] > 0, report
    # the three orders the notebook bound were unowned before and are not now
    assert set(report["bound"]) <= set(report["resolved_unowned"])
    assert report["after"]["unowned"] == report["before"]["unowned"] - len(report["bound"])
    assert len(report["bound"]) == 3
    for cell in nb.cells[:-1]:
        assert "Traceback" not in outputs_text(cell)
