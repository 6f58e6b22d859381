"""Run code the model wrote: a subprocess with a time limit, resource limits and no network.

Each run is a fresh process (in its own session, so a timeout kills its children too) with
``resource.setrlimit`` limits set before ``exec``: address space, CPU seconds, processes and the
largest file it may write. Proxy variables are removed from its environment and, where the
machine allows it (checked once), it runs inside a new network namespace (``unshare --net``, or
``unshare --user --net --map-root-user`` for an unprivileged user) where no interface but a
downed loopback exists. Its output is kept to a budget: the head and the tail, with the middle
replaced by a marker.

Deliberately not handled: filesystem isolation beyond the working directory (the process can
read what its user can read; run as an unprivileged user for that), and Windows (POSIX
``resource`` and namespaces only). ``RLIMIT_NPROC`` is not enforced for root by Linux.
"""

from __future__ import annotations

import functools
import importlib.util
import os
import resource
import shutil
import signal
import subprocess
import sys
import threading
import time
from collections.abc import Sequence
from dataclasses import dataclass, field
from pathlib import Path

_PROXY_VARS = ("http_proxy", "https_proxy", "ftp_proxy", "all_proxy", "no_proxy")
_KEEP_VARS = ("PATH", "HOME", "LANG", "LC_ALL", "TMPDIR", "TERM")


@dataclass(frozen=True)
class SandboxLimits:
    """Limits of one sandboxed run.

    Attributes:
        timeout: wall-clock seconds before the process group is killed.
        cpu_seconds: CPU seconds (RLIMIT_CPU).
        memory_mb: address space in MiB (RLIMIT_AS).
        max_processes: processes of the user (RLIMIT_NPROC; root is exempt).
        max_file_mb: largest file the process may write (RLIMIT_FSIZE).
        max_output_chars: output kept (head and tail); the rest is replaced by a marker.
        network: allow network access (default False: no network).
    """

    timeout: float = 60.0
    cpu_seconds: int = 60
    memory_mb: int = 2048
    max_processes: int = 256
    max_file_mb: int = 64
    max_output_chars: int = 8000
    network: bool = False


@dataclass(slots=True)
class SandboxResult:
    """What a sandboxed run produced."""

    command: list[str]
    returncode: int
    output: str
    seconds: float
    timed_out: bool = False
    truncated: bool = False
    output_chars: int = 0
    network_isolated: bool = False
    notes: list[str] = field(default_factory=list)

    @property
    def ok(self) -> bool:
        return self.returncode == 0 and not self.timed_out


@functools.cache
def network_namespace_prefix() -> tuple[str, ...] | None:
    """The command prefix that gives a process its own empty network namespace here, or None."""
    unshare = shutil.which("unshare")
    if unshare is None or not sys.platform.startswith("linux"):
        return None
    for prefix in ((unshare, "--net"), (unshare, "--user", "--net", "--map-root-user")):
        try:
            done = subprocess.run([*prefix, "true"], capture_output=True, timeout=10)
        except (OSError, subprocess.TimeoutExpired):
            continue
        if done.returncode == 0:
            return prefix
    return None


def _limiter(limits: SandboxLimits):
    mb = 1024 * 1024

    def apply() -> None:  # runs in the child between fork and exec: no allocation-heavy work
        resource.setrlimit(resource.RLIMIT_CPU, (limits.cpu_seconds, limits.cpu_seconds + 1))
        resource.setrlimit(resource.RLIMIT_AS, (limits.memory_mb * mb, limits.memory_mb * mb))
        resource.setrlimit(resource.RLIMIT_NPROC, (limits.max_processes, limits.max_processes))
        resource.setrlimit(resource.RLIMIT_FSIZE, (limits.max_file_mb * mb, limits.max_file_mb * mb))
        resource.setrlimit(resource.RLIMIT_CORE, (0, 0))

    return apply


def _environment(extra: dict[str, str] | None) -> dict[str, str]:
    env = {k: v for k, v in os.environ.items() if k in _KEEP_VARS}
    env.update(PYTHONDONTWRITEBYTECODE="1", PYTHONUNBUFFERED="1", PYTHONHASHSEED="0")
    env.update(extra or {})
    for name in _PROXY_VARS:
        env.pop(name, None)
        env.pop(name.upper(), None)
    return env


class _Collector:
    """Reads a pipe to the end, keeping only the head and the tail within a budget."""

    def __init__(self, stream, budget: int) -> None:
        self.head: list[str] = []
        self.tail = ""
        self.head_len = 0
        self.total = 0
        self.half = max(1, budget // 2)
        self.thread = threading.Thread(target=self._read, args=(stream,), daemon=True)
        self.thread.start()

    def _read(self, stream) -> None:
        while chunk := stream.read(65536):
            text = chunk.decode("utf-8", errors="replace")
            self.total += len(text)
            if self.head_len < self.half:
                take = text[: self.half - self.head_len]
                self.head.append(take)
                self.head_len += len(take)
                text = text[len(take) :]
            if text:
                self.tail = (self.tail + text)[-self.half :]
        stream.close()

    def text(self) -> tuple[str, bool]:
        head = "".join(self.head)
        if self.total <= self.head_len + len(self.tail):
            return head + self.tail, False
        dropped = self.total - self.head_len - len(self.tail)
        return f"{head}\n... [{dropped} characters of output cut] ...\n{self.tail}", True


def run_sandboxed(
    command: Sequence[str],
    cwd: str | Path,
    limits: SandboxLimits | None = None,
    env: dict[str, str] | None = None,
) -> SandboxResult:
    """Run `command` in `cwd` under `limits`; never raises for the program's own failures.

    Example:
        >>> r = run_sandboxed([sys.executable, "-c", "print(6 * 7)"], ".")
        >>> r.returncode, r.output.strip()
        (0, '42')
    """
    limits = limits or SandboxLimits()
    argv = [str(c) for c in command]
    notes: list[str] = []
    isolated = False
    if not limits.network:
        prefix = network_namespace_prefix()
        if prefix is None:
            notes.append("no network namespace on this machine: network blocked by environment only")
        else:
            argv = [*prefix, *argv]
            isolated = True
    started = time.monotonic()
    proc = subprocess.Popen(
        argv,
        cwd=str(cwd),
        env=_environment(env),
        stdin=subprocess.DEVNULL,
        stdout=subprocess.PIPE,
        stderr=subprocess.STDOUT,
        preexec_fn=_limiter(limits),
        start_new_session=True,
    )
    collector = _Collector(proc.stdout, limits.max_output_chars)
    timed_out = False
    try:
        proc.wait(timeout=limits.timeout)
    except subprocess.TimeoutExpired:
        timed_out = True
        try:
            os.killpg(proc.pid, signal.SIGKILL)
        except ProcessLookupError:
            pass
        proc.wait()
    collector.thread.join(timeout=5)
    output, truncated = collector.text()
    if timed_out:
        output += f"\n[stopped: the run exceeded the {limits.timeout:g} s time limit]"
    elif proc.returncode == -signal.SIGXCPU:
        output += f"\n[stopped: the run exceeded the {limits.cpu_seconds} s CPU limit]"
    return SandboxResult(
        command=[str(c) for c in command],
        returncode=proc.returncode,
        output=output,
        seconds=time.monotonic() - started,
        timed_out=timed_out,
        truncated=truncated,
        output_chars=collector.total,
        network_isolated=isolated,
        notes=notes,
    )


def run_pytest(
    cwd: str | Path,
    limits: SandboxLimits | None = None,
    args: Sequence[str] = (),
    plugins: Sequence[str] = ("pytest_asyncio.plugin",),
) -> SandboxResult:
    """Run the tests under `cwd` with this interpreter's pytest, in the sandbox.

    Plugin auto-loading is off: plugins installed beside longweave (langsmith's costs about
    3.5 s of start-up here) have no business in the generated project's tests. `plugins` are
    loaded explicitly, those importable only (pytest-asyncio by default, for async tests).
    """
    command = [sys.executable, "-m", "pytest", "-q", "--no-header", "-p", "no:cacheprovider", *args]
    for plugin in plugins:
        if importlib.util.find_spec(plugin.split(".")[0]) is not None:
            command += ["-p", plugin]
            if plugin.startswith("pytest_asyncio"):  # else its config warning heads every output
                command += ["-o", "asyncio_default_fixture_loop_scope=function"]
    env = {"PYTHONPATH": str(Path(cwd).resolve()), "PYTEST_DISABLE_PLUGIN_AUTOLOAD": "1"}
    return run_sandboxed(command, cwd, limits, env=env)
