"""The error tree: one root, every error in `longweave.errors`, the tree its docstring draws."""

import importlib
import inspect
import pickle
import pkgutil
import re

import pytest

import longweave
from longweave import errors
from longweave.errors import (
    BackendError,
    BackendTimeout,
    CheckpointError,
    InputError,
    LongweaveError,
    MalformedOutput,
    ParseError,
    PathRefused,
    SectionFailed,
)


def _package_exceptions() -> dict[str, type]:
    found = {}
    for info in pkgutil.walk_packages(longweave.__path__, "longweave."):
        module = importlib.import_module(info.name)
        for name, obj in vars(module).items():
            if (
                inspect.isclass(obj)
                and issubclass(obj, BaseException)
                and obj.__module__.startswith("longweave")
                and not name.startswith("_")
            ):
                found[f"{info.name}.{name}"] = obj
    return found


def test_every_exception_in_the_package_is_one_of_longweave_errors():
    found = _package_exceptions()
    assert found, "the walk found nothing; it is broken"
    for where, cls in found.items():
        assert cls.__module__ == "longweave.errors", where
        assert getattr(errors, cls.__name__) is cls, where
        assert cls.__name__ in errors.__all__, where


def test_old_import_paths_still_work():
    from longweave.agents.writer import SectionFailed as from_writer
    from longweave.memory import PathRefused as from_memory
    from longweave.memory.file_store import PathRefused as from_store

    assert from_writer is SectionFailed and from_store is from_memory is PathRefused


def test_every_error_descends_from_the_root():
    for name in errors.__all__:
        assert issubclass(getattr(errors, name), LongweaveError), name


def test_the_docstring_draws_every_class_under_its_parent():
    parents = {}
    stack = ["LongweaveError"]  # stack[d]: the class last drawn at depth d
    for m in re.finditer(r"^(    [│ ]*)[├└]── (\w+)", errors.__doc__, re.M):
        depth = len(m[1]) // 4
        del stack[depth:]
        parents[m[2]] = stack[-1]
        stack.append(m[2])
    assert set(parents) | {"LongweaveError"} == set(errors.__all__)
    for name, parent in parents.items():
        assert getattr(errors, name).__bases__[0] is getattr(errors, parent), name


def test_parse_errors_are_not_backend_errors():
    assert issubclass(MalformedOutput, ParseError) and issubclass(SectionFailed, MalformedOutput)
    for cls in (ParseError, MalformedOutput, SectionFailed):
        assert not issubclass(cls, BackendError), cls
    err = MalformedOutput("no list in the reply", model="m")
    assert err.model == "m" and str(err) == "no list in the reply"


def test_path_refused_is_an_input_error():
    assert issubclass(PathRefused, InputError)


def test_backend_timeout_is_a_builtin_timeout_too():
    err = BackendTimeout("m gave no answer within 3 s", model="m", status=None)
    assert isinstance(err, TimeoutError) and isinstance(err, BackendError) and err.transient
    assert str(err) == "m gave no answer within 3 s" and err.model == "m"
    with pytest.raises(TimeoutError):
        raise err
    again = pickle.loads(pickle.dumps(err))  # batch workers send errors across processes
    assert type(again) is BackendTimeout and again.model == "m" and str(again) == str(err)


def test_checkpoint_error_is_still_a_runtime_error():
    # it replaced a bare RuntimeError; code that caught that still does
    assert issubclass(CheckpointError, LongweaveError) and issubclass(CheckpointError, RuntimeError)
