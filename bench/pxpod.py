"""The programs the proxy benchmark runs inside its pods (`ip netns exec POD python -m bench.pxpod ...`).

    python -m bench.pxpod serve NAME PORT   # an endpoint: each connection gets NAME, then closed
    python -m bench.pxpod client            # a client pod: one JSON command a line on stdin

The client answers each command with one JSON line:

- `{"op": "until", "host": H, "port": P, "expect": NAME, "timeout": S}`: new TCP connections to
  H:P, one after another (a short pause between them), until one is answered NAME; answers
  `{"at": T, "attempts": N}` with T the CLOCK_MONOTONIC time the answer arrived (the clock is
  the machine's, so the benchmark compares it with its own), or `{"error": ...}` after S seconds.
- `{"op": "rate", "host": H, "port": P, "seconds": S, "workers": W}`: W threads open, read and
  close short connections for S seconds; answers `{"connections": N, "failures": F, "seconds": S}`.

The server closes first, so its side keeps the TIME_WAIT and the client's ports are free again.
"""

from __future__ import annotations

import json
import socket
import sys
import threading
import time
from typing import Any

PAUSE = 0.002
"""Between two attempts of `until`: the figure's resolution, and the poll's CPU kept small."""
CONNECT_TIMEOUT = 0.05


def serve(name: str, port: int) -> None:
    answer = name.encode()
    listener = socket.socket(socket.AF_INET, socket.SOCK_STREAM)
    listener.setsockopt(socket.SOL_SOCKET, socket.SO_REUSEADDR, 1)
    listener.bind(("0.0.0.0", port))
    listener.listen(1024)
    print("ready", flush=True)

    def loop() -> None:
        while True:
            conn, _ = listener.accept()
            try:
                conn.sendall(answer)
            except OSError:
                pass
            finally:
                conn.close()

    threads = [threading.Thread(target=loop, daemon=True) for _ in range(2)]
    for thread in threads:
        thread.start()
    sys.stdin.read()  # until the benchmark closes our stdin


def ask(host: str, port: int, timeout: float = CONNECT_TIMEOUT) -> str | None:
    """One short connection: the endpoint's name, or None if it failed."""
    sock = socket.socket(socket.AF_INET, socket.SOCK_STREAM)
    sock.settimeout(timeout)
    try:
        sock.connect((host, port))
        sock.settimeout(1.0)
        data = b""
        while chunk := sock.recv(64):
            data += chunk
        return data.decode()
    except OSError:
        return None
    finally:
        sock.close()


def until(host: str, port: int, expect: str, timeout: float) -> dict[str, Any]:
    deadline = time.monotonic() + timeout
    attempts = 0
    while time.monotonic() < deadline:
        attempts += 1
        if ask(host, port) == expect:
            return {"at": time.monotonic(), "attempts": attempts}
        time.sleep(PAUSE)
    return {"error": f"no answer {expect!r} from {host}:{port} in {timeout} s ({attempts} attempts)"}


def rate(host: str, port: int, seconds: float, workers: int) -> dict[str, Any]:
    counts = [[0, 0] for _ in range(workers)]
    stop = threading.Event()

    def work(mine: list[int]) -> None:
        while not stop.is_set():
            mine[0 if ask(host, port, 1.0) is not None else 1] += 1

    threads = [threading.Thread(target=work, args=(c,)) for c in counts]
    started = time.monotonic()
    for thread in threads:
        thread.start()
    time.sleep(seconds)
    stop.set()
    for thread in threads:
        thread.join()
    elapsed = time.monotonic() - started
    return {
        "connections": sum(c[0] for c in counts),
        "failures": sum(c[1] for c in counts),
        "seconds": round(elapsed, 3),
    }


def client() -> None:
    for line in sys.stdin:
        command = json.loads(line)
        op = command.pop("op")
        if op == "until":
            reply = until(**command)
        elif op == "rate":
            reply = rate(**command)
        else:
            reply = {"error": f"unknown op {op!r}"}
        print(json.dumps(reply), flush=True)


if __name__ == "__main__":
    if sys.argv[1] == "serve":
        serve(sys.argv[2], int(sys.argv[3]))
    else:
        client()
