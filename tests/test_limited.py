"""The child process that ``xlnapkin recalc`` runs a workbook in (xlnapkin._limited)."""

from __future__ import annotations

import os
import re
import signal
import sys
import time

import pytest

from xlnapkin import _limited
from xlnapkin._limited import MemoryLimit, NotStarted, TimeLimit, run_limited
from xlnapkin.errors import CannotRunError, NapkinError


def _talk_and_return(n):
    print("to stdout", n)
    print("to stderr", n, file=sys.stderr)
    return {"n": n}


def _allocate(mb):
    return len(bytearray(int(mb * 1e6)))


def _raise(kind):
    if kind == "os":
        open("/no/such/folder/x.xlsx")
    if kind == "cannot":
        raise CannotRunError("some results are messages")
    raise ValueError("a crafted\nmulti-line\tmessage")


def _say_pid_and_sleep():
    print(f"pid={os.getpid()}", flush=True)
    time.sleep(600)


def _die(how):
    if how == "signal":
        os.kill(os.getpid(), signal.SIGKILL)
    os._exit(7)


def test_the_answer_and_what_the_child_prints_come_back(capsys):
    assert run_limited(_talk_and_return, 5, seconds=60, memory_mb=500) == {"n": 5}
    out, err = capsys.readouterr()
    assert out == "to stdout 5\n" and err == "to stderr 5\n"


def test_a_child_past_its_time_is_stopped():
    start = time.monotonic()
    with pytest.raises(TimeLimit, match=r"the nap took longer than 1 s and was stopped"):
        run_limited(time.sleep, 600, seconds=1, memory_mb=None, what="the nap")
    assert time.monotonic() - start < 30  # not the 600 s the child would have slept


@pytest.mark.skipif(not sys.platform.startswith("linux"), reason="RLIMIT_AS holds on Linux")
def test_a_child_past_its_memory_is_stopped():
    assert run_limited(_allocate, 50, seconds=60, memory_mb=200) == 50_000_000
    with pytest.raises(MemoryLimit, match=r"needed more than 200 MB of memory") as info:
        run_limited(_allocate, 20_000, seconds=60, memory_mb=200)
    assert info.value.limited
    # a limit past anything the system takes is no limit (it used to overflow a C long)
    assert run_limited(_allocate, 50, seconds=60, memory_mb=1e14) == 50_000_000


def test_running_out_of_memory_without_a_limit_says_so():
    with pytest.raises(MemoryLimit, match=r"^the sum ran out of memory$") as info:
        run_limited(_allocate, 1e8, seconds=60, memory_mb=None, what="the sum")  # 100 TB
    assert not info.value.limited


@pytest.mark.skipif(not sys.platform.startswith("linux"), reason="PR_SET_PDEATHSIG is Linux's")
def test_a_child_ends_when_its_parent_is_killed():
    # The parent holds the time limit, so a child it leaves behind would run without one.
    import subprocess
    code = ("import sys; sys.path.insert(0, sys.argv[1]); import test_limited as t; "
            "from xlnapkin._limited import run_limited; "
            "run_limited(t._say_pid_and_sleep, seconds=600, memory_mb=None)")
    parent = subprocess.Popen([sys.executable, "-c", code, os.path.dirname(__file__)],
                              stdout=subprocess.PIPE, text=True)
    try:
        child = int(parent.stdout.readline().removeprefix("pid="))
        parent.kill()
        parent.wait(30)
        deadline = time.monotonic() + 30
        while time.monotonic() < deadline and _running(child):
            time.sleep(0.1)
        assert not _running(child)
    finally:
        if parent.poll() is None:
            parent.kill()


def _running(pid: int) -> bool:
    try:
        with open(f"/proc/{pid}/stat") as f:
            return f.read().rsplit(")", 1)[1].split()[0] != "Z"  # a zombie has ended
    except FileNotFoundError:
        return False


def test_errors_come_back_as_the_command_line_reports_them():
    with pytest.raises(OSError) as info:
        run_limited(_raise, "os", seconds=60, memory_mb=None)
    assert info.value.filename == "/no/such/folder/x.xlsx" and info.value.strerror
    with pytest.raises(CannotRunError, match="some results are messages"):
        run_limited(_raise, "cannot", seconds=60, memory_mb=None)
    with pytest.raises(NapkinError, match=r"^a crafted multi-line message$"):
        run_limited(_raise, "key", seconds=60, memory_mb=None)


@pytest.mark.parametrize("how, said", [("signal", r"\(signal 9\)"), ("exit", r"\(exit code 7\)")])
def test_a_child_that_dies_without_an_answer_is_reported(how, said):
    with pytest.raises(MemoryLimit, match=said + " without an answer: most likely it ran out"):
        run_limited(_die, how, seconds=60, memory_mb=300)


@pytest.mark.skipif(not sys.platform.startswith("linux"), reason="a spawned child imports "
                    "_child afresh, so patching it here does not reach the child")
def test_a_child_that_cannot_start_is_told_apart(monkeypatch):
    def never_starts(conn, *args):
        conn.close()
    monkeypatch.setattr(_limited, "_child", never_starts)
    with pytest.raises(NotStarted, match="ended before it started"):
        run_limited(_talk_and_return, 1, seconds=60, memory_mb=None)


def test_the_spawned_child_of_macos_and_windows_answers_and_is_stopped(monkeypatch, capfd):
    # Off Linux the child is spawned (a fresh interpreter that imports the function by name)
    # rather than forked; the parent's side of that path runs here on Linux too.
    monkeypatch.setattr(_limited, "_LINUX", False)
    assert run_limited(_talk_and_return, 3, seconds=120, memory_mb=None) == {"n": 3}
    with pytest.raises(NapkinError, match=r"^a crafted multi-line message$"):
        run_limited(_raise, "key", seconds=120, memory_mb=None)
    start = time.monotonic()
    with pytest.raises(TimeLimit, match="took longer than 8 s"):
        run_limited(_say_pid_and_sleep, seconds=8, memory_mb=None)
    assert time.monotonic() - start < 60
    out, err = capfd.readouterr()
    assert "to stdout 3" in out and "to stderr 3" in err
    pid = re.search(r"^pid=(\d+)$", out, re.M)
    assert pid and not _running(int(pid.group(1)))  # the stopped child is gone


class _FakeKernel32:
    """Records the job-object calls :func:`_limited._tie_to_parent` makes on Windows."""

    def __init__(self, assign_ok=True):
        self.calls, self.assign_ok = [], assign_ok

    def CreateJobObjectW(self, attributes, name):
        self.calls.append(("create", attributes, name))
        return 4242

    def SetInformationJobObject(self, job, kind, info, size):
        limits = info._obj
        self.calls.append(("set", job, kind, limits.BasicLimitInformation.LimitFlags, size))
        return 1

    def AssignProcessToJobObject(self, job, process):
        self.calls.append(("assign", job, process))
        return 1 if self.assign_ok else 0

    def CloseHandle(self, handle):
        self.calls.append(("close", handle))
        return 1


@pytest.mark.parametrize("assign_ok", [True, False])
def test_on_windows_the_child_runs_in_a_job_that_ends_with_the_parent(monkeypatch, assign_ok):
    # Before: a Windows child whose parent was killed ran on with no time limit (the regex or
    # formula it was stuck in could take hours). A job object with KILL_ON_JOB_CLOSE ends it
    # when the parent's handle closes, which Windows does for a killed process too.
    import ctypes
    k32 = _FakeKernel32(assign_ok)
    monkeypatch.setattr(_limited, "_WINDOWS", True)
    monkeypatch.setattr(_limited, "_kernel32", lambda: k32)
    assert run_limited(_talk_and_return, 5, seconds=60, memory_mb=None) == {"n": 5}
    kinds = [c[0] for c in k32.calls]
    assert kinds == ["create", "set", "assign", "close"]
    _, job, kind, flags, size = k32.calls[1]
    assert (job, kind, flags) == (4242, 9, 0x2000)  # extended limits; kill on job close
    if ctypes.sizeof(ctypes.c_size_t) == 8:
        assert size == 144  # sizeof(JOBOBJECT_EXTENDED_LIMIT_INFORMATION) on 64-bit Windows
    assert k32.calls[2][1] == 4242 and isinstance(k32.calls[2][2], int)  # the child's handle
    assert k32.calls[3] == ("close", 4242)  # after the child ended (or when a failed assign)


def test_without_a_job_object_the_child_still_runs(monkeypatch):
    def no_kernel32():
        raise OSError("no kernel32 here")
    monkeypatch.setattr(_limited, "_WINDOWS", True)
    monkeypatch.setattr(_limited, "_kernel32", no_kernel32)
    assert run_limited(_talk_and_return, 6, seconds=60, memory_mb=None) == {"n": 6}
