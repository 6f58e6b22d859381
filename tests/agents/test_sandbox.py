from __future__ import annotations

import socket
import sys
import threading

import pytest

from longweave.agents.sandbox import SandboxLimits, network_namespace_prefix, run_pytest, run_sandboxed


def test_runs_and_captures_output(tmp_path):
    r = run_sandboxed([sys.executable, "-c", "import os; print(os.getcwd())"], tmp_path)
    assert r.ok and r.output.strip() == str(tmp_path)


def test_infinite_loop_is_stopped_at_the_time_limit(tmp_path):
    (tmp_path / "test_loop.py").write_text("def test_forever():\n    while True:\n        pass\n")
    r = run_pytest(tmp_path, SandboxLimits(timeout=3))
    assert r.timed_out and not r.ok
    assert r.seconds < 20
    assert "time limit" in r.output


def test_cpu_limit_stops_a_busy_child(tmp_path):
    r = run_sandboxed(
        [sys.executable, "-c", "while True: pass"], tmp_path, SandboxLimits(timeout=30, cpu_seconds=1)
    )
    assert not r.ok and not r.timed_out
    assert "CPU limit" in r.output


def test_memory_limit(tmp_path):
    r = run_sandboxed(
        [sys.executable, "-c", "x = bytearray(1 << 30)"], tmp_path, SandboxLimits(memory_mb=256)
    )
    assert r.returncode != 0 and "MemoryError" in r.output


def test_huge_output_is_truncated(tmp_path):
    code = "import sys\nfor i in range(200000): sys.stdout.write(f'line {i}\\n')"
    r = run_sandboxed([sys.executable, "-c", code], tmp_path, SandboxLimits(max_output_chars=2000))
    assert r.truncated and r.output_chars > 2_000_000
    assert len(r.output) < 2200
    assert (
        r.output.startswith("line 0\n")
        and "line 199999" in r.output
        and "characters of output cut" in r.output
    )


def test_proxy_variables_are_removed(tmp_path, monkeypatch):
    monkeypatch.setenv("HTTPS_PROXY", "http://proxy.invalid:3128")
    code = "import os; print(sorted(k for k in os.environ if 'proxy' in k.lower()))"
    assert run_sandboxed([sys.executable, "-c", code], tmp_path).output.strip() == "[]"


@pytest.mark.skipif(network_namespace_prefix() is None, reason="no network namespace on this machine")
def test_a_test_that_opens_a_socket_fails(tmp_path):
    server = socket.create_server(("127.0.0.1", 0))
    port = server.getsockname()[1]
    threading.Thread(target=lambda: server.accept(), daemon=True).start()
    try:
        socket.create_connection(("127.0.0.1", port), timeout=2).close()  # reachable from here
        (tmp_path / "test_net.py").write_text(
            "import socket\n"
            f"def test_connect():\n    socket.create_connection(('127.0.0.1', {port}), timeout=2).close()\n"
        )
        r = run_pytest(tmp_path, SandboxLimits(timeout=30))
    finally:
        server.close()
    assert r.network_isolated
    assert not r.ok and "1 failed" in r.output


def test_network_allowed_when_asked(tmp_path):
    r = run_sandboxed([sys.executable, "-c", "print(1)"], tmp_path, SandboxLimits(network=True))
    assert r.ok and not r.network_isolated
