from __future__ import annotations

import os

import pytest

from longweave.errors import InputError
from longweave.memory.file_store import FileStore, PathRefused


@pytest.fixture
def store(tmp_path):
    return FileStore(tmp_path / "root", max_file_bytes=1000, max_total_bytes=2500)


def test_write_read_list_snapshot(store):
    store.write("pkg/a.py", "x = 1\ny = 2\nz = 3\n")
    store.write("README.md", "hi\n")
    assert store.list() == ["README.md", "pkg/a.py"]
    assert store.read("pkg/a.py", 2, 3) == "y = 2\nz = 3\n"
    assert store.snapshot() == {"README.md": "hi\n", "pkg/a.py": "x = 1\ny = 2\nz = 3\n"}
    store.delete("README.md")
    assert store.list() == ["pkg/a.py"]


@pytest.mark.parametrize(
    "path", ["/etc/passwd", "../outside.txt", "pkg/../../outside.txt", "~/x", ".longweave/x"]
)
def test_paths_that_lead_out_are_refused(store, tmp_path, path):
    with pytest.raises(PathRefused):
        store.write(path, "no")
    assert not (tmp_path / "outside.txt").exists()


def test_symlinks_leading_out_are_refused(store, tmp_path):
    outside = tmp_path / "outside"
    outside.mkdir()
    (outside / "secret.txt").write_text("secret")
    os.symlink(outside, store.root / "link_dir")
    os.symlink(outside / "secret.txt", store.root / "link_file")
    with pytest.raises(PathRefused):
        store.write("link_dir/new.txt", "no")
    with pytest.raises(PathRefused):
        store.write("link_file", "overwrite")
    with pytest.raises(PathRefused):
        store.read("link_file")
    assert (outside / "secret.txt").read_text() == "secret"
    assert not (outside / "new.txt").exists()


def test_size_limits_keep_the_old_content(store):
    store.write("a.txt", "old")
    with pytest.raises(InputError, match="per file"):
        store.write("a.txt", "x" * 1001)
    store.write("b.txt", "x" * 1000)
    store.write("c.txt", "x" * 1000)
    with pytest.raises(InputError, match="store would hold"):
        store.write("d.txt", "x" * 600)
    assert store.read("a.txt") == "old"
    assert not [p for p in os.listdir(store.root) if p.startswith(".tmp-")]


def test_undo_and_undo_step(store):
    store.write("a.txt", "v1")
    store.write("a.txt", "v2")
    store.undo("a.txt")
    assert store.read("a.txt") == "v1"
    with pytest.raises(InputError):
        store.undo("a.txt")
    store.begin_step()
    store.write("a.txt", "v3")
    store.write("a.txt", "v4")
    store.write("new.txt", "n")
    store.delete("a.txt")
    assert store.undo_step() == ["a.txt", "new.txt"]
    assert store.snapshot() == {"a.txt": "v1"}


def test_reading_a_missing_file_says_what_to_do(store):
    with pytest.raises(InputError, match="list the files"):
        store.read("nope.py")
