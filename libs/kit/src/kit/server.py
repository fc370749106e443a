"""uvicorn's httptools protocol, writing a response's head together with its first body bytes.

uvicorn writes the status line and headers as soon as the app sends `http.response.start`, and the body when
it comes: two writes, so two wakeups of the caller (the gateway, a service calling another, a partner's
sandbox answering ours), for an answer the app has whole. Here the head waits for the first body message and
goes out in the same write (on its own, right after it, when that message writes nothing, as for HEAD).
Every service, the gateway and the sandboxes run with `uvicorn --loop uvloop --http kit.server:HttpToolsProtocol`
(`SERVER_FLAGS`; the deploy files, the local stack and the benchmarks do).

It relies on two attributes of uvicorn's `RequestResponseCycle` (`transport`, `response_started`); uvicorn is
pinned, and tests/kit/test_server.py fails if a new version stops writing one piece."""

from __future__ import annotations

from typing import Any

from uvicorn.protocols.http import httptools_impl

# uvloop and httptools named, not left to "auto": without their wheels a service fails to start rather than
# fall back, silently, to the slower asyncio loop and h11 parser.
SERVER_FLAGS = ("--loop", "uvloop", "--http", "kit.server:HttpToolsProtocol")


class _Held:
    """A transport stand-in that keeps what is written (the response head)."""

    def __init__(self, transport: Any) -> None:
        self.transport = transport
        self.written: list[bytes] = []

    def write(self, data: bytes) -> None:
        self.written.append(data)

    def __getattr__(self, name: str) -> Any:
        return getattr(self.transport, name)


class _Prefixed:
    """A transport stand-in whose first write carries `head` in front of the data."""

    def __init__(self, transport: Any, head: bytes) -> None:
        self.transport = transport
        self.head: bytes | None = head

    def write(self, data: bytes) -> None:
        head, self.head = self.head, None
        self.transport.write(data if head is None else head + data)

    def __getattr__(self, name: str) -> Any:
        return getattr(self.transport, name)


class _Cycle(httptools_impl.RequestResponseCycle):
    _head: bytes | None = None

    async def send(self, message: Any) -> None:
        transport = self.transport
        if message["type"] == "http.response.start" and not self.response_started:
            held = _Held(transport)
            self.transport = held  # type: ignore[assignment]
            try:
                await super().send(message)
            finally:
                self.transport = transport
            self._head = b"".join(held.written)
            return
        head, self._head = self._head, None
        if not head:
            await super().send(message)
            return
        prefixed = _Prefixed(transport, head)
        self.transport = prefixed  # type: ignore[assignment]
        try:
            await super().send(message)
        finally:
            self.transport = transport
        if prefixed.head is not None and not transport.is_closing():
            transport.write(prefixed.head)  # nothing was written after all: the head still goes out


class HttpToolsProtocol(httptools_impl.HttpToolsProtocol):
    def on_headers_complete(self) -> None:
        before = self.cycle
        super().on_headers_complete()
        cycle = self.cycle
        if cycle is not None and cycle is not before:
            # The cycle was just made (its task not started yet); only its `send` differs.
            cycle.__class__ = _Cycle
