"""notebooks/reconcile.ipynb runs top to bottom in a real kernel and binds what it says.

The notebook runs exactly as an analyst gets it — no ``B24_WEBHOOK_URL``, so ``connect()``
starts the sandbox portal inside the kernel — with papermill-style parameters injected after
the cell tagged ``parameters`` (``BIND=True, PICK=3`` and a date range). A last cell added
by the test reports the resulting frame, the journal and the sandbox's own store as JSON.
"""

from __future__ import annotations

import json
import re
import shutil
from pathlib import Path
from typing import Any

import nbformat
import pandas as pd
import pytest
from nbclient import NotebookClient

ROOT = Path(__file__).resolve().parents[1]
NOTEBOOK = ROOT / "notebooks" / "reconcile.ipynb"

pytestmark = [pytest.mark.notebook, pytest.mark.slow]

REPORT = """
import json as _json
_bound = pairs[pairs["bind_status"] == "bound"]
_store = {(b["orderId"], b["ownerId"]) for b in portal.sandbox.bindings()}
print("REPORT=" + _json.dumps({
    "secret": portal.sandbox.url.rstrip("/").rsplit("/", 1)[-1],
    "statuses": pairs["bind_status"].value_counts().to_dict(),
    "bound": [[int(p), int(r.order_id), int(r.deal_id)]
              for p, r in zip(_bound.index, _bound.itertuples())],
    "selected": [int(p) for p in pairs.index[pairs["selected"].fillna(False)]],
    "in_store": sorted([int(o), int(d)] for o, d in
                       ((r.order_id, r.deal_id) for r in _bound.itertuples())
                       if (int(o), int(d)) in _store),
    "history_rows": int(len(b24nb.history())),
    "picker": repr(picker),
    "bind_at_set": bool(_bound["bind_at"].notna().all()),
    "order_dates": [str(orders["dateInsert"].min()), str(orders["dateInsert"].max())],
}))
"""


def inject_parameters(nb: Any, params: dict[str, Any]) -> None:
    """Insert a cell overriding ``params`` right after the one tagged ``parameters``."""
    where = next(i for i, c in enumerate(nb.cells)
                 if "parameters" in c.get("metadata", {}).get("tags", []))
    source = "\n".join(f"{k} = {v!r}" for k, v in params.items())
    cell = nbformat.v4.new_code_cell(source, metadata={"tags": ["injected-parameters"]})
    nb.cells.insert(where + 1, cell)


def outputs_text(cell: Any) -> str:
    parts = []
    for out in cell.get("outputs", []):
        parts.append(out.get("text", ""))
        for value in out.get("data", {}).values():
            parts.append(value if isinstance(value, str) else json.dumps(value))
    return "\n".join(parts)


def test_notebook_parameters_cell_is_tagged_for_papermill():
    nb = nbformat.read(NOTEBOOK, as_version=4)
    tagged = [c for c in nb.cells if "parameters" in c.metadata.get("tags", [])]
    assert len(tagged) == 1
    for name in ("PORTAL_URL", "DATE_FROM", "DATE_TO", "MIN_SCORE", "TICK_THRESHOLD", "PRETICK",
                 "BIND", "PICK", "DRY_RUN", "EXPORT"):
        assert re.search(rf"^{name} = ", tagged[0].source, re.M), name
    assert all(not c.get("outputs") for c in nb.cells if c.cell_type == "code")


def test_notebook_binds_the_picked_pairs_on_the_sandbox_and_logs_them(tmp_path, monkeypatch):
    monkeypatch.delenv("B24_WEBHOOK_URL", raising=False)
    monkeypatch.setenv("B24NB_JOURNAL", str(tmp_path / "journal.sqlite"))
    shutil.copy(NOTEBOOK, tmp_path / "reconcile.ipynb")
    nb = nbformat.read(tmp_path / "reconcile.ipynb", as_version=4)
    inject_parameters(nb, {"BIND": True, "PICK": 3, "EXPORT": "log.csv",
                           "DATE_FROM": "2026-01-01", "DATE_TO": "2026-07-01"})
    nb.cells.append(nbformat.v4.new_code_cell(REPORT))

    NotebookClient(nb, timeout=120, kernel_name="python3",
                   resources={"metadata": {"path": str(tmp_path)}}).execute()

    report_text = outputs_text(nb.cells[-1])
    report = json.loads(report_text.split("REPORT=", 1)[1].splitlines()[0])
    assert report["statuses"] == {"bound": 3}
    assert sorted(p for p, _o, _d in report["bound"]) == sorted(report["selected"])
    assert report["in_store"] == sorted([o, d] for _p, o, d in report["bound"])
    assert report["bind_at_set"]
    first, last = (pd.Timestamp(t) for t in report["order_dates"])
    assert pd.Timestamp("2026-01-01", tz="UTC") <= first <= last < pd.Timestamp(
        "2026-07-01", tz="UTC")
    assert report["history_rows"] >= 3
    assert report["picker"].startswith("MatchPicker(")
    assert "\n" not in report["picker"]

    log = pd.read_csv(tmp_path / "log.csv")
    assert sorted(log["pair_id"]) == sorted(p for p, _o, _d in report["bound"])
    assert set(log["bind_status"]) == {"bound"}

    secret = report["secret"]
    assert len(secret) >= 8
    for cell in nb.cells[:-1]:  # the report cell prints the secret on purpose
        assert secret not in outputs_text(cell)
    grids = [out for c in nb.cells for out in c.get("outputs", [])
             if "application/vnd.jupyter.widget-view+json" in out.get("data", {})
             and out["data"].get("text/plain", "").startswith("MatchPicker(")]
    assert len(grids) == 1  # the review grid rendered as a widget, once


def test_notebook_thresholds_are_the_matchers_defaults():
    """The notebook pre-ticks what suggest() would on its own, and says why in its prose."""
    import inspect

    import b24nb

    nb = nbformat.read(NOTEBOOK, as_version=4)
    params: dict[str, Any] = {}
    cell = next(c for c in nb.cells if "parameters" in c.metadata.get("tags", []))
    exec(cell.source, params)
    defaults = inspect.signature(b24nb.suggest).parameters
    assert params["TICK_THRESHOLD"] == defaults["high"].default
    assert params["MIN_SCORE"] == defaults["low"].default
    prose = "\n".join(c.source for c in nb.cells if c.cell_type == "markdown")
    assert "Why 0.99" in prose
    for section in ("Connect", "Load", "Suggest", "Review", "Bind", "The log", "Export"):
        assert re.search(rf"^## \d\. {section}", prose, re.M), section
