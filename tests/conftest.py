"""Shared test fixtures: where the reference data beside the project lives, one release build,
and the long sweeps (marked ``slow``) that run only where the environment variable CI is set."""

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


@pytest.fixture(scope="session")
def release(tmp_path_factory):
    """One release build (wheel, installer, Lite files, workbooks) shared by the tests."""
    from xlnapkin.release import build_release
    return build_release(tmp_path_factory.mktemp("release"), root=REPO)


def pytest_collection_modifyitems(config, items):
    """Skip the long sweeps outside CI (``.ci/run`` sets CI=true; so can you)."""
    if os.environ.get("CI"):
        return
    skip = pytest.mark.skip(reason="long sweep: runs where CI is set (CI=true pytest ...)")
    for item in items:
        if "slow" in item.keywords:
            item.add_marker(skip)
