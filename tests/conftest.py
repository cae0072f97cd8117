"""Shared fixtures: every test talks HTTP to a real sandbox portal on 127.0.0.1."""

from __future__ import annotations

from collections.abc import Iterator

import pytest


@pytest.fixture
def small_sandbox() -> Iterator:
    """A small demo portal with limits off: fast, for behaviour tests."""
    from b24nb.sandbox import Sandbox

    with Sandbox(seed=1, n_deals=200, n_orders=240, limits=False, latency=False) as sb:
        yield sb


@pytest.fixture
def journal_path(tmp_path, monkeypatch):
    """Each test gets its own journal file; nothing touches ~/.b24nb."""
    path = tmp_path / "journal.sqlite"
    monkeypatch.setenv("B24NB_JOURNAL", str(path))
    return path


@pytest.fixture(autouse=True)
def _cache_dir(tmp_path_factory, monkeypatch):
    """Warm-reload caches (``cache=True``, the notebook) go to a temporary folder."""
    monkeypatch.setenv("B24NB_CACHE", str(tmp_path_factory.mktemp("b24nb-cache")))
