"""Tests that assert nothing, found by reading test files."""

from __future__ import annotations

from proofwork.analysis.assertions import record, scan_tests
from proofwork.analysis.sources import SourceFile
from proofwork.evidence import Evidence

MODULE = """
import pytest
from unittest import TestCase, mock

from shop import checkout, total


def test_plain_assert():
    assert total([1]) == 1


def test_only_runs_the_code():
    total([1, 2])
    checkout([1])  # a call named like a check, but it is not one


def test_raises():
    with pytest.raises(ValueError):
        total(None)


def test_did_not_raise_is_a_failure_too():
    try:
        total(None)
    except ValueError:
        return
    pytest.fail("no error")


def test_mock_asserts():
    sender = mock.Mock()
    checkout([1], sender=sender)
    sender.send.assert_called_once_with([1])


def test_a_helper_that_checks():
    expect_total([1], 1)


def test_a_helper_of_a_helper():
    same_as_before([1])


def test_a_helper_that_only_prints():
    show([1])


def expect_total(items, value):
    assert total(items) == value


def same_as_before(items):
    compare(items)


def compare(items):
    if total(items) != sum(items):
        raise AssertionError(items)


def show(items):
    print(total(items))


class TestGrouped:
    def test_method_without_assert(self):
        total([])

    def test_method_with_assert(self):
        assert total([]) == 0


class Orders(TestCase):
    def test_unittest_style(self):
        self.assertEqual(total([2]), 2)

    def test_unittest_without_check(self):
        total([2])


async def test_async_without_check():
    await checkout([])
"""


def test_it_finds_the_tests_that_check_nothing() -> None:
    found = scan_tests([SourceFile("tests/test_shop.py", MODULE, is_test=True)])
    unchecked = [t.name for t in found if not t.checks]
    assert unchecked == [
        "test_only_runs_the_code",
        "test_a_helper_that_only_prints",
        "TestGrouped.test_method_without_assert",
        "Orders.test_unittest_without_check",
        "test_async_without_check",
    ]
    assert len(found) == 13


def test_only_test_modules_hold_tests_but_helpers_count_from_any_test_file() -> None:
    helper = SourceFile("tests/support.py", "def check_order(o):\n    assert o\n", is_test=True)
    not_collected = SourceFile("tests/support2.py", "def test_x():\n    pass\n", is_test=True)
    module = SourceFile("tests/test_a.py", "def test_a():\n    check_order(1)\n", is_test=True)
    found = scan_tests([helper, not_collected, module])
    assert [(t.name, t.checks) for t in found] == [("test_a", True)]


def test_unparsable_test_files_are_left_to_the_static_probe() -> None:
    assert scan_tests([SourceFile("tests/test_bad.py", "def test_(:\n", is_test=True)]) == []


def test_record_lists_them_in_one_finding_with_counts() -> None:
    evidence = Evidence("tests")
    record(scan_tests([SourceFile("tests/test_shop.py", MODULE, is_test=True)]), evidence)
    assert evidence.metrics["tests.assertion_free"] == 5
    assert evidence.metrics["tests.test_functions"] == 13
    (finding,) = evidence.findings
    assert finding.rule == "tests.assertion_free"
    assert finding.message.startswith("5 of 13 tests assert nothing")
    assert finding.snippet is not None
    assert "tests/test_shop.py:12 test_only_runs_the_code" in finding.snippet.splitlines()
    clean = Evidence("tests")
    record([], clean)
    assert clean.metrics["tests.assertion_free"] == 0 and not clean.findings
