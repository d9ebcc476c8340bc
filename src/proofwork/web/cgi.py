"""A small CGI gateway for ASGI: run a CGI program (here `git http-backend`) for one request,
feed it the request body (spooled first, capped), and hand back its status, headers and output
as a stream.

The body is read whole before the program starts: a streaming response listens on the same
ASGI channel for the client going away, and would otherwise race the feeder for the body."""

from __future__ import annotations

import asyncio
import logging
import tempfile
from collections.abc import AsyncIterator
from dataclasses import dataclass, field
from typing import IO

log = logging.getLogger(__name__)
CHUNK = 64 * 1024
SPOOL_BYTES = 1024 * 1024


class BodyTooLarge(Exception):
    """The request body went past the cap; the program was stopped."""


@dataclass
class CgiResponse:
    """A running CGI program's answer: status and headers read, output still streaming."""

    status: int
    headers: list[tuple[str, str]]
    process: asyncio.subprocess.Process
    feeding: asyncio.Task[None]
    errors: asyncio.Task[bytes]
    _ended: bool = field(default=False)

    async def chunks(self) -> AsyncIterator[bytes]:
        """The rest of the program's output; the program is reaped when it ends."""
        try:
            while self.process.stdout and (chunk := await self.process.stdout.read(CHUNK)):
                yield chunk
        finally:
            await self.close()

    async def read_all(self) -> bytes:
        """All of the output (for short answers)."""
        return b"".join([chunk async for chunk in self.chunks()])

    async def close(self) -> None:
        """Wait for the program to end (killing it if the client went away)."""
        if self._ended:
            return
        self._ended = True
        if self.process.returncode is None and not self.feeding.done():
            self.process.kill()
        code = await self.process.wait()
        stderr = await self.errors
        if code != 0 or stderr:
            log.info("cgi exited %s: %s", code, stderr.decode(errors="replace")[:2000])


async def spool_body(body: AsyncIterator[bytes], limit: int) -> IO[bytes]:
    """The request body in a temporary file (in memory while small); BodyTooLarge past `limit`."""
    spool: IO[bytes] = tempfile.SpooledTemporaryFile(SPOOL_BYTES)  # noqa: SIM115  # caller closes
    total = 0
    async for chunk in body:
        total += len(chunk)
        if total > limit:
            spool.close()
            raise BodyTooLarge(f"the request is larger than the {limit} bytes allowed")
        spool.write(chunk)
    spool.seek(0)
    return spool


async def _feed(process: asyncio.subprocess.Process, body: IO[bytes]) -> None:
    """Write the body to the program's input, then close both (the body is ours now)."""
    if process.stdin is None:
        body.close()
        return
    try:
        while chunk := body.read(CHUNK):
            process.stdin.write(chunk)
            await process.stdin.drain()
    except (BrokenPipeError, ConnectionResetError):
        pass  # the program stopped reading; its output says why
    finally:
        process.stdin.close()
        body.close()


async def _read_all(stream: asyncio.StreamReader | None) -> bytes:
    return b"" if stream is None else await stream.read()


async def run_cgi(argv: list[str], env: dict[str, str], body: IO[bytes]) -> CgiResponse:
    """Start the program and read its CGI headers (`Status:` sets the status, default 200);
    the program owns `body` from here and closes it once fed."""
    process = await asyncio.create_subprocess_exec(
        *argv,
        env=env,
        stdin=asyncio.subprocess.PIPE,
        stdout=asyncio.subprocess.PIPE,
        stderr=asyncio.subprocess.PIPE,
    )
    feeding = asyncio.create_task(_feed(process, body))
    errors = asyncio.create_task(_read_all(process.stderr))
    status, headers = 200, []
    while process.stdout and (line := (await process.stdout.readline()).rstrip(b"\r\n")):
        name, _, value = line.decode("latin-1").partition(":")
        if name.strip().lower() == "status":
            status = int(value.split()[0])
        else:
            headers.append((name.strip(), value.strip()))
    return CgiResponse(status, headers, process, feeding, errors)
