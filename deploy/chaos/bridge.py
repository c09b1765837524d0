"""A counting WhatsApp bridge for the fault-injection harness.

Speaks the seed bridge protocol (`POST /enviar-mensaje {"numero", "texto"}` with `Authorization: Bearer <token>`,
`GET /health`) and, unlike the simulator, does NOT de-duplicate: like the seed bridge it ignores `Idempotency-Key`,
so every accepted request is one more WhatsApp message. It records every request and can be switched, at any
moment, to one of these modes:

    up           200 {"status": "enviado", "id": ...}
    down         the port refuses connections (the listening socket is closed)
    unavailable  503 (WhatsApp disconnected); /health answers 503 too
    slow         delivers, then waits `slow_seconds` before answering 200 (past the relay's timeout: a retry)
    error        500
    ratelimit    429 with a hostile `Retry-After` taken in turn from `retry_after_values`

Run alone for a manual check: `python3 deploy/chaos/bridge.py --port 18099 --token t`.
"""

import argparse
import http.server
import itertools
import json
import re
import socket
import socketserver
import struct
import threading
import time

MODES = ("up", "down", "unavailable", "slow", "error", "ratelimit")
MARKER = re.compile(r"\[chaos:([A-Za-z0-9_.:-]+)\]")
# Retry-After values no sane bridge sends; the relay must neither crash nor wait forever on them.
HOSTILE_RETRY_AFTER = ("inf", "nan", "-5", "Thu, 01 Jan 1970 00:00:00 GMT", "NaN", "-inf", "", "soon")
HUGE_RETRY_AFTER = ("1e20", "99999999999", "1e308")


class Receipt:
    """One `POST /enviar-mensaje` as it arrived and as it was answered."""

    __slots__ = ("at", "numero", "texto", "marker", "mode", "status", "delivered", "answered_at", "write_ok")

    def __init__(self, at, numero, texto, mode):
        self.at = at
        self.numero = numero
        self.texto = texto
        match = MARKER.search(texto or "")
        self.marker = match.group(1) if match else None
        self.mode = mode
        self.status = None
        self.delivered = False
        self.answered_at = None
        self.write_ok = None


class _Server(socketserver.ThreadingMixIn, http.server.HTTPServer):
    daemon_threads = True
    allow_reuse_address = True
    request_queue_size = 256


class CountingBridge:
    """The bridge: start(), set_mode(...), counts(), stop(). Thread-safe."""

    def __init__(self, port, token, slow_seconds=7.0, retry_after_values=HOSTILE_RETRY_AFTER):
        self.port = port
        self.token = token
        self.slow_seconds = slow_seconds
        self._retry_after = itertools.cycle(retry_after_values)
        self._lock = threading.Lock()
        self._mode = "up"
        self._receipts = []
        self._health_checks = 0
        self._server = None
        self._thread = None
        self._delivered_count = 0

    @property
    def url(self):
        return f"http://127.0.0.1:{self.port}"

    # ------------------------------------------------------------------ control

    def start(self):
        self._listen()

    def stop(self):
        self._close()

    @property
    def mode(self):
        with self._lock:
            return self._mode

    def set_mode(self, mode, retry_after_values=None, slow_seconds=None):
        if mode not in MODES:
            raise ValueError(f"unknown bridge mode {mode!r}")
        with self._lock:
            previous = self._mode
            self._mode = mode
            if retry_after_values is not None:
                self._retry_after = itertools.cycle(retry_after_values)
            if slow_seconds is not None:
                self.slow_seconds = slow_seconds
        if mode == "down" and previous != "down":
            self._close()
        elif mode != "down" and previous == "down":
            self._listen()

    def _listen(self):
        if self._server is not None:
            return
        handler = _handler_for(self)
        deadline = time.monotonic() + 30
        while True:
            try:
                server = _Server(("127.0.0.1", self.port), handler)
                break
            except OSError:
                if time.monotonic() > deadline:
                    raise
                time.sleep(0.1)
        self._server = server
        self._thread = threading.Thread(target=server.serve_forever, kwargs={"poll_interval": 0.1}, daemon=True)
        self._thread.start()

    def _close(self):
        server, self._server = self._server, None
        if server is None:
            return
        server.shutdown()
        server.server_close()

    # ------------------------------------------------------------------ what it saw

    def receipts(self):
        with self._lock:
            return list(self._receipts)

    def delivered_count(self):
        with self._lock:
            return self._delivered_count

    def counts(self):
        """marker -> number of times it was delivered (answered, or delivered before a slow answer)."""
        result = {}
        with self._lock:
            for receipt in self._receipts:
                if receipt.delivered and receipt.marker:
                    result[receipt.marker] = result.get(receipt.marker, 0) + 1
        return result

    def stats(self):
        with self._lock:
            requests = len(self._receipts)
            delivered = sum(1 for r in self._receipts if r.delivered)
            markers = {r.marker for r in self._receipts if r.delivered and r.marker}
            return {
                "mode": self._mode,
                "requests": requests,
                "delivered": delivered,
                "unique": len(markers),
                "health_checks": self._health_checks,
            }

    # ------------------------------------------------------------------ request handling

    def _begin(self, numero, texto):
        with self._lock:
            receipt = Receipt(time.time(), numero, texto, self._mode)
            self._receipts.append(receipt)
            mode = self._mode
            retry_after = next(self._retry_after) if mode == "ratelimit" else None
            if mode in ("up", "slow"):
                receipt.delivered = True
                self._delivered_count += 1
            return receipt, mode, retry_after, self.slow_seconds

    def _health(self):
        with self._lock:
            self._health_checks += 1
            return self._mode


def _handler_for(bridge):
    class Handler(http.server.BaseHTTPRequestHandler):
        protocol_version = "HTTP/1.1"
        server_version = "chaos-bridge/1"

        def log_message(self, *args):
            pass

        def _answer(self, status, body, headers=()):
            data = json.dumps(body).encode()
            try:
                self.send_response(status)
                self.send_header("Content-Type", "application/json")
                self.send_header("Content-Length", str(len(data)))
                for name, value in headers:
                    self.send_header(name, value)
                self.end_headers()
                self.wfile.write(data)
                self.wfile.flush()
                return True
            except (BrokenPipeError, ConnectionResetError, socket.timeout, OSError):
                self.close_connection = True
                return False

        def _drop(self):
            """A bridge that is down: a request on a connection opened before it went down gets no answer, the
            connection is reset (closing the listener alone leaves kept-alive connections working)."""
            self.close_connection = True
            try:
                self.connection.setsockopt(socket.SOL_SOCKET, socket.SO_LINGER, struct.pack("ii", 1, 0))
                self.connection.close()
            except OSError:
                pass

        def _authorized(self):
            return self.headers.get("Authorization", "") == f"Bearer {bridge.token}"

        def do_GET(self):
            if self.path.split("?")[0].rstrip("/") == "/health":
                mode = bridge._health()
                if mode == "down":
                    self._drop()
                elif mode == "unavailable":
                    self._answer(503, {"status": "desconectado"})
                else:
                    self._answer(200, {"status": "ok"})
            elif self.path.split("?")[0].rstrip("/") == "/stats":
                self._answer(200, bridge.stats())
            else:
                self._answer(404, {"error": "no encontrado"})

        def do_POST(self):
            length = int(self.headers.get("Content-Length") or 0)
            raw = self.rfile.read(length) if length > 0 else b""
            if self.path.split("?")[0].rstrip("/") != "/enviar-mensaje":
                self._answer(404, {"error": "no encontrado"})
                return
            if not self._authorized():
                self._answer(401, {"error": "No autorizado"})
                return
            try:
                body = json.loads(raw or b"{}")
                numero, texto = str(body["numero"]), str(body["texto"])
            except (ValueError, KeyError, TypeError):
                self._answer(400, {"error": "cuerpo no válido"})
                return
            receipt, mode, retry_after, slow = bridge._begin(numero, texto)
            if mode == "down":
                receipt.status = "reset"
                receipt.write_ok = False
                self._drop()
                return
            if mode == "unavailable":
                status, answer, headers = 503, {"error": "WhatsApp desconectado"}, ()
            elif mode == "error":
                status, answer, headers = 500, {"error": "fallo interno del puente"}, ()
            elif mode == "ratelimit":
                status, answer, headers = 429, {"error": "demasiados mensajes"}, (("Retry-After", retry_after),)
            else:
                if mode == "slow":
                    time.sleep(slow)
                status, answer, headers = 200, {"status": "enviado", "id": f"CHAOS-{id(receipt):x}"}, ()
            receipt.status = status
            receipt.write_ok = self._answer(status, answer, headers)
            receipt.answered_at = time.time()

    return Handler


def main():
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--port", type=int, required=True)
    parser.add_argument("--token", default="")
    parser.add_argument("--mode", default="up", choices=MODES)
    args = parser.parse_args()
    bridge = CountingBridge(args.port, args.token)
    bridge.start()
    bridge.set_mode(args.mode)
    print(f"counting bridge on {bridge.url} (mode {args.mode}); GET /stats", flush=True)
    try:
        while True:
            time.sleep(3600)
    except KeyboardInterrupt:
        bridge.stop()


if __name__ == "__main__":
    main()
