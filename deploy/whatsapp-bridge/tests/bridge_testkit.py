"""Test helpers: a fake Mostrador (a real HTTP server in a thread) and the bridge running in a thread of its own,
both spoken to over real HTTP on 127.0.0.1."""

from __future__ import annotations

import asyncio
import json
import threading
import time
import urllib.error
import urllib.request
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from typing import Any, Callable, Optional

from whatsapp_bridge.app import Bridge
from whatsapp_bridge.client import Status
from whatsapp_bridge.config import Settings
from whatsapp_bridge.fake import FakeWhatsAppClient

TOKEN = "test-bridge-token"
WEBHOOK_TOKEN = "test-webhook-token"
OPENER = urllib.request.build_opener(urllib.request.ProxyHandler({}))


def http(method: str, url: str, body: Any = None, headers: Optional[dict] = None,
         timeout: float = 10) -> tuple[int, dict, bytes]:
    data = None
    headers = dict(headers or {})
    if body is not None:
        data = body if isinstance(body, bytes) else json.dumps(body).encode("utf-8")
        headers.setdefault("Content-Type", "application/json")
    request = urllib.request.Request(url, data=data, method=method, headers=headers)
    try:
        with OPENER.open(request, timeout=timeout) as response:
            return response.status, dict(response.headers), response.read()
    except urllib.error.HTTPError as error:
        return error.code, dict(error.headers), error.read()


def wait_for(predicate: Callable[[], Any], timeout: float = 10.0, interval: float = 0.02, what: str = "") -> Any:
    deadline = time.monotonic() + timeout
    while True:
        value = predicate()
        if value:
            return value
        if time.monotonic() > deadline:
            raise AssertionError(f"timed out waiting for {what or predicate}")
        time.sleep(interval)


class FakeMostrador:
    """Records every POST; answers with `responder(record) -> (status, body)` (default 200)."""

    def __init__(self, port: int = 0):
        self.requests: list[dict] = []
        self.lock = threading.Lock()
        self.responder: Callable[[dict], tuple[int, dict]] = lambda record: (200, {"status": "recibido"})
        self.port = port
        self.server: Optional[ThreadingHTTPServer] = None
        self.start()

    def start(self) -> None:
        owner = self

        class Handler(BaseHTTPRequestHandler):
            protocol_version = "HTTP/1.1"

            def log_message(self, *args):  # quiet
                pass

            def do_POST(self):
                length = int(self.headers.get("Content-Length") or 0)
                raw = self.rfile.read(length)
                try:
                    parsed = json.loads(raw)
                except ValueError:
                    parsed = None
                record = {"path": self.path, "headers": {k.lower(): v for k, v in self.headers.items()},
                          "raw": raw, "json": parsed, "at": time.time()}
                status, body = owner.responder(record)
                record["answered"] = status
                with owner.lock:
                    owner.requests.append(record)
                data = json.dumps(body).encode()
                self.send_response(status)
                self.send_header("Content-Type", "application/json")
                self.send_header("Content-Length", str(len(data)))
                self.end_headers()
                self.wfile.write(data)

        self.server = ThreadingHTTPServer(("127.0.0.1", self.port), Handler)
        self.server.daemon_threads = True
        self.port = self.server.server_address[1]
        threading.Thread(target=self.server.serve_forever, kwargs={"poll_interval": 0.05}, daemon=True).start()

    def stop(self) -> None:
        if self.server is not None:
            self.server.shutdown()
            self.server.server_close()
            self.server = None

    @property
    def url(self) -> str:
        return f"http://127.0.0.1:{self.port}/webhook"

    def posts(self, accepted_only: bool = False) -> list[dict]:
        with self.lock:
            return [r for r in self.requests if not accepted_only or 200 <= r["answered"] < 300]

    def bodies(self, accepted_only: bool = True) -> list[dict]:
        return [r["json"] for r in self.posts(accepted_only)]


class BridgeHarness:
    """The bridge (Bridge + FakeWhatsAppClient unless given) on its own event loop thread, on a free port."""

    def __init__(self, data_dir: str, client: Optional[Any] = None, **overrides: Any):
        settings = Settings(
            webhook_token=WEBHOOK_TOKEN, token=TOKEN, data_dir=data_dir, port=0, print_qr=False,
            retry_base=0.05, retry_max=0.3, typing=False, min_gap=0, send_per_minute=0, webhook_timeout=5)
        for name, value in overrides.items():
            if not hasattr(settings, name):
                raise AttributeError(name)
            setattr(settings, name, value)
        self.settings = settings
        self.client = client if client is not None else FakeWhatsAppClient(Status.CONNECTED)
        self.loop = asyncio.new_event_loop()
        self.bridge: Optional[Bridge] = None
        ready = threading.Event()
        failure: list[BaseException] = []

        def run() -> None:
            asyncio.set_event_loop(self.loop)
            try:
                self.bridge = Bridge(settings, self.client)
                self.loop.run_until_complete(self.bridge.start())
            except BaseException as error:  # surfaced to the test
                failure.append(error)
                ready.set()
                return
            ready.set()
            self.loop.run_forever()

        self.thread = threading.Thread(target=run, name="bridge-under-test", daemon=True)
        self.thread.start()
        ready.wait(15)
        if failure:
            raise failure[0]
        assert self.bridge is not None and self.bridge.port
        self.base = f"http://127.0.0.1:{self.bridge.port}"
        self.stopped = False

    def stop(self) -> None:
        if self.stopped:
            return
        self.stopped = True
        asyncio.run_coroutine_threadsafe(self.bridge.stop(), self.loop).result(20)
        self.loop.call_soon_threadsafe(self.loop.stop)
        self.thread.join(10)
        self.loop.close()

    def request(self, method: str, path: str, body: Any = None, headers: Optional[dict] = None,
                token: Optional[str] = TOKEN) -> tuple[int, dict, bytes]:
        headers = dict(headers or {})
        if token is not None:
            headers["Authorization"] = f"Bearer {token}"
        return http(method, self.base + path, body, headers)

    def json(self, method: str, path: str, body: Any = None, headers: Optional[dict] = None,
             token: Optional[str] = TOKEN) -> tuple[int, dict, Any]:
        status, response_headers, raw = self.request(method, path, body, headers, token)
        return status, response_headers, json.loads(raw) if raw else None

    def send(self, numero: str, texto: str, key: Optional[str] = None, **extra: Any) -> tuple[int, dict, Any]:
        headers = {"Idempotency-Key": key} if key else {}
        return self.json("POST", "/enviar-mensaje", {"numero": numero, "texto": texto, **extra}, headers)

    def health(self) -> tuple[int, dict]:
        status, _, body = self.json("GET", "/health")
        return status, body
