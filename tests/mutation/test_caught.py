"""How the mutation runner tells a kill by assertion from a kill by exception, and how it reads
a child's messages (an early kill, then maybe a better one)."""

from __future__ import annotations

import json
from collections.abc import Callable

import pytest

from proofwork.runtimes.proofwork_mutate import ASSERTION, EXCEPTION, _message, caught_by

SOURCE = "/workspace/shop/orders.py"


def raised(action: Callable[[], object]) -> pytest.ExceptionInfo[BaseException]:
    with pytest.raises(BaseException) as info:
        action()
    return info


def test_a_failed_check_of_the_test_is_a_kill_by_assertion() -> None:
    def did_not_raise() -> None:
        with pytest.raises(ValueError):
            pass

    def failed_assert() -> None:
        assert 1 + 1 == 3

    for action in (failed_assert, did_not_raise, lambda: pytest.fail("no")):
        assert caught_by(raised(action), {SOURCE}) == ASSERTION


def test_the_code_blowing_up_is_a_kill_by_exception_its_own_asserts_included() -> None:
    code = compile("def f():\n    assert False, 'invariant'\n", SOURCE, "exec")
    namespace: dict[str, object] = {}
    exec(code, namespace)  # noqa: S102 - a stand-in for the mutated source
    source_assert = namespace["f"]
    assert callable(source_assert)
    assert caught_by(raised(source_assert), {SOURCE}) == EXCEPTION
    assert caught_by(raised(lambda: None + 1), {SOURCE}) == EXCEPTION  # type: ignore[operator]
    assert caught_by(None, {SOURCE}) == EXCEPTION


def test_the_last_complete_message_of_a_child_wins() -> None:
    early = json.dumps({"status": "killed", "caught": EXCEPTION}).encode() + b"\n"
    final = json.dumps({"status": "killed", "caught": ASSERTION}).encode() + b"\n"
    assert _message(early)["caught"] == EXCEPTION
    assert _message(early + final)["caught"] == ASSERTION
    assert _message(early + final[:10])["caught"] == EXCEPTION  # cut off mid-message
    assert _message(b"") == {} and _message(b"not json\n") == {}
