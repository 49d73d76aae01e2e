"""A local HTTP server that answers the controller's list and watch requests as a kube-apiserver
would, from a scenario's objects rendered in advance (`bench.apiserver_bodies`).

Lists honour `limit` and `continue` (the next offset as the token), so the informers page as
they do against a real API server; a watch gets its response headers and then no event until
the client hangs up, as for a cluster where nothing changes. The transport is real: HTTP/1.1 on
loopback, read by the `kubernetes` client's urllib3 pool, in a process of its own, so the
controller's figures hold only the controller.

    python -m bench.apiserver_stub xlarge_small_namespaces 1.0

renders the objects, then prints `{"url": ..., "counts": ...}` on one line once it serves, and
serves until its standard input closes.
"""

from __future__ import annotations

import json
import socket
import sys
import threading
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from urllib.parse import parse_qs, urlsplit

from bench.apiserver_bodies import ApiObjects, scenario_objects


class _Server(ThreadingHTTPServer):
    daemon_threads = True
    objects: ApiObjects


class _Handler(BaseHTTPRequestHandler):
    protocol_version = "HTTP/1.1"
    server: _Server

    def do_GET(self) -> None:
        url = urlsplit(self.path)
        query = parse_qs(url.query)
        if url.path not in self.server.objects.items:
            self._send(404, b'{"kind":"Status","apiVersion":"v1","status":"Failure","code":404}')
        elif query.get("watch") == ["true"]:
            self._watch()
        else:
            limit = int(query["limit"][0]) if "limit" in query else None
            offset = int(query["continue"][0]) if "continue" in query else 0
            self._send(200, self.server.objects.page(url.path, offset, limit))

    def _send(self, status: int, body: bytes) -> None:
        self.send_response(status)
        self.send_header("Content-Type", "application/json")
        self.send_header("Content-Length", str(len(body)))
        self.end_headers()
        self.wfile.write(body)

    def _watch(self) -> None:
        self.send_response(200)
        self.send_header("Content-Type", "application/json")
        self.send_header("Transfer-Encoding", "chunked")
        self.end_headers()
        self.wfile.flush()
        # No events: wait for the client to hang up (end of stream on its socket).
        while self.connection.recv(65536):
            pass
        self.close_connection = True

    def log_message(self, format: str, *args: object) -> None:
        return


def serve(objects: ApiObjects) -> _Server:
    server = _Server(("127.0.0.1", 0), _Handler)
    server.objects = objects
    server.socket.setsockopt(socket.SOL_SOCKET, socket.SO_REUSEADDR, 1)
    threading.Thread(target=server.serve_forever, name="apiserver-stub", daemon=True).start()
    return server


def _main(scenario: str, scale: float) -> None:
    objects = scenario_objects(scenario, scale)
    server = serve(objects)
    host, port = server.server_address[:2]
    print(json.dumps({"url": f"http://{host}:{port}", "counts": objects.counts()}), flush=True)
    sys.stdin.read()
    server.shutdown()


if __name__ == "__main__":
    _main(sys.argv[1], float(sys.argv[2]))
