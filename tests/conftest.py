"""Shared test fixtures: where the reference data beside the project lives."""

import os
from pathlib import Path

import pytest

REPO = Path(__file__).resolve().parents[1]
SHARED = REPO.parent / "shared"


@pytest.fixture
def shared_data():
    """The shared reference data folder; skipped where a bare checkout has none."""
    folder = SHARED / "data"
    if not folder.is_dir():
        pytest.skip("../shared/data is not beside this checkout")
    return folder


def pytest_collection_modifyitems(config, items):
    """Tests marked ``slow`` (long random sweeps) run only in CI (the CI variable set)."""
    if os.environ.get("CI"):
        return
    skip = pytest.mark.skip(reason="slow sweep: runs only in CI (set CI=true to run it)")
    for item in items:
        if "slow" in item.keywords:
            item.add_marker(skip)
