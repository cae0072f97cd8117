"""b24nb: reconcile Bitrix24 CRM deals with online-store orders from a notebook.

The top level only re-exports. Names are imported lazily, so ``import b24nb`` stays cheap
and does not pull in ipywidgets or start anything until a name is used.
"""

from __future__ import annotations

import importlib
from typing import Any

__version__ = "0.1.0"

# public name -> module that owns it
_EXPORTS: dict[str, str] = {
    "connect": "b24nb.portal",
    "Portal": "b24nb.portal",
    "load_deals": "b24nb.load",
    "load_orders": "b24nb.load",
    "load_bindings": "b24nb.load",
    "load_all": "b24nb.load",
    "suggest": "b24nb.match",
    "review": "b24nb.widgets",
    "MatchPicker": "b24nb.widgets",
    "bind": "b24nb.binding",
    "unbind": "b24nb.binding",
    "history": "b24nb.journal",
    "Journal": "b24nb.journal",
    "errors": "b24nb.errors",
    "sandbox": "b24nb.sandbox",
    "decisions": "b24nb.journal.verdicts",
    "apply_decisions": "b24nb.journal.verdicts",
    "export_log": "b24nb.report",
    "run_summary": "b24nb.report",
    "unmatched_orders": "b24nb.report",
    "plot_scores": "b24nb.charts",
    "plot_outcomes": "b24nb.charts",
    "load_invoices": "b24nb.load",
    "health": "b24nb.linkage",
    "empty_shells": "b24nb.linkage",
    "move_shells": "b24nb.linkage",
    "undo_shells": "b24nb.linkage",
}

__all__ = sorted(_EXPORTS)


def __getattr__(name: str) -> Any:
    module = _EXPORTS.get(name)
    if module is None:
        raise AttributeError(f"module 'b24nb' has no attribute {name!r}")
    mod = importlib.import_module(module)
    value = mod if module.endswith("." + name) else getattr(mod, name)
    globals()[name] = value
    return value


def __dir__() -> list[str]:
    return sorted(set(globals()) | set(__all__))
