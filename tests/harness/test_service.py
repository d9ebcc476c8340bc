"""The harness's control of a service: which process gets SIGTERM, so shutdown is real."""

from __future__ import annotations

import time
from collections.abc import Callable

from proofwork.harness.service import wrapper_shell
from proofwork.sandbox import BwrapSandbox, Limits

PY = "/usr/bin/python3.11"
SERVICE = "import time\nprint('up', flush=True)\ntime.sleep(60)\n"


def started(sandbox: BwrapSandbox, command: str):  # type: ignore[no-untyped-def]
    service = sandbox.start(["/bin/sh", "-c", command], limits=Limits(wall_s=30))
    deadline = time.monotonic() + 5
    while b"up" not in service.output()[0] and time.monotonic() < deadline:
        time.sleep(0.02)
    return service


def test_the_wrapper_shell_is_spared_only_while_it_runs_the_service(
    sandbox_factory: Callable[..., BwrapSandbox],
) -> None:
    sandbox = sandbox_factory({"svc.py": SERVICE})
    wrapped = started(sandbox, f"{PY} svc.py; echo done")
    assert wrapped.top() is not None
    assert wrapper_shell(wrapped) == wrapped.top()
    wrapped.kill()
    exec_form = started(sandbox, f"exec {PY} svc.py")
    assert wrapper_shell(exec_form) is None
    exec_form.kill()
