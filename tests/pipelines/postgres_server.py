"""A throwaway PostgreSQL server for the tests, started from the system's server binaries.

The tests start their own server (initdb + pg_ctl on a free loopback port, trust auth, a
temporary data folder) and stop it afterwards. Where no server binaries are installed, or the
tests run as root without a ``postgres`` user to run the server as (Postgres refuses root),
the tests that need it are skipped with a one-line reason. pytest-postgresql does the same job
but runs initdb as the current user, so it cannot start a server when the tests run as root
(CI containers do); this fixture runs the server as ``postgres`` there.
"""

from __future__ import annotations

import glob
import os
import pwd
import shutil
import socket
import subprocess
import tempfile
import uuid
from pathlib import Path

import pytest


def _binary(name: str) -> str | None:
    found = shutil.which(name)
    if found:
        return found
    candidates = sorted(glob.glob(f"/usr/lib/postgresql/*/bin/{name}"))
    return candidates[-1] if candidates else None


def _free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return s.getsockname()[1]


@pytest.fixture(scope="session")
def postgres_server():
    """The base URL (``postgresql://lw@127.0.0.1:PORT``) of a server for this test session."""
    pytest.importorskip("psycopg", reason="psycopg not installed (pip install -e '.[postgres]')")
    initdb, pg_ctl = _binary("initdb"), _binary("pg_ctl")
    if not initdb or not pg_ctl:
        pytest.skip("no PostgreSQL server binaries (apt-get install postgresql)")
    user = None
    if os.geteuid() == 0:
        try:
            user = pwd.getpwnam("postgres")
        except KeyError:
            pytest.skip("running as root and there is no 'postgres' user to run PostgreSQL as")
    # Not under pytest's tmp folder: it is private to root, so the postgres user could not enter it.
    base = Path(tempfile.mkdtemp(prefix="longweave-pg-"))
    data, port = base / "data", _free_port()
    if user is not None:
        os.chown(base, user.pw_uid, user.pw_gid)
    run_as = {"user": user.pw_uid, "group": user.pw_gid} if user else {}
    try:
        subprocess.run([initdb, "-D", str(data), "-U", "lw", "--auth=trust", "-E", "UTF8"],
                       check=True, capture_output=True, timeout=120, **run_as)  # fmt: skip
        options = f"-p {port} -k {base} -c listen_addresses=127.0.0.1 -c fsync=off"
        subprocess.run([pg_ctl, "-D", str(data), "-o", options, "-l", str(base / "log"), "-w", "start"],
                       check=True, capture_output=True, timeout=120, **run_as)  # fmt: skip
    except (subprocess.CalledProcessError, subprocess.TimeoutExpired, OSError) as exc:
        shutil.rmtree(base, ignore_errors=True)
        reason = (getattr(exc, "stderr", b"") or str(exc).encode()).decode(errors="replace")
        pytest.skip(f"PostgreSQL could not start: {' '.join(reason.split())[:200]}")
    try:
        yield f"postgresql://lw@127.0.0.1:{port}"
    finally:
        subprocess.run([pg_ctl, "-D", str(data), "-m", "immediate", "stop"], capture_output=True, **run_as)
        shutil.rmtree(base, ignore_errors=True)


@pytest.fixture
def postgres_url(postgres_server):
    """A fresh, empty database on the session's server."""
    import psycopg

    name = f"t_{uuid.uuid4().hex[:10]}"
    with psycopg.connect(f"{postgres_server}/postgres", autocommit=True) as conn:
        conn.execute(f"CREATE DATABASE {name}")
    return f"{postgres_server}/{name}"


__all__ = ["postgres_server", "postgres_url"]
