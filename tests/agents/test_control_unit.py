"""The control unit's checks: stubs are not done, and a code store may be required to hold tests."""

from __future__ import annotations

from longweave.agents.control_unit import check_work, find_stubs, is_test_file
from longweave.memory.file_store import FileStore

# What Qwen2.5-Coder-1.5B copied from its planner's sketch into roman.py (issue 15, roman task).
ROMAN_STUB = (
    "def to_roman(n):\n    # Convert integer to Roman numeral\n    pass\n\n"
    "def from_roman(s):\n    # Convert Roman numeral to integer\n    pass\n"
)


def test_placeholder_bodies_are_stubs_and_real_code_is_not():
    assert find_stubs(ROMAN_STUB) == ["to_roman()", "from_roman()"]
    source = (
        "from abc import ABC, abstractmethod\nfrom typing import Protocol\n\n\n"
        "class Shape(ABC):\n    @abstractmethod\n    def area(self):\n        ...\n\n\n"
        "class Greeter(Protocol):\n    def greet(self) -> str: ...\n\n\n"
        "class Error(Exception):\n    pass\n\n\n"
        "class Stack:\n    def push(self, x):\n        '''Push x.'''\n\n"
        "    def pop(self):\n        raise NotImplementedError('later')\n\n"
        "    def peek(self):\n        return self.items[-1]\n\n\n"
        "def todo():\n    ...\n\n\ndef done():\n    '''Doc.'''\n    return 1\n"
    )
    assert find_stubs(source) == ["Stack.push()", "Stack.pop()", "todo()"]
    assert find_stubs("def f(:\n") == []  # the syntax check reports it


def test_a_stub_fails_the_check_with_feedback_that_names_it(tmp_path):
    store = FileStore(tmp_path)
    store.write("roman.py", ROMAN_STUB)
    report = check_work(store)
    assert not report.ok and report.stubs == ["roman.py: to_roman()", "roman.py: from_roman()"]
    assert "not implemented (its body is only a placeholder): roman.py: to_roman()" in report.feedback()
    store.write("test_roman.py", "def test_nothing():\n    pass\n")  # a stub test is no test either
    assert "test_roman.py: test_nothing()" in check_work(store).stubs


def test_required_tests_must_exist_and_be_collected(tmp_path):
    store = FileStore(tmp_path)
    store.write("temperature.py", "def c_to_k(c):\n    return c + 273.15\n")
    assert check_work(store).ok  # tests not required: a module alone passes
    report = check_work(store, require_tests=True)
    assert not report.ok and report.tests_missing and not report.tests_run
    assert "there are no tests" in report.feedback()
    store.write("test_temperature.py", "from temperature import c_to_k\n\nKELVIN = c_to_k(0)\n")
    report = check_work(store, require_tests=True)
    assert report.tests_run and report.tests_missing and not report.ok
    assert "pytest collected no test" in report.feedback()
    store.write("test_temperature.py", "from temperature import c_to_k\n\n\ndef test_zero():\n"
                "    assert c_to_k(0) == 273.15\n")  # fmt: skip
    report = check_work(store, require_tests=True)
    assert report.ok and report.tests_run and not report.tests_missing
    assert is_test_file("tests/test_a.py") and is_test_file("a_test.py") and not is_test_file("testing.py")
