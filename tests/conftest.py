"""Shared test set-up: no test touches the user's own control number ledger."""
from __future__ import annotations

import pytest


@pytest.fixture(autouse=True)
def _own_ledger(tmp_path, monkeypatch):
    """Every test counts interchange control numbers in its own ledger file (exports.ledger)."""
    monkeypatch.setenv("ECM_XL_LEDGER", str(tmp_path / "ledger.sqlite"))
