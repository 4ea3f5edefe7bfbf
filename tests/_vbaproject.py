"""Office files with a VBA project, made for tests: an xlwings add-in of any version, a workbook
whose functions xlwings' Import Functions put there. Written by the formats' specifications
([MS-CFB] compound file, [MS-OVBA] compression with literal tokens only), independently of the
reader in ``xlnapkin/_vba.py``."""

from __future__ import annotations

import io
import struct
import zipfile

END, FREE, FAT_SECTOR = 0xFFFFFFFE, 0xFFFFFFFF, 0xFFFFFFFD


def compress(data: bytes) -> bytes:
    """[MS-OVBA] 2.4.1 container: signature 1, then one chunk per 3,640 bytes, every token a
    literal (a flag byte 0 before each eight bytes; 3,640 + 455 + 2 fits a chunk's 4,098)."""
    out = bytearray(b"\x01")
    for i in range(0, len(data), 3640):
        part, body = data[i:i + 3640], bytearray()
        for j in range(0, len(part), 8):
            body += b"\x00" + part[j:j + 8]
        out += struct.pack("<H", 0xB000 | (len(body) + 2 - 3)) + body
    return bytes(out)


def _record(rid: int, body: bytes) -> bytes:
    return struct.pack("<HI", rid, len(body)) + body


def dir_stream(modules: list[str], cache: int) -> bytes:
    """The ``dir`` stream: a few project records, then per module its name, stream name and the
    offset of its source (after ``cache`` bytes of performance cache)."""
    out = _record(0x0001, struct.pack("<I", 3))  # PROJECTSYSKIND: 64-bit Windows
    # PROJECTVERSION: a reserved 4 where a size would be, then 6 bytes (major, minor)
    out += struct.pack("<HI", 0x0009, 4) + struct.pack("<IH", 0x65BE0257, 0x0011)
    out += _record(0x0003, struct.pack("<H", 1252))  # PROJECTCODEPAGE
    out += _record(0x000F, struct.pack("<H", len(modules))) + _record(0x0013, b"\xff\xff")
    for name in modules:
        raw = name.encode("latin-1")
        out += _record(0x0019, raw) + _record(0x0047, name.encode("utf-16-le"))
        out += _record(0x001A, raw) + _record(0x0032, name.encode("utf-16-le"))
        out += _record(0x0031, struct.pack("<I", cache))
        out += _record(0x0021, b"") + _record(0x002B, b"")
    return out + _record(0x0010, b"")


def _entry(name: str, kind: int, child=FREE, right=FREE, start=END, size=0) -> bytes:
    raw = (name + "\0").encode("utf-16-le") if name else b""
    return (raw.ljust(64, b"\0") + struct.pack("<HBB3I", len(raw), kind, 1, FREE, right, child)
            + bytes(16 + 4 + 16) + struct.pack("<IQ", start, size))


def compound_file(path: tuple[str, ...], streams: dict[str, bytes]) -> bytes:
    """An OLE compound file (version 3, 512-byte sectors): the root holds the storages of
    ``path``, one inside the other, and the last holds ``streams`` (each under 4,096 bytes: all
    in the mini stream)."""
    mini, minifat, places = bytearray(), [], []
    for data in streams.values():
        assert 0 < len(data) < 4096
        first, count = len(mini) // 64, -(-len(data) // 64)
        places.append((first, len(data)))
        mini += data.ljust(count * 64, b"\0")
        minifat += [first + k + 1 for k in range(count - 1)] + [END]
    names = list(streams)
    entries = [_entry("Root Entry", 5, child=1)]
    entries += [_entry(name, 1, child=len(entries) + i + 1) for i, name in enumerate(path)]
    first_stream = len(entries)
    for i, name in enumerate(names):
        right = first_stream + i + 1 if i + 1 < len(names) else FREE
        entries.append(_entry(name, 2, right=right, start=places[i][0], size=places[i][1]))
    directory = b"".join(entries)
    directory += _entry("", 0) * (-len(entries) % 4)
    minifat_bytes = struct.pack(f"<{len(minifat)}I", *minifat)
    minifat_bytes += b"\xff" * (-len(minifat_bytes) % 512)
    mini_bytes = bytes(mini) + b"\0" * (-len(mini) % 512)
    n_dir, n_minifat = len(directory) // 512, len(minifat_bytes) // 512
    n_mini = len(mini_bytes) // 512
    # sector 0: the FAT; then the directory, the mini FAT and the mini stream, each a chain
    fat, first = [FAT_SECTOR], {}
    for part, count in (("dir", n_dir), ("minifat", n_minifat), ("mini", n_mini)):
        first[part] = len(fat)
        fat += [len(fat) + k + 1 for k in range(count - 1)] + [END]
    assert len(fat) <= 128
    fat += [FREE] * (128 - len(fat))
    root = bytearray(entries[0])
    struct.pack_into("<IQ", root, 116, first["mini"], len(mini))
    directory = bytes(root) + directory[128:]
    header = (bytes.fromhex("d0cf11e0a1b11ae1") + bytes(16)
              + struct.pack("<HHHHH", 0x3E, 3, 0xFFFE, 9, 6) + bytes(6)
              + struct.pack("<9I", 0, 1, first["dir"], 0, 4096, first["minifat"], n_minifat,
                            END, 0)
              + struct.pack("<109I", 0, *([FREE] * 108)))
    assert len(header) == 512
    return (header + struct.pack("<128I", *fat) + directory + minifat_bytes + mini_bytes)


def vba_project(modules: dict[str, str], cache: bytes = b"\xcc" * 10,
                path: tuple[str, ...] = ("VBA",)) -> bytes:
    """``vbaProject.bin`` with these modules (name: source), each source after ``cache``; with
    ``path=("_VBA_PROJECT_CUR", "VBA")`` the VBA part of a binary .xls."""
    streams = {"dir": compress(dir_stream(list(modules), len(cache)))}
    for name, source in modules.items():
        streams[name] = cache + compress(source.replace("\n", "\r\n").encode("cp1252"))
    return compound_file(path, streams)


def office_file(modules: dict[str, str] | None, base: bytes | None = None) -> bytes:
    """A zip (an .xlam or .xlsm) holding ``xl/vbaProject.bin`` with ``modules``; ``base``: the
    members of another Open XML file to start from (say, a workbook openpyxl wrote)."""
    buf = io.BytesIO()
    with zipfile.ZipFile(buf, "w") as zf:
        if base is not None:
            with zipfile.ZipFile(io.BytesIO(base)) as src:
                for name in src.namelist():
                    zf.writestr(name, src.read(name))
        else:
            zf.writestr("[Content_Types].xml", "<Types/>")
        if modules is not None:
            zf.writestr("xl/vbaProject.bin", vba_project(modules))
    return buf.getvalue()


def xlwings_addin(version: str) -> bytes:
    """An add-in whose Main module names ``version`` as xlwings' release build writes it."""
    return office_file({"Main": (
        'Attribute VB_Name = "Main"\nOption Explicit\n'
        f'        Const XLPyDLLName As String = "xlwings64-{version}.dll"\n'
        f'Public Const XLWINGS_VERSION As String = "{version}"\n')})


def imported_functions(*modules: str) -> str:
    """The ``xlwings_udfs`` module Import Functions writes: one function per module here."""
    lines = ['Attribute VB_Name = "xlwings_udfs"',
             "'Autogenerated code by xlwings - changes will be lost with next import!"]
    for i, module in enumerate(modules):
        lines += [f"Function f{i}(x)",
                  "        If TypeOf Application.Caller Is Range Then On Error GoTo failed",
                  f'        f{i} = XLPy.CallUDF("{module}", "f{i}", Array(x), ThisWorkbook, '
                  "Application.Caller)",
                  "        Exit Function", "failed:", f"        f{i} = Err.Description",
                  "End Function"]
    return "\n".join(lines) + "\n"
