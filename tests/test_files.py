"""``xlnapkin._files``: atomic writes that never follow a planted link, XML-safe text,
reproducible zips."""

from __future__ import annotations

import io
import os
import stat
import zipfile

import pytest

from xlnapkin import _files
from xlnapkin._files import FileWriteError, SymlinkError, sanitize_text, write_atomic, zip_bytes
from xlnapkin.errors import NapkinError

posix_only = pytest.mark.skipif(os.name != "posix", reason="symbolic links and modes: POSIX")


def leftovers(folder):
    return sorted(p.name for p in folder.iterdir() if p.name.endswith(".xlnapkin-tmp"))


def test_write_atomic_writes_and_replaces(tmp_path):
    target = tmp_path / "a.bin"
    assert write_atomic(target, b"one") == target
    assert write_atomic(target, b"two") == target
    assert target.read_bytes() == b"two" and leftovers(tmp_path) == []


@posix_only
def test_a_link_is_refused_unless_followed(tmp_path):
    real = tmp_path / "real.bin"
    real.write_bytes(b"precious")
    link = tmp_path / "link.bin"
    link.symlink_to(real)
    with pytest.raises(SymlinkError, match=f"^{link} is a symbolic link; not writing through"):
        write_atomic(link, b"new")
    assert real.read_bytes() == b"precious" and link.is_symlink()
    assert issubclass(SymlinkError, NapkinError)

    assert write_atomic(link, b"new", follow_symlink=True) == real
    assert real.read_bytes() == b"new" and link.is_symlink() and leftovers(tmp_path) == []


@posix_only
def test_a_link_planted_at_the_temporary_name_is_never_followed(tmp_path, monkeypatch):
    victim = tmp_path / "victim"
    victim.write_bytes(b"precious")
    tokens = iter(["guessed", "fresh"])
    monkeypatch.setattr(_files.secrets, "token_hex", lambda n: next(tokens))
    planted = tmp_path / ".out.bin.guessed.xlnapkin-tmp"
    planted.symlink_to(victim)
    write_atomic(tmp_path / "out.bin", b"data")
    assert victim.read_bytes() == b"precious" and planted.is_symlink()
    assert (tmp_path / "out.bin").read_bytes() == b"data"
    assert not (tmp_path / "out.bin").is_symlink()


def test_a_failed_write_leaves_the_target_and_no_temporary_file(tmp_path, monkeypatch):
    target = tmp_path / "a.bin"
    target.write_bytes(b"old")

    def full(src, dst):
        raise OSError(28, "No space left on device")
    monkeypatch.setattr(os, "replace", full)
    with pytest.raises(FileWriteError, match=f"cannot write {target}: No space left on device"):
        write_atomic(target, b"new")
    assert target.read_bytes() == b"old" and leftovers(tmp_path) == []


def test_a_missing_folder_or_a_folder_target_is_named(tmp_path):
    with pytest.raises(FileWriteError, match=f"folder {tmp_path / 'no'} does not exist"):
        write_atomic(tmp_path / "no" / "a.bin", b"x")
    with pytest.raises(FileWriteError, match=f"{tmp_path} is a folder, not a file"):
        write_atomic(tmp_path, b"x")
    (tmp_path / "f").write_bytes(b"")
    with pytest.raises(FileWriteError, match="is not a folder"):
        _files.check_target(tmp_path / "f" / "a.bin")


@posix_only
def test_permission_bits_of_a_replaced_file_are_kept(tmp_path):
    target = tmp_path / "a.bin"
    target.write_bytes(b"old")
    target.chmod(0o640)
    write_atomic(target, b"new")
    assert stat.S_IMODE(target.stat().st_mode) == 0o640


def test_sanitize_text_drops_what_xml_cannot_hold():
    assert sanitize_text("a\x00b\x01c\x1fd\x7f") == "abcd\x7f"
    assert sanitize_text("tab\tline\ncr\r") == "tab\tline\ncr\r"
    assert sanitize_text("x\ud800y\ufffez\uffff") == "xyz"
    assert sanitize_text("H100 \u2014 \U0001f680") == "H100 \u2014 \U0001f680"


def test_zip_bytes_is_reproducible_and_orders_content_types_first():
    members = {"xl/b.xml": b"2", "[Content_Types].xml": b"t", "_rels/.rels": b"r",
               "xl/a.xml": b"1"}
    data = zip_bytes(members)
    assert data == zip_bytes(dict(reversed(list(members.items()))))
    z = zipfile.ZipFile(io.BytesIO(data))
    assert z.namelist() == ["[Content_Types].xml", "_rels/.rels", "xl/a.xml", "xl/b.xml"]
    assert {i.date_time for i in z.infolist()} == {_files.FIXED_ZIP_TIME}
    assert {n: z.read(n) for n in z.namelist()} == members
