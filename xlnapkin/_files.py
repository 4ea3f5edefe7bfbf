"""Writing files safely: atomic replacement that never follows a planted link, XML-safe text, and
reproducible zip archives.

:func:`write_atomic` is how every xlnapkin writer should put bytes on disk. It writes an exclusive
temporary file with a random name in the target's folder (``O_CREAT | O_EXCL``, and
``O_NOFOLLOW`` where the system has it), flushes it to disk, then renames it over the target, so
a reader sees the old file or the new one, never half of one, and a failure leaves the target
untouched and no temporary file behind.

Symbolic links: a target that is a link is refused (:class:`SymlinkError`) unless the caller
passes ``follow_symlink=True``; then the file the link points to is replaced and the link stays
a link (``xlnapkin recalc --in-place`` on a link updates the workbook the link names). Either
way nothing is ever written *through* a link: the temporary file is created with
``O_EXCL``/``O_NOFOLLOW`` and the rename replaces a directory entry, so a link planted next to
the target (as the old fixed name ``<target>.xlnapkin-tmp``) or in place of it cannot redirect
the write.

No printing here: errors are :class:`FileWriteError` (a :class:`~xlnapkin.errors.NapkinError`)
with a message that names the path.
"""

from __future__ import annotations

import contextlib
import io
import os
import re
import secrets
import stat
import zipfile
from pathlib import Path

from .errors import NapkinError

__all__ = ["FileWriteError", "SymlinkError", "check_target", "write_atomic", "sanitize_text",
           "zip_bytes", "FIXED_ZIP_TIME"]

#: The zip entry time of reproducible archives (the template workbooks use the same).
FIXED_ZIP_TIME = (2020, 1, 1, 0, 0, 0)

_TMP_SUFFIX = ".xlnapkin-tmp"


class FileWriteError(NapkinError):
    """A file that cannot be written where or as asked."""


class SymlinkError(FileWriteError):
    """A target that is a symbolic link, when the caller did not ask to follow links."""


def check_target(path, *, follow_symlink: bool = False) -> Path:
    """The path that :func:`write_atomic` would replace, checked before any work is done.

    Raises :class:`FileWriteError` when the folder is missing or not a folder, or the target is
    a folder, and :class:`SymlinkError` when the target is a link and ``follow_symlink`` is
    false. With ``follow_symlink`` a link resolves to the file it names (which must be in an
    existing folder too).
    """
    path = Path(path)
    if path.is_symlink():
        if not follow_symlink:
            raise SymlinkError(f"{path} is a symbolic link; not writing through it (remove the "
                               "link or name the file it points to)")
        path = Path(os.path.realpath(path))
    folder = path.parent
    if not folder.exists():
        raise FileWriteError(f"folder {folder} does not exist (for {path.name})")
    if not folder.is_dir():
        raise FileWriteError(f"{folder} is not a folder (for {path.name})")
    if path.is_dir():
        raise FileWriteError(f"{path} is a folder, not a file")
    # the folder takes a file (a CLI audit: /proc was found unwritable after the work): one
    # exclusive file named as write_atomic names its own, so a stopped run's cleanup finds it
    for _ in range(100):
        probe = path.with_name(f".{path.name}.{os.urandom(8).hex()}{_TMP_SUFFIX}")
        try:
            fd = os.open(probe, os.O_WRONLY | os.O_CREAT | os.O_EXCL
                         | getattr(os, "O_NOFOLLOW", 0), 0o600)
            break
        except FileExistsError:  # a name taken (or planted): another
            continue
        except OSError as exc:
            raise FileWriteError(f"cannot write in {folder}: {exc.strerror or exc}") from None
    else:
        raise FileWriteError(f"cannot write in {folder}: no free temporary name")
    with contextlib.suppress(OSError):
        os.close(fd)
    with contextlib.suppress(OSError):  # a scanner holding it a moment leaves it to cleanup
        os.unlink(probe)
    return path


def write_atomic(path, data: bytes, *, follow_symlink: bool = False) -> Path:
    """Replace ``path`` with ``data`` atomically; return the path written (the link's target when
    ``follow_symlink`` resolved a link).

    The bytes go to an exclusive temporary file with a random name in the same folder, are
    flushed to disk, and the temporary file is renamed over the target. An existing target's
    permission bits are kept. On any failure the temporary file is removed and the target is as
    it was.
    """
    target = check_target(path, follow_symlink=follow_symlink)
    try:
        mode = stat.S_IMODE(os.stat(target, follow_symlinks=False).st_mode)
    except FileNotFoundError:
        mode = None
    flags = (os.O_WRONLY | os.O_CREAT | os.O_EXCL | getattr(os, "O_NOFOLLOW", 0)
             | getattr(os, "O_BINARY", 0) | getattr(os, "O_CLOEXEC", 0))
    tmp = fd = None
    for _ in range(100):
        tmp = target.with_name(f".{target.name}.{secrets.token_hex(8)}{_TMP_SUFFIX}")
        try:
            fd = os.open(tmp, flags, 0o666 if mode is None else 0o600)
            break
        except FileExistsError:
            continue
        except OSError as exc:
            raise FileWriteError(f"cannot write in {target.parent}: "
                                 f"{exc.strerror or exc}") from exc
    if fd is None:
        raise FileWriteError(f"cannot create a temporary file in {target.parent}")
    try:
        with os.fdopen(fd, "wb") as f:
            fd = None
            f.write(data)
            f.flush()
            if mode is not None and hasattr(os, "fchmod"):
                os.fchmod(f.fileno(), mode)
            os.fsync(f.fileno())
        if target.is_symlink():  # planted while we wrote: the rename would replace the link
            raise SymlinkError(f"{target} became a symbolic link while writing; not replacing it")
        os.replace(tmp, target)
        tmp = None
    except OSError as exc:
        raise FileWriteError(f"cannot write {target}: {exc.strerror or exc}") from exc
    finally:
        if fd is not None:
            os.close(fd)
        if tmp is not None:
            try:
                os.unlink(tmp)
            except OSError:
                pass
    _fsync_folder(target.parent)
    return target


def _fsync_folder(folder: Path) -> None:
    """Make the rename durable where the system allows opening a folder (POSIX)."""
    if os.name != "posix":
        return
    try:
        fd = os.open(folder, os.O_RDONLY | getattr(os, "O_DIRECTORY", 0))
    except OSError:
        return
    try:
        os.fsync(fd)
    except OSError:
        pass
    finally:
        os.close(fd)


# Characters XML 1.0 cannot hold: C0 controls except tab, LF and CR; lone surrogates; U+FFFE/F.
_NOT_XML = re.compile("[^\t\n\r\u0020-\ud7ff\ue000-\ufffd\U00010000-\U0010ffff]")


def sanitize_text(text: str) -> str:
    """``text`` without the characters an XML 1.0 file cannot hold (control characters other
    than tab, line feed and carriage return; lone surrogates; U+FFFE and U+FFFF), so a workbook
    that stores it stays readable.

    >>> sanitize_text("a\\x00b\\x1bc\\tz")
    'abc\\tz'
    """
    return _NOT_XML.sub("", text)


def zip_bytes(members: dict[str, bytes], *, date_time: tuple = FIXED_ZIP_TIME) -> bytes:
    """A zip archive of ``members`` (``{name: bytes}``) whose bytes depend only on the members:
    entries in sorted order with ``[Content_Types].xml`` first (where an Office file must
    start), every one with the same timestamp, Unix ``rw-r--r--`` permissions (whatever the
    building system) and deflate level 9. The one writer of every archive xlnapkin builds:
    workbooks, the Lite bundle, the release zip.

    >>> a = zip_bytes({"b.txt": b"2", "a.txt": b"1"})
    >>> a == zip_bytes({"a.txt": b"1", "b.txt": b"2"})
    True
    >>> zipfile.ZipFile(io.BytesIO(a)).namelist()
    ['a.txt', 'b.txt']
    """
    names = sorted(members, key=lambda n: (n != "[Content_Types].xml", n))
    buf = io.BytesIO()
    with zipfile.ZipFile(buf, "w", zipfile.ZIP_DEFLATED) as zout:
        for name in names:
            info = zipfile.ZipInfo(name, date_time=date_time)
            info.compress_type = zipfile.ZIP_DEFLATED
            info.create_system = 3
            info.external_attr = 0o100644 << 16
            zout.writestr(info, members[name], compresslevel=9)
    return buf.getvalue()
