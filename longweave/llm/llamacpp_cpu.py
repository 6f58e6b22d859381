"""Which llama.cpp CPU settings are safe on this processor.

llama.cpp's CPU backend offers "extra buffer types": weights repacked at load time for a faster
kernel (AArch64/AVX interleaved layouts, and on Intel Xeons with AMX the AMX tile kernel). On
AMX machines the AMX kernel that a native build compiles in crashes llama-cpp-python 0.3.x at
the first token (SIGSEGV in ``ggml_backend_amx_mul_mat``); turning extra buffer types off
(``llama_model_params.use_extra_bufts = false``) avoids it, at the cost of the repacking that
speeds other CPUs up. So the default is chosen per machine: off where the CPU has AMX *and*
the llama.cpp build uses it; elsewhere a child process first generates two tokens with them on
(`probe_extra_buffers`), and a crash there turns them off instead of killing the user's process.
The verdict is cached per CPU and llama.cpp build (``$LONGWEAVE_CACHE/llama-cpu.json``).

Override with ``LlamaCpp(..., extra_buffers=True|False)`` or the environment variable
``LONGWEAVE_LLAMA_EXTRA_BUFFERS`` (``1``/``0``/``auto``); an explicit argument wins.
"""

from __future__ import annotations

import functools
import hashlib
import json
import os
import subprocess
import sys
from pathlib import Path

from longweave.errors import ConfigError

ENV_VAR = "LONGWEAVE_LLAMA_EXTRA_BUFFERS"
_AMX_FLAGS = ("amx_tile", "amx_int8", "amx_bf16")


def cpu_flags(cpuinfo: str | Path = "/proc/cpuinfo") -> frozenset[str]:
    """The processor's feature flags as Linux reports them (empty where /proc/cpuinfo is absent)."""
    try:
        text = Path(cpuinfo).read_text(errors="replace")
    except OSError:
        return frozenset()
    for line in text.splitlines():
        key, _, value = line.partition(":")
        if key.strip() in ("flags", "Features"):
            return frozenset(value.split())
    return frozenset()


@functools.cache
def build_features() -> str:
    """llama.cpp's own system-info line ("CPU : SSE3 = 1 | ... | AMX_INT8 = 1 | ..."), or ""."""
    try:
        import llama_cpp

        return llama_cpp.llama_print_system_info().decode("utf-8", errors="replace")
    except Exception:  # not installed, or an older binding without the call
        return ""


def amx_in_use(flags: frozenset[str] | None = None, features: str | None = None) -> bool:
    """True when this CPU has AMX and the llama.cpp build would run its AMX kernel.

    When the build's features cannot be read, the CPU flags decide alone (the safe side).
    """
    flags = cpu_flags() if flags is None else flags
    if not any(f in flags for f in _AMX_FLAGS):
        return False
    features = build_features() if features is None else features
    if not features:
        return True
    return "AMX_INT8 = 1" in features or "AMX = 1" in features


def choose_extra_buffers(
    explicit: bool | None = None, env: dict | None = None, model_path: str | Path | None = None
) -> tuple[bool, str]:
    """Decide ``use_extra_bufts`` and say why (the backend keeps the reason in ``settings``).

    Args:
        explicit: the caller's choice; None means the environment variable, then detection.
        env: the environment to read (``os.environ`` by default; tests pass their own).
        model_path: a GGUF to probe with where detection alone cannot tell (None: no probe).

    Raises:
        ConfigError: the environment variable holds something other than 1, 0 or auto.
    """
    if explicit is not None:
        return bool(explicit), "set by the caller"
    value = (os.environ if env is None else env).get(ENV_VAR, "auto").strip().lower()
    if value in ("1", "true", "on", "yes"):
        return True, f"{ENV_VAR}={value}"
    if value in ("0", "false", "off", "no"):
        return False, f"{ENV_VAR}={value}"
    if value not in ("", "auto"):
        raise ConfigError(f"{ENV_VAR}={value!r} is not understood; set it to 1, 0 or auto.")
    if amx_in_use():
        return False, "off: this CPU has AMX, whose llama.cpp kernel crashes this build"
    if model_path is None:
        return True, "on: no AMX kernel in use on this CPU"
    if probe_extra_buffers(model_path):
        return True, "on: no AMX kernel in use on this CPU, and a probe generated with them"
    return False, "off: a probe with extra buffer types crashed on this CPU"


_PROBE = """
import sys, llama_cpp
quiet = llama_cpp.llama_log_callback(lambda *a: None)  # kept referenced: llama.cpp calls it later
llama_cpp.llama_log_set(quiet, None)
llm = llama_cpp.Llama(model_path=sys.argv[1], n_ctx=256, n_threads=1, verbose=False)
llm.create_completion("The river", max_tokens=2, temperature=0)
"""


def probe_extra_buffers(model_path: str | Path, timeout: float = 120.0) -> bool:
    """Generate two tokens in a child process with extra buffer types on; False if it crashed.

    The answer is cached per CPU (its flags) and llama.cpp build, so it costs one model load
    per machine. A probe that cannot run at all (timeout, llama.cpp missing) counts as safe:
    only a native crash is evidence against the setting.
    """
    key = hashlib.sha256(
        f"{sorted(cpu_flags())}|{build_features()}|{_binding_version()}".encode()
    ).hexdigest()
    from longweave.llm.local import cache_dir

    store = cache_dir() / "llama-cpu.json"
    try:
        known = json.loads(store.read_text())
    except (OSError, ValueError):
        known = {}
    if isinstance(known.get(key), bool):
        return known[key]
    try:
        run = subprocess.run(
            [sys.executable, "-c", _PROBE, str(model_path)], capture_output=True, timeout=timeout
        )
        safe = run.returncode >= 0
    except (OSError, subprocess.TimeoutExpired):
        return True
    known[key] = safe
    try:
        store.parent.mkdir(parents=True, exist_ok=True)
        store.write_text(json.dumps(known))
    except OSError:
        pass
    return safe


def _binding_version() -> str:
    try:
        from importlib.metadata import version

        return version("llama-cpp-python")
    except Exception:
        return ""
