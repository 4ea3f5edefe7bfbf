"""Shared test fixtures: where the reference data beside the project lives, one release build,
and the long sweeps (marked ``slow``) that run only where the environment variable CI is set."""

import os
import threading
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


def run(capsys, *argv, cwd=None):
    """The command line in-process: (exit code, stdout, stderr); ``cwd`` runs it there."""
    import contextlib
    from xlnapkin import cli
    with contextlib.chdir(cwd) if cwd is not None else contextlib.nullcontext():
        try:
            code = cli.main([str(a) for a in argv])
        except SystemExit as exc:
            code = exc.code
    out, err = capsys.readouterr()
    return code, out, err


def in_threads(work, n=4):
    """Run ``work()`` in ``n`` threads at once and wait for all of them."""
    threads = [threading.Thread(target=work) for _ in range(n)]
    for t in threads:
        t.start()
    for t in threads:
        t.join()


def template_with_catalog_edit(tmp_path, template, field, gpu_id, value):
    """A fresh build of ``template`` with one GPU's Catalog cell in column ``field`` set to
    ``value``, saved as a user who typed it into the Catalog sheet would: its path."""
    import re

    import openpyxl

    from xlnapkin import catalog
    from xlnapkin.templates import build
    wb = openpyxl.load_workbook(build(template, tmp_path, values=False))
    sheet, ref = next(wb.defined_names[f"gpu_{field}"].destinations)
    column, first = re.match(r"\$([A-Z]+)\$(\d+)", ref).groups()
    wb[sheet][f"{column}{int(first) + catalog.gpu_ids().index(gpu_id)}"] = value
    edited = tmp_path / "edited.xlsx"
    wb.save(edited)
    return edited
