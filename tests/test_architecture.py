"""The import rules of docs/architecture.md, checked on the source itself.

Why a test: an arrow that must never exist (the client importing pandas, ``match`` reaching
for the network, the emulator sharing code with the client it is meant to test) creeps in one
harmless-looking import at a time. Reading the imports with ``ast`` catches it the day it is
written. Imports under ``if TYPE_CHECKING:`` do not run and are not counted; imports inside
functions do run and are counted like any other.
"""

from __future__ import annotations

import ast
import re
from collections.abc import Iterator
from pathlib import Path

import pytest

SRC = Path(__file__).resolve().parents[1] / "src"
PKG = SRC / "b24nb"

#: the client: HTTP, auth, limits, batching, listing. It knows nothing of frames.
CLIENT = (
    "b24nb.portal", "b24nb.auth", "b24nb.transport", "b24nb.wire", "b24nb.limits",
    "b24nb.batching", "b24nb.listing", "b24nb.stats", "b24nb.errors", "b24nb.redact",
)
#: who may start the emulator: connect() (in portal), the CLI's `b24nb sandbox`, test helpers
SANDBOX_USERS = ("b24nb.portal", "b24nb.cli", "b24nb.testing")
#: who may import requests: the transport; the test helpers' raw caller (a client-independent
#: way for tests to talk to the sandbox as "someone else")
REQUESTS_USERS = ("b24nb.transport", "b24nb.testing")


def _module_name(path: Path) -> str:
    rel = path.relative_to(SRC).with_suffix("")
    parts = list(rel.parts)
    if parts[-1] == "__init__":
        parts.pop()
    return ".".join(parts)


def _modules() -> dict[str, Path]:
    return {_module_name(p): p for p in PKG.rglob("*.py")}


MODULES = _modules()


def _in(name: str, prefixes: tuple[str, ...] | str) -> bool:
    prefixes = (prefixes,) if isinstance(prefixes, str) else prefixes
    return any(name == p or name.startswith(p + ".") for p in prefixes)


def _is_type_checking(node: ast.If) -> bool:
    test = node.test
    return (isinstance(test, ast.Name) and test.id == "TYPE_CHECKING") or (
        isinstance(test, ast.Attribute) and test.attr == "TYPE_CHECKING"
    )


def _walk(tree: ast.AST, typing: bool) -> Iterator[ast.AST]:
    """Every node, less those under ``if TYPE_CHECKING:`` unless ``typing``."""
    stack = [tree]
    while stack:
        node = stack.pop()
        yield node
        for child in ast.iter_child_nodes(node):
            if not typing and isinstance(child, ast.If) and _is_type_checking(child):
                stack.extend(child.orelse)
                continue
            stack.append(child)


def _resolve(module: str, level: int, here: str, is_pkg: bool) -> str:
    if not level:
        return module
    base = here.split(".") if is_pkg else here.split(".")[:-1]
    base = base[: len(base) - (level - 1)]
    return ".".join([*base, module] if module else base)


def imports(name: str, *, typing: bool = False) -> set[str]:
    """Top-level names and b24nb modules that module ``name`` imports at run time.

    With ``typing``, also those imported only for type checking.
    """
    path = MODULES[name]
    tree = ast.parse(path.read_text(encoding="utf-8"))
    is_pkg = path.name == "__init__.py"
    out: set[str] = set()
    for node in _walk(tree, typing):
        if isinstance(node, ast.Import):
            out.update(a.name for a in node.names)
        elif isinstance(node, ast.ImportFrom):
            target = _resolve(node.module or "", node.level, name, is_pkg)
            for alias in node.names:
                sub = f"{target}.{alias.name}"
                out.add(sub if sub in MODULES else target)
    return out


#: who imports whom, type-only imports included: a circle closed only by a type hint still
#: means a type lives in the wrong module
GRAPH = {name: {m for m in imports(name, typing=True) if m in MODULES} for name in MODULES}


def _cycles() -> list[list[str]]:
    """Strongly connected components of more than one module (Tarjan)."""
    index: dict[str, int] = {}
    low: dict[str, int] = {}
    stack: list[str] = []
    on: set[str] = set()
    found: list[list[str]] = []
    counter = [0]

    def visit(v: str) -> None:
        index[v] = low[v] = counter[0]
        counter[0] += 1
        stack.append(v)
        on.add(v)
        for w in GRAPH[v]:
            if w not in index:
                visit(w)
                low[v] = min(low[v], low[w])
            elif w in on:
                low[v] = min(low[v], index[w])
        if low[v] == index[v]:
            comp = []
            while True:
                w = stack.pop()
                on.discard(w)
                comp.append(w)
                if w == v:
                    break
            if len(comp) > 1:
                found.append(sorted(comp))

    for v in sorted(GRAPH):
        if v not in index:
            visit(v)
    return found


def _violations(rule) -> list[str]:
    return sorted(f"{m} imports {t}" for m in MODULES for t in imports(m) if rule(m, t))


def test_source_tree_is_found():
    # guards the other tests against passing on an empty tree
    assert {"b24nb.portal", "b24nb.transport", "b24nb.match", "b24nb.sandbox"} <= set(MODULES)
    assert "requests" in imports("b24nb.transport")


def test_no_import_cycles_between_modules():
    assert _cycles() == []


def test_only_the_transport_imports_requests():
    assert _violations(lambda m, t: _in(t, "requests") and not _in(m, REQUESTS_USERS)) == []


def test_sandbox_imports_nothing_of_the_client():
    bad = _violations(
        lambda m, t: _in(m, "b24nb.sandbox") and _in(t, "b24nb") and not _in(t, "b24nb.sandbox")
    )
    assert bad == []


def test_only_connect_cli_and_testing_import_the_sandbox():
    bad = _violations(
        lambda m, t: _in(t, "b24nb.sandbox")
        and not _in(m, "b24nb.sandbox")
        and not _in(m, SANDBOX_USERS)
    )
    assert bad == []


def test_match_imports_nothing_of_the_client_or_the_network():
    net = (*CLIENT[:-2], "requests", "urllib3", "http", "socket", "b24nb.binding")
    assert _violations(lambda m, t: _in(m, "b24nb.match") and _in(t, net)) == []


def test_the_client_imports_no_pandas():
    assert _violations(lambda m, t: _in(m, CLIENT) and _in(t, ("pandas", "numpy"))) == []


def test_the_library_does_not_import_its_test_helpers():
    bad = _violations(
        lambda m, t: _in(t, "b24nb.testing") and not _in(m, "b24nb.testing")
    )
    assert bad == []


def test_the_pairs_contract_imports_nothing_of_b24nb_outside_itself():
    parts = [m for m in MODULES if _in(m, "b24nb.pairs")]
    assert {"b24nb.pairs", "b24nb.pairs.contract", "b24nb.pairs.log"} <= set(parts)
    outside = {(m, t) for m in parts for t in imports(m, typing=True)
               if t.startswith("b24nb") and not _in(t, "b24nb.pairs")}
    assert outside == set()


def test_no_module_restates_the_statuses_or_owner_names():
    """The contract's words are spelled in ``pairs`` only (a tuple of three statuses or an
    owner-name table elsewhere is the contract restated, and drifts)."""
    restated = re.compile(r"""\(\s*"failed",\s*"needs_rebind",\s*"skipped"\s*\)|"""
                          r"""\{\s*2:\s*"deal",|frozenset\(\{\s*"bound",""")
    bad = [name for name, path in MODULES.items() if name != "b24nb.pairs.contract"
           and restated.search(path.read_text(encoding="utf-8"))]
    assert bad == []


@pytest.mark.parametrize("part", ["b24nb.journal"])
def test_lower_parts_do_not_import_binding_or_widgets(part):
    if part not in MODULES:
        pytest.fail(f"{part} is missing")
    bad = _violations(
        lambda m, t: _in(m, part) and _in(t, ("b24nb.binding", "b24nb.widgets"))
    )
    assert bad == []


#: the size limits of issue 12 ("no module over ~400 lines, no function over ~60 lines or 12
#: branches without a written reason"); branches and arguments are ruff's C901/PLR0912/PLR0913
MAX_MODULE_LINES = 400
MAX_FUNCTION_LINES = 60


def test_no_module_is_over_400_lines():
    sizes = {name: len(path.read_text(encoding="utf-8").splitlines())
             for name, path in MODULES.items()}
    assert {n: s for n, s in sizes.items() if s > MAX_MODULE_LINES} == {}


def test_no_function_is_over_60_lines_without_a_written_reason():
    """A body (docstring aside) over 60 lines needs ``# long: <why>`` on its ``def`` line."""
    long: list[str] = []
    for name, path in MODULES.items():
        text = path.read_text(encoding="utf-8")
        lines = text.splitlines()
        for node in ast.walk(ast.parse(text)):
            if not isinstance(node, ast.FunctionDef | ast.AsyncFunctionDef):
                continue
            body = node.body
            has_doc = (isinstance(body[0], ast.Expr) and isinstance(body[0].value, ast.Constant)
                       and isinstance(body[0].value.value, str))
            first = body[1] if has_doc and len(body) > 1 else body[0]
            size = (node.end_lineno or node.lineno) - first.lineno + 1
            header = "\n".join(lines[node.lineno - 1:first.lineno - 1])
            if size > MAX_FUNCTION_LINES and not re.search(r"# long: \S", header):
                long.append(f"{name}.{node.name} ({size} lines)")
    assert long == []


def test_callers_match_error_classes_not_code_strings():
    """``exc.code == "..."`` outside the exception tree is a class the tree should have."""
    compare = re.compile(r"""\.code\s*(==|!=|in)\s|code\s*(==|!=)\s*["']""")
    bad = [name for name, path in MODULES.items()
           if not _in(name, ("b24nb.errors", "b24nb.sandbox"))
           and compare.search(path.read_text(encoding="utf-8"))]
    assert bad == []
