"""Run a function in a child process, stopped at a wall-clock limit and, on Linux, a memory limit.

``xlnapkin recalc`` reads workbooks that someone sent. Its in-process checks
(:class:`xlnapkin.recalc.Limits`) refuse what can be counted before calculating, but some formulas
spend their time or memory inside ``formulas``, NumPy or a regular-expression engine where no
check runs: ``MATCH`` with a wildcard pattern over long texts backtracks for hours,
``MUNIT(50000)`` asks for 20 GB, a pattern with nested counted repeats compiles to gigabytes. So
the command runs the whole load and recalculation in a child process and the parent ends it at
the limit; what the child prints reaches the parent's ``sys.stdout`` and ``sys.stderr`` as it is
printed.

The memory limit is the address space the child may add to what it holds when it starts
(``RLIMIT_AS``), so it holds where the kernel enforces that: Linux. Elsewhere only the time
limit holds. The child is forked on Linux (it inherits the modules already imported, so it
starts in milliseconds) and spawned elsewhere.

The time limit is the parent's to enforce, so the child must not outlive a parent that is
killed: on Linux the kernel sends it a signal then (``PR_SET_PDEATHSIG``), elsewhere on POSIX a
CPU-time limit ends it, and on Windows it runs in a job object that ends it when the parent's
handle to the job closes, as every handle does when a process ends however it ends
(``JOB_OBJECT_LIMIT_KILL_ON_JOB_CLOSE``).
"""

from __future__ import annotations

import io
import multiprocessing
import os
import sys
import time

from .errors import NapkinError

__all__ = ["run_limited", "TimeLimit", "MemoryLimit", "NotStarted"]

_LINUX = sys.platform.startswith("linux")
_WINDOWS = os.name == "nt"


class TimeLimit(NapkinError):
    """The child ran past its time limit and was stopped."""


class MemoryLimit(NapkinError):
    """The child ran out of memory (or ended without an answer); ``limited``: whether it was
    the memory limit it ran out of."""

    def __init__(self, text: str, limited: bool):
        super().__init__(text)
        self.limited = limited


class NotStarted(NapkinError):
    """The child ended before running anything (a platform where it cannot be started)."""


class _ToParent(io.TextIOBase):
    """The child's ``sys.stdout``/``sys.stderr``: every write goes to the parent."""

    def __init__(self, conn, stream: str):
        self._conn, self._stream = conn, stream

    def writable(self) -> bool:
        return True

    def write(self, text: str) -> int:
        self._conn.send((self._stream, str(text)))
        return len(text)


def _limit_memory(extra_bytes: int) -> None:
    import resource
    with open("/proc/self/statm") as f:
        now = int(f.read().split()[0]) * os.sysconf("SC_PAGE_SIZE")
    _, hard = resource.getrlimit(resource.RLIMIT_AS)
    soft = now + extra_bytes
    if hard != resource.RLIM_INFINITY:
        soft = min(soft, hard)
    if soft < 2 ** 62:  # larger is no limit (and more than the call takes)
        resource.setrlimit(resource.RLIMIT_AS, (soft, hard))


def _end_with_parent(parent: int, seconds: float | None) -> None:
    """The time limit is the parent's to enforce, so a child whose parent is killed must not
    run on: on Linux the kernel kills it when the parent ends; elsewhere on POSIX a CPU-time
    limit well past ``seconds`` ends it."""
    if _LINUX:
        import ctypes
        import signal
        libc = ctypes.CDLL(None, use_errno=True)
        libc.prctl(1, signal.SIGKILL)  # PR_SET_PDEATHSIG
        if os.getppid() != parent:  # the parent ended before the call above
            os._exit(1)
    elif seconds is not None and os.name == "posix":
        import resource
        _, hard = resource.getrlimit(resource.RLIMIT_CPU)
        soft = int(min(2 * seconds, 1e9)) + 60  # a far limit: about 30 years of CPU
        if hard == resource.RLIM_INFINITY or soft < hard:
            resource.setrlimit(resource.RLIMIT_CPU, (soft, hard))


def _kernel32():
    """kernel32 with the prototypes of the job calls (a HANDLE is pointer-sized: ctypes' default
    int return would cut it on 64-bit Windows)."""
    import ctypes
    k32 = ctypes.WinDLL("kernel32", use_last_error=True)
    handle = ctypes.c_void_p
    for name, restype, argtypes in (
            ("CreateJobObjectW", handle, (ctypes.c_void_p, ctypes.c_wchar_p)),
            ("SetInformationJobObject", ctypes.c_int,
             (handle, ctypes.c_int, ctypes.c_void_p, ctypes.c_uint32)),
            ("AssignProcessToJobObject", ctypes.c_int, (handle, handle)),
            ("CloseHandle", ctypes.c_int, (handle,))):
        getattr(k32, name).restype = restype
        getattr(k32, name).argtypes = argtypes
    return k32


def _job_limits():
    """``JOBOBJECT_EXTENDED_LIMIT_INFORMATION`` (winnt.h) with the kill-on-close flag set."""
    import ctypes
    dword, size = ctypes.c_uint32, ctypes.c_size_t

    class Basic(ctypes.Structure):
        _fields_ = [("PerProcessUserTimeLimit", ctypes.c_int64),
                    ("PerJobUserTimeLimit", ctypes.c_int64), ("LimitFlags", dword),
                    ("MinimumWorkingSetSize", size), ("MaximumWorkingSetSize", size),
                    ("ActiveProcessLimit", dword), ("Affinity", size),
                    ("PriorityClass", dword), ("SchedulingClass", dword)]

    class IoCounters(ctypes.Structure):
        _fields_ = [(name, ctypes.c_uint64) for name in (
            "ReadOperationCount", "WriteOperationCount", "OtherOperationCount",
            "ReadTransferCount", "WriteTransferCount", "OtherTransferCount")]

    class Extended(ctypes.Structure):
        _fields_ = [("BasicLimitInformation", Basic), ("IoInfo", IoCounters),
                    ("ProcessMemoryLimit", size), ("JobMemoryLimit", size),
                    ("PeakProcessMemoryUsed", size), ("PeakJobMemoryUsed", size)]

    info = Extended()
    info.BasicLimitInformation.LimitFlags = 0x2000  # JOB_OBJECT_LIMIT_KILL_ON_JOB_CLOSE
    return info


def _tie_to_parent(child):
    """Windows: put the child in a job object that ends it when this process's handle to the
    job closes (at :func:`_untie`, or when this process ends, killed or not). Returns the job
    handle, or None where the job could not be made (the child then runs on if the parent is
    killed, as it did before)."""
    if not _WINDOWS:
        return None
    import ctypes
    try:
        k32 = _kernel32()
        job = k32.CreateJobObjectW(None, None)
        if not job:
            return None
        info = _job_limits()
        if (k32.SetInformationJobObject(job, 9, ctypes.byref(info), ctypes.sizeof(info))
                and k32.AssignProcessToJobObject(job, child.sentinel)):  # 9: extended limits
            return job
        k32.CloseHandle(job)
    except (OSError, AttributeError, ValueError):  # no kernel32, a handle it refuses
        pass
    return None


def _untie(job) -> None:
    """Close the job handle (the child has ended; a child still running ends with it)."""
    if job is not None:
        try:
            _kernel32().CloseHandle(job)
        except (OSError, AttributeError):
            pass


def _child(conn, func, args, extra_bytes, parent, seconds) -> None:
    conn.send(("started", None))
    sys.stdout, sys.stderr = _ToParent(conn, "out"), _ToParent(conn, "err")
    answer = _OUT_OF_MEMORY
    try:
        _end_with_parent(parent, seconds)
        if extra_bytes and _LINUX:
            _limit_memory(extra_bytes)
        answer = ("done", func(*args))
    except MemoryError:
        pass
    except OSError as exc:
        answer = ("oserror", (exc.errno, exc.strerror or str(exc), exc.filename))
    except BaseException as exc:  # noqa: BLE001 -- the parent re-raises it as a message
        kind = "cannot-run" if type(exc).__name__ in ("NoResult", "CannotRunError") else "error"
        answer = (kind, " ".join(str(exc).split()) or type(exc).__name__)
    # out of the except clauses the failed work's frames are freed, so there is memory to send
    try:
        conn.send(answer)
        conn.close()
    except BaseException:  # noqa: BLE001 -- the parent reports an ending without an answer
        os._exit(1)


_OUT_OF_MEMORY = ("memory", None)  # made before the work, which may leave no memory to make it


def run_limited(func, *args, seconds: float | None, memory_mb: float | None,
                what: str = "the work"):
    """``func(*args)`` in a child process; its return value (picklable), or an exception.

    ``seconds`` (wall clock) and ``memory_mb`` (on Linux: address space beyond what the child
    starts with) bound it; ``None`` for no limit. Past the time limit the child is killed and
    :class:`TimeLimit` raised; when it runs out of memory, or ends without an answer (a library
    that aborts when an allocation fails), :class:`MemoryLimit` (its ``limited`` says whether
    ``memory_mb`` was in force); when it ends before running ``func`` (it could not be
    started), :class:`NotStarted`. An exception in ``func`` comes back as :class:`OSError`
    (errno, text, file name kept), ``CannotRunError`` for the command line's "results are
    messages" errors, or :class:`NapkinError` with its one-line message. A child whose parent
    is killed ends too: at once on Linux and Windows, elsewhere on POSIX within twice
    ``seconds`` of CPU time (see :func:`_end_with_parent` and :func:`_tie_to_parent`).

    >>> run_limited(pow, 2, 10, seconds=30, memory_mb=500)
    1024
    """
    from .errors import CannotRunError
    ctx = multiprocessing.get_context("fork" if _LINUX else "spawn")
    receive, send = ctx.Pipe(duplex=False)
    extra = int(min(memory_mb, 1e12) * 1e6) if memory_mb else 0
    limited = bool(extra) and _LINUX
    child = ctx.Process(target=_child, args=(send, func, args, extra, os.getpid(), seconds),
                        daemon=True)
    child.start()
    job = _tie_to_parent(child)
    send.close()  # the child holds the only write end: its exit ends the pipe
    deadline = None if seconds is None else time.monotonic() + seconds
    started = answered = False
    try:
        while True:
            left = None if deadline is None else deadline - time.monotonic()
            if left is not None and left <= 0:
                raise TimeLimit(f"{what} took longer than {seconds:g} s and was stopped")
            try:  # a pipe whose writer is gone: EOFError, or on Windows BrokenPipeError
                # at most an hour a wait (the loop waits again): a far limit overflows poll()
                if not receive.poll(None if left is None else min(left, 3600.0)):
                    continue
                kind, value = receive.recv()
            except (EOFError, OSError):
                break
            answered = kind not in ("started", "out", "err")
            if kind == "started":
                started = True
            elif kind in ("out", "err"):
                stream = sys.stdout if kind == "out" else sys.stderr
                stream.write(value)
                stream.flush()
            elif kind == "done":
                return value
            elif kind == "memory":
                raise MemoryLimit(f"{what} needed more than {memory_mb:g} MB of memory"
                                  if limited else f"{what} ran out of memory", limited)
            elif kind == "oserror":
                raise OSError(*value)
            elif kind == "cannot-run":
                raise CannotRunError(value)
            else:
                raise NapkinError(value)
    finally:
        receive.close()
        child.join(5 if answered else 0)  # let a child that answered exit on its own
        if child.is_alive():
            child.kill()
        child.join()
        _untie(job)
    code = child.exitcode
    if not started:
        raise NotStarted(f"the child process for {what} ended before it started (exit code "
                         f"{code})")
    how = f"signal {-code}" if code is not None and code < 0 else f"exit code {code}"
    raise MemoryLimit(f"{what} stopped ({how}) without an answer: most likely it ran out of "
                      "memory" + (f" (more than {memory_mb:g} MB)" if limited else ""), limited)
