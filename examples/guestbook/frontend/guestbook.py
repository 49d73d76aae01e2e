"""The guestbook's frontend: a small web app that writes entries to the Redis master and reads
them from the Redis replicas, each through its Service name, as the tutorial's PHP frontend does.

    python guestbook.py --port 80 [--master redis-master] [--replica redis-slave]

    GET  /          the guestbook: its entries and a form to add one
    GET  /entries   {"entries": [...], "readFrom": "redis-slave"}  (read from a replica)
    POST /entries   add the body (`curl --data TEXT`, or the form's `entry` field) as an entry,
                    written to the master
    GET  /healthz   ok

A Redis that cannot be reached makes the request fail with 503 and the reason, after two seconds
at most. The lab's image map runs it for the tutorial's frontend image (lab/images.yaml); it only
needs Python and redis-py.
"""

from __future__ import annotations

import argparse
import html
import json
import urllib.parse
from http import HTTPStatus
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer

import redis

KEY = "guestbook"
TIMEOUT_SECONDS = 2.0
MAX_ENTRY = 1000


class Guestbook:
    """The entries, in a Redis list: appended on the master, read from a replica."""

    def __init__(self, master: str, replica: str, port: int = 6379) -> None:
        self.master_name, self.replica_name = master, replica
        options = {"port": port, "socket_timeout": TIMEOUT_SECONDS, "socket_connect_timeout": TIMEOUT_SECONDS,
                   "decode_responses": True}  # fmt: skip
        self._master = redis.Redis(host=master, **options)
        self._replica = redis.Redis(host=replica, **options)

    def add(self, entry: str) -> int:
        return int(self._master.rpush(KEY, entry))

    def entries(self) -> list[str]:
        return [str(item) for item in self._replica.lrange(KEY, 0, -1)]


def _page(entries: list[str]) -> str:
    items = "".join(f"<li>{html.escape(entry)}</li>" for entry in entries)
    return (
        "<!doctype html><html><head><meta charset=utf-8><title>Guestbook</title></head><body>"
        "<h1>Guestbook</h1><form method=post action=/entries><input name=entry autofocus> "
        f"<button>Submit</button></form><ul>{items}</ul></body></html>"
    )


def make_handler(book: Guestbook) -> type[BaseHTTPRequestHandler]:
    class Handler(BaseHTTPRequestHandler):
        server_version = "guestbook"

        def do_GET(self) -> None:
            path = urllib.parse.urlsplit(self.path).path
            if path == "/healthz":
                self._send(HTTPStatus.OK, "text/plain", "ok\n")
            elif path in ("/", "/entries"):
                try:
                    entries = book.entries()
                except redis.RedisError as exc:
                    self._unavailable(book.replica_name, exc)
                    return
                if path == "/":
                    self._send(HTTPStatus.OK, "text/html; charset=utf-8", _page(entries))
                else:
                    self._json(HTTPStatus.OK, {"entries": entries, "readFrom": book.replica_name})
            else:
                self._json(HTTPStatus.NOT_FOUND, {"error": f"no page {path}"})

        def do_POST(self) -> None:
            if urllib.parse.urlsplit(self.path).path != "/entries":
                self._json(HTTPStatus.NOT_FOUND, {"error": f"no page {self.path}"})
                return
            length = int(self.headers.get("Content-Length") or 0)
            body = self.rfile.read(min(length, 64 * 1024)).decode(errors="replace")
            if self.headers.get("Content-Type", "").startswith("application/x-www-form-urlencoded"):
                # the page's form sends entry=...; `curl --data TEXT` sends the text as it is
                body = (urllib.parse.parse_qs(body).get("entry") or [body])[0]
            entry = body.strip()
            if not entry or len(entry) > MAX_ENTRY:
                self._json(HTTPStatus.BAD_REQUEST, {"error": f"an entry is 1 to {MAX_ENTRY} characters"})
                return
            try:
                count = book.add(entry)
            except redis.RedisError as exc:
                self._unavailable(book.master_name, exc)
                return
            self._json(HTTPStatus.CREATED, {"added": entry, "entries": count, "writtenTo": book.master_name})

        def _unavailable(self, server: str, exc: Exception) -> None:
            self._json(HTTPStatus.SERVICE_UNAVAILABLE, {"error": f"redis at {server}: {exc}"})

        def _json(self, status: HTTPStatus, document: object) -> None:
            self._send(status, "application/json", json.dumps(document) + "\n")

        def _send(self, status: HTTPStatus, content_type: str, text: str) -> None:
            data = text.encode()
            self.send_response(status)
            self.send_header("Content-Type", content_type)
            self.send_header("Content-Length", str(len(data)))
            self.end_headers()
            self.wfile.write(data)

    return Handler


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--port", type=int, default=80)
    parser.add_argument("--master", default="redis-master", help="the Redis master's Service name")
    parser.add_argument("--replica", default="redis-slave", help="the Redis replicas' Service name")
    args = parser.parse_args()
    server = ThreadingHTTPServer(("0.0.0.0", args.port), make_handler(Guestbook(args.master, args.replica)))
    server.daemon_threads = True
    server.serve_forever()


if __name__ == "__main__":
    main()
