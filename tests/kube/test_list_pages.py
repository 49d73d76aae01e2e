"""kube.rest.list_pages: lists paged with limit and continue, as a kube-apiserver serves them, and
decoded whole or through a field schema (`kube.listdecode`).

The lab's API stand-in answers every list at once, so a small server here pages.
"""

from __future__ import annotations

import json
import threading
from collections.abc import Iterator
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from typing import Any
from urllib.parse import parse_qs, urlsplit

import msgspec
import pytest
from kubernetes.client import ApiClient, Configuration

from pyantrea_kube.resources import PODS
from pyantrea_kube.rest import RestClient

PODS_JSON = [
    {"metadata": {"namespace": "shop", "name": f"web{i}", "managedFields": [{"manager": "x"}]}, "spec": {}}
    for i in range(7)
]


class _Pager(BaseHTTPRequestHandler):
    protocol_version = "HTTP/1.1"
    queries: list[dict[str, list[str]]] = []

    def do_GET(self) -> None:
        query = parse_qs(urlsplit(self.path).query)
        type(self).queries.append(query)
        offset = int(query.get("continue", ["0"])[0])
        limit = int(query["limit"][0]) if "limit" in query else len(PODS_JSON)
        end = min(len(PODS_JSON), offset + limit)
        meta: dict[str, Any] = {"resourceVersion": f"rv{end}"}
        if end < len(PODS_JSON):
            meta["continue"] = str(end)
        body = json.dumps({"kind": "PodList", "metadata": meta, "items": PODS_JSON[offset:end]}).encode()
        self.send_response(200)
        self.send_header("Content-Type", "application/json")
        self.send_header("Content-Length", str(len(body)))
        self.end_headers()
        self.wfile.write(body)

    def log_message(self, format: str, *args: object) -> None:
        return


class _Meta(msgspec.Struct, omit_defaults=True):
    namespace: Any = None
    name: Any = None


class _PodFields(msgspec.Struct, omit_defaults=True):
    metadata: _Meta | None = None


@pytest.fixture
def rest() -> Iterator[RestClient]:
    _Pager.queries = []
    server = ThreadingHTTPServer(("127.0.0.1", 0), _Pager)
    threading.Thread(target=server.serve_forever, daemon=True).start()
    client = ApiClient(Configuration(host=f"http://127.0.0.1:{server.server_address[1]}"))
    try:
        yield RestClient(client)
    finally:
        client.close()
        server.shutdown()
        server.server_close()


def test_pages_follow_continue_until_the_last(rest: RestClient):
    pages = list(rest.list_pages(PODS, page_size=3))
    assert [len(page.items) for page in pages] == [3, 3, 1]
    assert [item for page in pages for item in page.items] == PODS_JSON
    assert [page.continue_token for page in pages] == ["3", "6", None]
    assert pages[-1].resource_version == "rv7"
    assert [q.get("continue") for q in _Pager.queries] == [None, ["3"], ["6"]]
    assert all(q["limit"] == ["3"] for q in _Pager.queries)


def test_without_a_page_size_the_list_comes_at_once(rest: RestClient):
    (page,) = rest.list_pages(PODS)
    assert page.items == PODS_JSON
    assert "limit" not in _Pager.queries[0]


def test_item_fields_keep_only_the_named_fields(rest: RestClient):
    pages = list(rest.list_pages(PODS, page_size=5, item_fields=_PodFields))
    items = [item for page in pages for item in page.items]
    assert items == [{"metadata": {"namespace": "shop", "name": f"web{i}"}} for i in range(7)]
