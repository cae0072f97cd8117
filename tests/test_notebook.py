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


def _run(nb: Any, cwd: Path, timeout: int = 120) -> None:
    NotebookClient(nb, timeout=timeout, kernel_name="python3", allow_errors=True,
                   resources={"metadata": {"path": str(cwd)}}).execute()


def _cell(nb: Any, cell_id: str) -> Any:
    return next(c for c in nb.cells if c.get("id") == cell_id)


def test_run_all_draws_its_charts_and_writes_no_empty_log(tmp_path, monkeypatch):
    """Run All before anyone binds: charts as images, the export says nothing was written."""
    monkeypatch.delenv("B24_WEBHOOK_URL", raising=False)
    monkeypatch.setenv("B24NB_JOURNAL", str(tmp_path / "journal.sqlite"))
    nb = nbformat.read(NOTEBOOK, as_version=4)
    inject_parameters(nb, {"EXPORT": "log.xlsx", "DATE_FROM": "2026-01-01",
                           "DATE_TO": "2026-04-01"})
    nb.cells.append(nbformat.v4.new_code_cell(
        'print("SECRET=" + portal.sandbox.url.rstrip("/").rsplit("/", 1)[-1])'))
    _run(nb, tmp_path)
    errors = [o for c in nb.cells for o in c.get("outputs", []) if o["output_type"] == "error"]
    assert errors == []
    charts = _cell(nb, "r15-charts")
    pngs = [o for o in charts.outputs if "image/png" in o.get("data", {})]
    assert len(pngs) == 1  # both charts in one figure, rendered by the kernel
    assert len(pngs[0]["data"]["image/png"]) > 20_000  # base64 of a real picture
    assert "wrote" not in outputs_text(_cell(nb, "857c9013"))
    assert "nothing written" in outputs_text(_cell(nb, "857c9013"))
    assert not (tmp_path / "log.xlsx").exists()
    summary = outputs_text(_cell(nb, "r15-summary"))
    assert "0 pair(s) bound" in summary
    unmatched = pd.read_csv(tmp_path / "orders-without-candidate.csv")
    assert f"{len(unmatched):,} of " in outputs_text(_cell(nb, "r15-unmatched"))
    assert len(unmatched) > 0
    secret = outputs_text(nb.cells[-1]).split("SECRET=", 1)[1].strip()
    assert len(secret) >= 8
    for c in nb.cells[:-1]:
        assert secret not in outputs_text(c)
        assert secret not in json.dumps(c.get("outputs", []))


def test_decisions_made_before_a_restart_come_back_in_a_new_kernel(tmp_path, monkeypatch,
                                                                   small_sandbox):
    """Reject a pair in one kernel, run the notebook in a fresh one: it reads as rejected.

    Both kernels use the same portal (decisions belong to a portal's host).
    """
    monkeypatch.setenv("B24_WEBHOOK_URL", small_sandbox.url)
    monkeypatch.setenv("B24NB_JOURNAL", str(tmp_path / "journal.sqlite"))
    first = nbformat.read(NOTEBOOK, as_version=4)
    inject_parameters(first, {"PRETICK": False})
    first.cells.append(nbformat.v4.new_code_cell(
        "row = picker.rows[0]\nrow.decision.value = 'reject'\n"
        "print('REJECTED=' + json.dumps([int(pairs.loc[row.pair_id, 'order_id']), "
        "int(pairs.loc[row.pair_id, 'deal_id'])]))"))
    first.cells[-1].source = "import json\n" + first.cells[-1].source
    _run(first, tmp_path)
    rejected = json.loads(outputs_text(first.cells[-1]).split("REJECTED=", 1)[1].split("\n")[0])

    second = nbformat.read(NOTEBOOK, as_version=4)
    inject_parameters(second, {"PRETICK": True})  # the top pair would arrive ticked
    second.cells.append(nbformat.v4.new_code_cell(
        f"import json\n_r = pairs[(pairs.order_id == {rejected[0]}) & "
        f"(pairs.deal_id == {rejected[1]})]\n"
        "print('AGAIN=' + json.dumps({'rows': len(_r), 'decisions': "
        "[str(d) for d in _r['decision']], 'ticked': bool(_r['selected'].fillna(False).any())}))"
        ))
    _run(second, tmp_path)
    assert "1 earlier decision(s)" in outputs_text(_cell(second, "r15-decided"))
    again = json.loads(outputs_text(second.cells[-1]).split("AGAIN=", 1)[1].split("\n")[0])
    # suggest(decisions=) drops it (issue 10), or it is shown rejected and never ticked
    assert again["rows"] == 0 or again["decisions"] == ["reject"]
    assert not again["ticked"]


def test_a_wrong_webhook_url_gives_one_line_in_the_notebook(tmp_path, small_sandbox,
                                                           monkeypatch):
    monkeypatch.setenv("B24NB_JOURNAL", str(tmp_path / "journal.sqlite"))
    wrong = small_sandbox.url.rstrip("/").rsplit("/", 1)[0] + "/wrongS3cretValue/"
    monkeypatch.setenv("B24_WEBHOOK_URL", wrong)
    nb = nbformat.read(NOTEBOOK, as_version=4)
    _run(nb, tmp_path)
    errors = [(i, o) for i, c in enumerate(nb.cells) for o in c.get("outputs", [])
              if o["output_type"] == "error"]
    first_index, first = errors[0]
    assert nb.cells[first_index].get("id") == "6214c3d0"  # the connect cell, not one later
    assert first["ename"] == "ConnectError"
    assert len(first["traceback"]) == 1
    assert "bad webhook secret" in first["traceback"][0]
    assert "wrongS3cretValue" not in json.dumps([c.get("outputs", []) for c in nb.cells])
