"""Shared test fixtures: where the reference data beside the project lives."""

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
