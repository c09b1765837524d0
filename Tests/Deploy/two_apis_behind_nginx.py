#!/usr/bin/env python3
"""Two api instances behind a real nginx serve one shop.

Starts an isolated RabbitMQ (deploy/broker.sh, its own vhost), two `mostrador-api` processes sharing ONE data
folder (one SQLite database), a `mostrador-bridge-relay` with a counting fake WhatsApp bridge, and a real nginx
running deploy/nginx/mostrador-test.conf.template (rendered with the two api ports) in a prefix of its own
(`nginx -p DIR -c FILE`) — steps 1 and 2. Then, from the outside, over HTTP and WebSocket only (the step
numbers it prints):

  3. a ticket opened through one instance (POST /webhook) is listed and shown by the other (login, GET /tickets,
     GET /ticket/{id}/conversacion); a session issued by one is honoured by the other; a repeated id_mensaje is a
     duplicate on either;
  4. a WebSocket upgrade through nginx reaches the real api; a technician's WebSocket held by instance A (opened
     with a single-use ws-ticket issued by B) receives, live, a customer message that arrived through B;
  5. 40 customer messages go through nginx while the instance nginx sends them to (A) is SIGKILLed midway; failed
     posts are retried as a bridge does (same `id_mensaje`); afterwards every text is stored exactly once and in
     order, a WebSocket on B saw each live exactly once, and A, restarted, serves the same conversation;
  6. a technician's reply through B reaches the bridge exactly once (through the outbox and the relay);
  7. a logout through B makes A refuse the token and close that session's WebSocket at once;
  8. every service stops on SIGTERM with status 0.

Two faults this test found are fixed, and `.ci/run` runs it with --strict --together so that they stay fixed (without
--strict they are reported as WARN):
  - a WebSocket upgrade that nginx sent over an idle kept-alive upstream connection was answered 307 + Connection:
    close by the api (Hummingbird upgrades only the first request of a connection), and browsers do not follow
    redirects on a WebSocket handshake: /ws/ now has an upstream of its own without keep-alive;
  - with --together (both instances started at once on an empty data folder, as systemd does on a first boot) one
    instance lost the schema migration race and exited ("table customers already exists"): migrations now run
    under a file lock (`DatabaseFactory.migrate`).

Python 3 standard library only, plus deploy/chaos/system.py and deploy/chaos/bridge.py. Every process it starts is
stopped when it exits, however it exits; the run folder (logs, databases) is kept when a check fails.

    python3 Tests/Deploy/two_apis_behind_nginx.py --bin-dir .build/debug [--nginx /usr/sbin/nginx] [--keep]
        [--strict] [--together]          # or Tests/Deploy/two-apis.sh, which finds nginx and the binaries

Exit status 0 only when every check passed.
"""

import argparse
import base64
import hashlib
import http.client
import json
import os
import secrets
import shutil
import signal
import socket
import struct
import subprocess
import sys
import tempfile
import threading
import time
import traceback
import urllib.parse

sys.dont_write_bytecode = True  # nothing written into deploy/chaos/__pycache__
REPO = os.path.dirname(os.path.dirname(os.path.dirname(os.path.abspath(__file__))))
sys.path.insert(0, os.path.join(REPO, "deploy", "chaos"))

import bridge as bridge_module  # noqa: E402
from system import REGISTRY, Broker, Service, free_port, http_request, snapshot_binaries  # noqa: E402

NGINX_DIR = os.path.join(REPO, "deploy", "nginx")
MESSAGES = 40
LIVE_TIMEOUT = 5.0          # s for a message posted on one instance to reach a socket on the other
READY_TIMEOUT = 120.0       # s for a (debug) service to become ready
RETRYABLE = (502, 503, 504)  # what a bridge retries (besides connection errors)


def say(text=""):
    print(text, flush=True)


class Failed(Exception):
    """A check that later steps depend on failed."""


# ====================================================================== checks and the summary


class Checks:
    def __init__(self):
        self.rows = []  # (step, what, ok, detail)
        self.step = ""

    def begin(self, step, title):
        self.step = step
        say()
        say(f"==> {step}. {title}")

    def check(self, ok, what, detail=""):
        self.rows.append((self.step, what, bool(ok), detail))
        mark = "✓" if ok else "✗"
        say(f"    {mark} {what}" + (f" — {detail}" if detail else ""))
        return bool(ok)

    def warn(self, what, detail=""):
        """A known problem, shown in the summary but not failing the run (see the caller for why)."""
        self.rows.append((self.step, what, None, detail))
        say(f"    ! {what}" + (f" — {detail}" if detail else ""))

    def require(self, ok, what, detail=""):
        if not self.check(ok, what, detail):
            raise Failed(what)

    def info(self, text):
        say(f"      {text}")

    @property
    def passed(self):
        return bool(self.rows) and all(ok is not False for _, _, ok, _ in self.rows)

    def table(self):
        width = min(78, max((len(what) for _, what, _, _ in self.rows), default=10))
        say()
        say("==> summary")
        say(f"    {'step':<4}  {'check':<{width}}  result")
        say(f"    {'-' * 4}  {'-' * width}  ------")
        for step, what, ok, _ in self.rows:
            text = what if len(what) <= width else what[: width - 1] + "…"
            say(f"    {step:<4}  {text:<{width}}  {'ok' if ok else 'WARN' if ok is None else 'FAILED'}")
        failed = sum(1 for row in self.rows if row[2] is False)
        warned = sum(1 for row in self.rows if row[2] is None)
        checked = len(self.rows) - warned
        say(f"    {checked - failed}/{checked} checks passed" + (f", {warned} known issue(s) (WARN)" if warned else ""))


# ====================================================================== a minimal WebSocket client (RFC 6455)


class WebSocketClosed(Exception):
    pass


class WebSocket:
    """Client side of RFC 6455 over a plain socket: the upgrade, masked text frames out, text frames in (pings
    answered, fragments joined). Reads keep partial frames across timeouts."""

    GUID = "258EAFA5-E914-47DA-95CA-C5AB0DC85B11"

    def __init__(self, port, path, timeout=15.0):
        self.sock = socket.create_connection(("127.0.0.1", port), timeout=timeout)
        self.buffer = b""
        self.frames = []  # every JSON frame received, in order
        key = base64.b64encode(os.urandom(16)).decode()
        self.sock.sendall((
            f"GET {path} HTTP/1.1\r\nHost: 127.0.0.1:{port}\r\nUpgrade: websocket\r\nConnection: Upgrade\r\n"
            f"Sec-WebSocket-Key: {key}\r\nSec-WebSocket-Version: 13\r\nUser-Agent: two-apis-test\r\n\r\n").encode())
        deadline = time.monotonic() + timeout
        while b"\r\n\r\n" not in self.buffer:
            self._recv_more(deadline)
            if len(self.buffer) > 1 << 16:
                raise ConnectionError("upgrade answer head too long")
        head, _, self.buffer = self.buffer.partition(b"\r\n\r\n")
        lines = head.decode("latin-1").split("\r\n")
        self.status_line = lines[0]
        headers = {}
        for line in lines[1:]:
            name, _, value = line.partition(":")
            headers[name.strip().lower()] = value.strip()
        parts = self.status_line.split(" ", 2)
        self.status = int(parts[1]) if len(parts) > 1 and parts[1].isdigit() else 0
        if self.status != 101:
            body = self.buffer[:300].decode(errors="replace")
            self.sock.close()
            raise ConnectionError(f"upgrade refused: {self.status_line!r} {body!r}")
        accept = base64.b64encode(hashlib.sha1((key + self.GUID).encode()).digest()).decode()
        if headers.get("sec-websocket-accept") != accept:
            self.sock.close()
            raise ConnectionError(f"bad Sec-WebSocket-Accept {headers.get('sec-websocket-accept')!r}")

    def _recv_more(self, deadline):
        remaining = deadline - time.monotonic()
        if remaining <= 0:
            raise TimeoutError("WebSocket read timed out")
        self.sock.settimeout(remaining)
        chunk = self.sock.recv(65536)  # socket.timeout is TimeoutError
        if not chunk:
            raise WebSocketClosed("connection closed by the server (EOF)")
        self.buffer += chunk

    def _fill(self, count, deadline):
        while len(self.buffer) < count:
            self._recv_more(deadline)

    def _frame(self, deadline):
        """(fin, opcode, payload) of the next frame; nothing is consumed unless the whole frame arrived."""
        self._fill(2, deadline)
        first, second = self.buffer[0], self.buffer[1]
        length, offset = second & 0x7F, 2
        if length == 126:
            self._fill(4, deadline)
            length, offset = struct.unpack("!H", self.buffer[2:4])[0], 4
        elif length == 127:
            self._fill(10, deadline)
            length, offset = struct.unpack("!Q", self.buffer[2:10])[0], 10
        mask = b""
        if second & 0x80:  # servers must not mask, but read it if they do
            self._fill(offset + 4, deadline)
            mask, offset = self.buffer[offset:offset + 4], offset + 4
        self._fill(offset + length, deadline)
        payload = self.buffer[offset:offset + length]
        self.buffer = self.buffer[offset + length:]
        if mask:
            payload = bytes(b ^ mask[i % 4] for i, b in enumerate(payload))
        return bool(first & 0x80), first & 0x0F, payload

    def _send(self, opcode, payload):
        header = bytes([0x80 | opcode])
        if len(payload) < 126:
            header += bytes([0x80 | len(payload)])
        elif len(payload) < 1 << 16:
            header += bytes([0x80 | 126]) + struct.pack("!H", len(payload))
        else:
            header += bytes([0x80 | 127]) + struct.pack("!Q", len(payload))
        mask = os.urandom(4)
        self.sock.sendall(header + mask + bytes(b ^ mask[i % 4] for i, b in enumerate(payload)))

    def send_json(self, obj):
        self._send(0x1, json.dumps(obj).encode())

    def next_json(self, timeout):
        """The next text frame, decoded; raises TimeoutError or WebSocketClosed."""
        deadline = time.monotonic() + timeout
        message = b""
        while True:
            fin, opcode, payload = self._frame(deadline)
            if opcode == 0x9:  # ping
                self._send(0xA, payload)
                continue
            if opcode == 0xA:
                continue
            if opcode == 0x8:
                code = struct.unpack("!H", payload[:2])[0] if len(payload) >= 2 else None
                raise WebSocketClosed(f"close frame {code} {payload[2:].decode(errors='replace')!r}")
            message += payload
            if not fin:
                continue
            try:
                frame = json.loads(message)
            except ValueError:
                frame = {"tipo": "<not json>", "data": message[:200].decode(errors="replace")}
            self.frames.append(frame)
            return frame

    def wait_for(self, predicate, timeout):
        """The first frame for which predicate(frame) is true, within timeout; None on timeout."""
        deadline = time.monotonic() + timeout
        while True:
            remaining = deadline - time.monotonic()
            if remaining <= 0:
                return None
            try:
                frame = self.next_json(remaining)
            except TimeoutError:
                return None
            if predicate(frame):
                return frame

    def drain(self, seconds):
        """Every frame arriving within `seconds` (stops early when the socket closes)."""
        got = []
        deadline = time.monotonic() + seconds
        while time.monotonic() < deadline:
            try:
                got.append(self.next_json(max(0.01, deadline - time.monotonic())))
            except (TimeoutError, WebSocketClosed, OSError):
                break
        return got

    def close(self):
        try:
            self._send(0x8, struct.pack("!H", 1000))
        except OSError:
            pass
        try:
            self.sock.close()
        except OSError:
            pass


# ====================================================================== nginx


class Nginx:
    """deploy/nginx/mostrador-test.conf.template rendered into `directory` and run in the foreground (`daemon off`,
    its own process group), so that it can always be stopped, workers included."""

    def __init__(self, binary, directory, listen, api1, api2):
        self.binary = binary
        self.directory = directory
        self.port = listen
        self.conf = os.path.join(directory, "nginx.conf")
        self.process = None
        os.makedirs(directory, exist_ok=True)
        os.chmod(directory, 0o755)  # run as root, nginx's workers are `nobody`: they reach the temp folders here
        with open(os.path.join(NGINX_DIR, "mostrador-test.conf.template")) as source:
            text = source.read()
        text = text.replace("@LISTEN@", str(listen)).replace("@API1@", str(api1)).replace("@API2@", str(api2))
        if "@" in "".join(line for line in text.splitlines() if not line.lstrip().startswith("#")):
            raise RuntimeError("placeholders left in the rendered nginx.conf")
        with open(self.conf, "w") as out:
            out.write(text)
        shutil.copy(os.path.join(NGINX_DIR, "mostrador-locations.conf"), directory)

    @property
    def url(self):
        return f"http://127.0.0.1:{self.port}"

    def test_config(self):
        result = subprocess.run([self.binary, "-t", "-p", self.directory, "-c", self.conf, "-e", "stderr"],
                                stdout=subprocess.PIPE, stderr=subprocess.STDOUT, text=True, timeout=30)
        return result.returncode == 0, result.stdout.strip()

    def start(self):
        with open(os.path.join(self.directory, "nginx-stderr.log"), "a") as err:
            self.process = subprocess.Popen(
                [self.binary, "-p", self.directory, "-c", self.conf, "-e", "stderr", "-g", "daemon off;"],
                stdout=err, stderr=subprocess.STDOUT, stdin=subprocess.DEVNULL, start_new_session=True)

    def alive(self):
        return self.process is not None and self.process.poll() is None

    def stop(self):
        process, self.process = self.process, None
        if process is None:
            return
        for signum, wait in ((signal.SIGQUIT, 5), (signal.SIGTERM, 5), (signal.SIGKILL, 5)):
            try:
                os.killpg(process.pid, signum)  # master and workers: the group is the master's own session
            except ProcessLookupError:
                break
            try:
                process.wait(timeout=wait)
            except subprocess.TimeoutExpired:
                continue
            # The master is gone; a worker it left behind would still be in the group.
            try:
                os.killpg(process.pid, signal.SIGKILL)
            except ProcessLookupError:
                pass
            break

    def error_lines(self, levels=("emerg", "alert", "crit")):
        try:
            with open(os.path.join(self.directory, "error.log")) as log:
                return [line.strip() for line in log if any(f"[{level}]" in line for level in levels)]
        except OSError:
            return []


def established_to(port):
    """How many ESTABLISHED TCP connections on this machine have 127.0.0.1:`port` as their remote end (Linux
    /proc/net/tcp): nginx keeps its upstream connections alive (`keepalive 8`), which tells which instance it
    proxied to."""
    count = 0
    try:
        with open("/proc/net/tcp") as table:
            next(table)
            for line in table:
                fields = line.split()
                remote, state = fields[2], fields[3]
                host, _, hex_port = remote.partition(":")
                if state == "01" and int(hex_port, 16) == port and host == "0100007F":
                    count += 1
    except OSError:
        return -1
    return count


# ====================================================================== the test


class TwoAPIs:
    def __init__(self, args):
        self.args = args
        self.checks = Checks()
        self.run_dir = tempfile.mkdtemp(prefix="mostrador-two-apis-")
        os.chmod(self.run_dir, 0o755)
        self.bin_dir = os.path.join(self.run_dir, "bin")
        self.broker = None
        self.bridge = None
        self.nginx = None
        self.apis = []
        self.relay = None
        self.sockets = []
        self.a = self.b = None
        self.token = None
        self.ticket_id = None
        self.sender = f"5215{secrets.randbelow(10 ** 8):08d}@s.whatsapp.net"
        self.run_tag = secrets.token_hex(3)
        self.webhook_token = secrets.token_hex(16)
        self.admin_password = secrets.token_hex(10)
        self.started = time.monotonic()
        self.cleaned = False

    # ------------------------------------------------------------------ helpers

    def webhook(self, base, text, message_id, timeout=15):
        status, _, body = http_request(
            "POST", f"{base}/webhook",
            {"remitente": self.sender, "contenido": text, "nombre": "Cliente Dos Instancias",
             "id_mensaje": message_id},
            headers={"Authorization": f"Bearer {self.webhook_token}"}, timeout=timeout)
        return status, _json(body)

    def get(self, base, path, timeout=15):
        status, headers, body = http_request(
            "GET", f"{base}{path}", headers={"Authorization": f"Token {self.token}"}, timeout=timeout)
        return status, headers, _json(body)

    def conversation(self, api):
        status, _, body = self.get(api.url, f"/ticket/{self.ticket_id}/conversacion")
        if status != 200 or not isinstance(body, dict):
            return status, None
        return status, body.get("historial") or []

    def open_socket(self, issuing, port, label):
        """A WebSocket for the ticket opened on `port`, with a single-use ticket issued by `issuing`."""
        status, _, body = http_request(
            "POST", f"{issuing.url}/api/auth/ws-ticket/", {"ticket_id": self.ticket_id},
            headers={"Authorization": f"Token {self.token}"}, timeout=15)
        if status != 201 or not isinstance(_json(body), dict) or "ticket" not in _json(body):
            raise Failed(f"ws-ticket on {issuing.label}: HTTP {status} {body[:200]!r}")
        ticket = urllib.parse.quote(_json(body)["ticket"], safe="")
        ws = WebSocket(port, f"/ws/soporte/ticket/{self.ticket_id}/?ticket={ticket}")
        ws.label = label
        self.sockets.append(ws)
        return ws

    def socket_via_nginx(self):
        """"ok" when a WebSocket opened through nginx gets connection_established, else what went wrong."""
        try:
            ws = self.open_socket(self.b, self.nginx.port, "via nginx")
        except (OSError, ConnectionError) as error:
            return str(error)[:160]
        try:
            frame = ws.next_json(10)
            return "ok" if frame.get("tipo") == "connection_established" else f"first frame {frame.get('tipo')!r}"
        except (OSError, WebSocketClosed) as error:
            return f"{type(error).__name__}: {error}"
        finally:
            ws.close()
            self.sockets.remove(ws)

    # ------------------------------------------------------------------ the steps

    def prepare_binaries(self):
        source = os.path.abspath(self.args.bin_dir)
        names = ("mostrador-api", "mostrador-bridge-relay")
        missing = [n for n in names if not os.path.isfile(os.path.join(source, n))]
        if missing:
            raise Failed(f"{source} lacks {', '.join(missing)} (build first: swift build)")
        snapshot_binaries(source, self.bin_dir, names)

    def step1_start(self):
        c = self.checks
        database = "PostgreSQL" if os.environ.get("MOSTRADOR_DATABASE_URL") else "one data folder"
        c.begin("1", f"RabbitMQ, two api instances on {database}, the relay and a counting bridge")
        say(f"    run folder: {self.run_dir}")
        self.prepare_binaries()
        say(f"    binaries: snapshot of {os.path.abspath(self.args.bin_dir)} in {self.bin_dir}")
        began = time.monotonic()
        self.broker = Broker(os.path.join(self.run_dir, "broker"))
        self.broker.start()
        vhost = f"two-apis-{self.run_tag}"
        self.broker.add_vhost(vhost)
        c.check(True, "isolated RabbitMQ started, own vhost",
                f"{self.broker.url} vhost {vhost} ({time.monotonic() - began:.1f} s)")
        bridge_token = secrets.token_hex(12)
        self.bridge = bridge_module.CountingBridge(free_port(), bridge_token)
        self.bridge.start()
        environment = {
            "MOSTRADOR_AMQP_URL": self.broker.amqp_url(vhost),
            "MOSTRADOR_WEBHOOK_TOKEN": self.webhook_token,
            "MOSTRADOR_ADMIN_USER": "admin",
            "MOSTRADOR_ADMIN_PASSWORD": self.admin_password,
            "MOSTRADOR_TRUSTED_PROXIES": "127.0.0.1/32",
            "MOSTRADOR_INTAKE": "off",
            "MOSTRADOR_MIN_FREE_DISK_MB": "0",
            "MOSTRADOR_WEBHOOK_NEW_TICKETS_PER_SENDER_HOUR": "0",
            "MOSTRADOR_BRIDGE_URL": self.bridge.url,
            "MOSTRADOR_BRIDGE_TOKEN": bridge_token,
            "MOSTRADOR_BRIDGE_PROBE_SECONDS": "1",
            "MOSTRADOR_RELAY_RATE": "0",
            "MOSTRADOR_LOG_LEVEL": "info",
            "MOSTRADOR_LOG_FORMAT": "text",
        }
        # MOSTRADOR_DATABASE_URL (PostgreSQL): both instances keep their data there; the folder keeps attachments.
        if os.environ.get("MOSTRADOR_DATABASE_URL"):
            environment["MOSTRADOR_DATABASE_URL"] = os.environ["MOSTRADOR_DATABASE_URL"]
        shared = os.path.join(self.run_dir, "data", "api-shared")
        os.makedirs(shared, exist_ok=True)
        for number in (1, 2):
            api = Service("api", self.bin_dir, self.run_dir, environment)
            api.data_dir = shared  # both instances: one database, one attachments folder
            api.log_path = os.path.join(self.run_dir, "logs", f"api-{number}.log")
            api.label = f"api-{number}"
            self.apis.append(api)
        self.relay = Service("bridge-relay", self.bin_dir, self.run_dir, environment)
        self.relay.label = "relay"
        # The first instance creates the database (and the admin); the second starts on the existing one.
        # (--together starts both at once on the empty folder, as systemd would on a first boot.)
        first = self.apis if self.args.together else self.apis[:1]
        for api in first:
            api.start()
        self.relay.start()
        for api in first:
            ready = api.wait_ready(READY_TIMEOUT)
            if not ready and self.args.together and not api.alive():
                # The first-boot race: both instances migrate the empty database at once and one loses. systemd
                # (Restart=on-failure, RestartSec=2) starts it again; so does this test, once.
                error = _last_error(api.log_path)
                what = f"{api.label} exited at its first start, on the shared empty database"
                detail = f"status {api.process.returncode}: {error}; restarted as systemd would"
                if self.args.strict:
                    c.check(False, what, detail)
                else:
                    c.warn(f"{what} (known issue)", detail)
                time.sleep(2)
                api.start()
                ready = api.wait_ready(READY_TIMEOUT)
            c.require(ready, f"{api.label} ready on its ops port",
                      f"http :{api.port}, ops :{api.ops_port}, log {api.log_path}")
        if not self.args.together:
            began = time.monotonic()
            self.apis[1].start()
            c.require(self.apis[1].wait_ready(READY_TIMEOUT), f"{self.apis[1].label} ready on its ops port",
                      f"http :{self.apis[1].port}, ops :{self.apis[1].ops_port} "
                      f"({time.monotonic() - began:.1f} s), same data folder")
        c.require(self.relay.wait_ready(READY_TIMEOUT), "bridge-relay ready",
                  f"bridge {self.bridge.url} (counting, no de-duplication)")

    def step2_nginx(self):
        c = self.checks
        c.begin("2", "nginx (deploy/nginx/mostrador-test.conf.template) in front of both instances")
        api1, api2 = self.apis
        self.nginx = Nginx(self.args.nginx, os.path.join(self.run_dir, "nginx"), free_port(), api1.port, api2.port)
        ok, output = self.nginx.test_config()
        c.require(ok, "rendered template passes nginx -t", output.splitlines()[-1] if output else "")
        self.nginx.start()
        deadline = time.monotonic() + 20
        status = None
        while time.monotonic() < deadline and self.nginx.alive():
            try:
                status, _, body = http_request("GET", f"{self.nginx.url}/health/ready", timeout=3)
                if status == 200:
                    break
            except (OSError, http.client.HTTPException):
                pass
            time.sleep(0.1)
        c.require(status == 200, "nginx proxies GET /health/ready to the api",
                  f"{self.nginx.url} (pid {self.nginx.process.pid}, {'running' if self.nginx.alive() else 'exited'})")
        # Which instance does nginx send this client to? (`hash $remote_addr consistent`: one, for 127.0.0.1.)
        for _ in range(3):
            http_request("GET", f"{self.nginx.url}/health/ready", timeout=5)
        time.sleep(0.2)
        counts = {api.label: established_to(api.port) for api in self.apis}
        routed = [api for api in self.apis if established_to(api.port) > 0]
        if len(routed) == 1:
            self.a = routed[0]
            how = f"nginx keeps its upstream connection to {self.a.label} (:{self.a.port}) open"
        else:
            self.a = self.apis[0]
            how = f"could not tell from /proc/net/tcp ({counts}); assuming {self.a.label}"
        self.b = next(api for api in self.apis if api is not self.a)
        self.a.label += " (A)"
        self.b.label += " (B)"
        c.check(len(routed) == 1, "nginx sends this client to one instance: call it A, the other B", how)

    def step3_shared(self):
        c = self.checks
        a, b = self.a, self.b
        c.begin("3", "a ticket created through A is served by B")
        first_text = f"Hola, mi laptop no enciende [{self.run_tag}-open]"
        status, body = self.webhook(a.url, first_text, f"TWO-{self.run_tag}-open")
        self.ticket_id = (body or {}).get("ticket_id")
        c.require(status == 200 and self.ticket_id, "POST /webhook on A opens a ticket",
                  f"HTTP {status}, ticket {self.ticket_id}")
        status, _, body = http_request("POST", f"{b.url}/api/auth/login/",
                                       {"username": "admin", "password": self.admin_password}, timeout=30)
        self.token = (_json(body) or {}).get("token") if status == 200 else None
        c.require(self.token, "admin logs in on B (the admin A created from the environment)", f"HTTP {status}")
        status, _, tickets = self.get(b.url, "/tickets")
        ids = [t.get("id") for t in tickets] if isinstance(tickets, list) else []
        c.require(status == 200 and self.ticket_id in ids, "GET /tickets on B lists A's ticket",
                  f"HTTP {status}, ids {ids}")
        status, history = self.conversation(b)
        contents = [m.get("content") for m in history or []]
        c.require(status == 200 and contents.count(first_text) == 1,
                  "GET /ticket/{id}/conversacion on B shows the message A stored", f"HTTP {status}, {len(contents)} "
                  "message(s)")
        status, _, body = self.get(a.url, "/tickets")
        c.check(status == 200, "B's session token is honoured by A (sessions live in the shared database)",
                f"HTTP {status}")
        status, body = self.webhook(b.url, first_text, f"TWO-{self.run_tag}-open")
        c.check(status == 200 and (body or {}).get("duplicado") is True and body.get("ticket_id") == self.ticket_id,
                "the same id_mensaje posted again on B is recognised as a duplicate",
                f"HTTP {status}, {body}")

    def step4_live(self):
        c = self.checks
        a, b = self.a, self.b
        c.begin("4", "a technician's WebSocket on A receives, live, a customer message that arrived through B")
        # nginx's own WebSocket proxying, against the real api, as the panel opens it: right after REST calls
        # (GET /tickets, POST ws-ticket), which leave nginx an idle keep-alive connection to the instance.
        self.get(self.nginx.url, "/tickets")
        first = self.socket_via_nginx()
        if first == "ok":
            c.check(True, "WebSocket upgrade through nginx, right after a REST call, reaches the api",
                    "connection_established")
        else:
            what = "WebSocket upgrade through nginx, right after a REST call, reaches the api"
            known = first.startswith("upgrade refused: 'HTTP/1.1 307")
            if known and not self.args.strict:
                c.warn("WebSocket through nginx right after a REST call: 307 (known issue)",
                       "nginx sent the upgrade over its idle keep-alive upstream connection (`keepalive 8`, shared "
                       "by /ws/); Hummingbird upgrades only a connection's first request and answers any later one "
                       "307 + Connection: close; browsers fail the WebSocket on a redirect (--strict fails here)")
            else:
                c.check(False, what, first)
            second = self.socket_via_nginx()
            c.check(second == "ok", "a second attempt (a fresh upstream connection) upgrades through nginx",
                    "connection_established" if second == "ok" else second)
        # The technician's socket: ticket issued by B, redeemed on A (single-use tickets live in the database).
        ws = self.open_socket(b, a.port, "technician on A")
        frame = ws.next_json(10)
        data = frame.get("data") or {}
        c.require(frame.get("tipo") == "connection_established" and data.get("ticket_id") == self.ticket_id,
                  "technician's WebSocket on A (ws-ticket issued by B): connection_established",
                  f"{len(data.get('historial_reciente') or [])} message(s) of history")
        self.ws_a = ws
        ws.drain(0.5)  # agente_joined and the like
        text = f"¿Ya revisaron mi equipo? [{self.run_tag}-live]"
        posted = time.monotonic()
        status, body = self.webhook(b.url, text, f"TWO-{self.run_tag}-live")
        c.require(status == 200 and (body or {}).get("ticket_id") == self.ticket_id,
                  "customer message posted to /webhook on B", f"HTTP {status}")
        frame = ws.wait_for(lambda f: f.get("tipo") == "mensaje_recibido"
                            and (f.get("data") or {}).get("contenido") == text, LIVE_TIMEOUT)
        seconds = time.monotonic() - posted
        c.check(frame is not None, f"A's socket receives it as mensaje_recibido within {LIVE_TIMEOUT:.0f} s",
                f"{seconds:.2f} s" if frame else f"frames seen: {[f.get('tipo') for f in ws.frames]}")
        if frame:
            author = (frame.get("data") or {}).get("autor") or {}
            c.check(author.get("tipo") == "CLIENTE" and (frame["data"].get("role") == "user"),
                    "the frame is the customer's message", f"autor {author}")

    def step5_failover(self):
        c = self.checks
        a, b = self.a, self.b
        c.begin("5", f"{MESSAGES} webhook messages through nginx; A is SIGKILLed midway")
        # A second technician socket, on B, counts what arrives live across the kill.
        ws_b = self.open_socket(a, b.port, "technician on B")
        frame = ws_b.next_json(10)
        c.require(frame.get("tipo") == "connection_established", "technician's WebSocket on B (ticket issued by A)")
        ws_b.drain(0.3)
        texts = [f"Mensaje {i:02d} de {MESSAGES} [{self.run_tag}-{i:02d}]" for i in range(1, MESSAGES + 1)]
        attempts = {}
        outcomes = {}
        accepted = 0
        kill_after = MESSAGES // 2
        killed = threading.Event()
        kill_info = {}
        half = threading.Event()

        def killer():
            half.wait()
            kill_info["at"] = time.monotonic()
            kill_info["pid"] = a.pid
            a.kill()
            killed.set()

        thread = threading.Thread(target=killer, daemon=True)
        thread.start()
        began = time.monotonic()
        for index, text in enumerate(texts, start=1):
            tries = []
            pause = 0.2
            while True:
                try:
                    status, body = self.webhook(self.nginx.url, text, f"TWO-{self.run_tag}-{index:02d}")
                    tries.append(status)
                except (OSError, http.client.HTTPException) as error:
                    status, body = None, None
                    tries.append(type(error).__name__)
                if status == 200:
                    break
                if status is not None and status not in RETRYABLE and status != 429:
                    break
                if len(tries) >= 12:
                    break
                time.sleep(pause)
                pause = min(2.0, pause * 1.6)
            attempts[index] = tries
            outcomes[index] = (status, body)
            if status == 200:
                accepted += 1
            time.sleep(0.05)
            if index == kill_after:
                # The killer wakes while the next post is on its way: the kill lands with it in flight, or just
                # before it (a real bridge does not wait).
                half.set()
        thread.join(timeout=40)
        sent_seconds = time.monotonic() - began
        retried = {i: t for i, t in attempts.items() if len(t) > 1}
        duplicates = [i for i, (s, body) in outcomes.items() if s == 200 and (body or {}).get("duplicado")]
        c.check(killed.is_set() and not a.alive(), "A SIGKILLed midway",
                f"pid {kill_info.get('pid')} after message {kill_after}")
        c.check(accepted == MESSAGES, f"all {MESSAGES} accepted (HTTP 200) through nginx",
                f"{accepted}/{MESSAGES} in {sent_seconds:.1f} s; retried: "
                + (", ".join(f"#{i} {t}" for i, t in retried.items()) or "none")
                + (f"; answered duplicado on retry: {duplicates}" if duplicates else ""))
        wrong_ticket = [i for i, (s, body) in outcomes.items() if s == 200 and (body or {}).get("ticket_id") !=
                        self.ticket_id]
        c.check(not wrong_ticket, "every message landed on the customer's one open ticket",
                f"other ticket for {wrong_ticket}" if wrong_ticket else f"ticket {self.ticket_id}")
        c.check(b.alive(), "B kept running", f"pid {b.pid}")

        # What B serves: each text exactly once, in the order sent.
        status, history = self.conversation(b)
        contents = [m.get("content") for m in history or []]
        counts = {t: contents.count(t) for t in texts}
        missing = [t for t, n in counts.items() if n == 0]
        doubled = [t for t, n in counts.items() if n > 1]
        c.check(status == 200 and not missing and not doubled,
                f"B's conversation holds each of the {MESSAGES} texts exactly once (killing A lost nothing)",
                f"HTTP {status}, {len(contents)} messages; missing {len(missing)}, twice or more {len(doubled)}"
                + (f": {(missing + doubled)[:3]}" if missing or doubled else ""))
        order = [t for t in contents if t in counts]
        c.check(order == texts, "and in the order they were sent", "" if order == texts else f"got {order[:5]}…")
        ids = [m.get("id") for m in history or []]
        c.check(len(ids) == len(set(ids)) and ids == sorted(ids), "message ids unique and increasing",
                f"{len(ids)} ids")

        # What the socket on B saw live (catching up itself over whatever A stored and never poked about).
        seen = []
        deadline = time.monotonic() + LIVE_TIMEOUT
        while time.monotonic() < deadline and len(set(seen) & set(texts)) < MESSAGES:
            try:
                frame = ws_b.next_json(max(0.05, deadline - time.monotonic()))
            except (TimeoutError, WebSocketClosed, OSError):
                break
            if frame.get("tipo") == "mensaje_recibido":
                seen.append((frame.get("data") or {}).get("contenido"))
        for frame in ws_b.drain(0.5):
            if frame.get("tipo") == "mensaje_recibido":
                seen.append((frame.get("data") or {}).get("contenido"))
        live = [t for t in seen if t in counts]
        live_missing = [t for t in texts if t not in live]
        live_doubled = sorted({t for t in live if live.count(t) > 1})
        c.check(not live_missing and not live_doubled,
                f"B's WebSocket received each of the {MESSAGES} live exactly once",
                f"{len(live)} frames; missing {len(live_missing)}, repeated {len(live_doubled)}"
                + (f" e.g. {(live_missing + live_doubled)[:2]}" if live_missing or live_doubled else ""))
        c.check(live == [t for t in texts if t in live], "and in order", "")
        # A's socket died with A.
        try:
            self.ws_a.drain(1.0)
            self.ws_a.next_json(0.5)
            closed = False
        except (WebSocketClosed, OSError):
            closed = True
        except TimeoutError:
            closed = False
        c.check(closed, "A's WebSocket was closed by the kill (a panel reconnects through nginx)", "")

        # A again.
        began = time.monotonic()
        a.start()
        c.require(a.wait_ready(READY_TIMEOUT), "A restarted (same ports, same data folder) and ready",
                  f"{time.monotonic() - began:.1f} s")
        status, history_a = self.conversation(a)
        _, history_b = self.conversation(b)
        same = history_a is not None and [(m.get("id"), m.get("content")) for m in history_a] == \
            [(m.get("id"), m.get("content")) for m in history_b or []]
        c.check(status == 200 and same, "restarted A serves the same conversation as B",
                f"HTTP {status}, {len(history_a or [])} vs {len(history_b or [])} messages")
        status, _, body = self.get(self.nginx.url, f"/ticket/{self.ticket_id}/conversacion")
        through = len((body or {}).get("historial") or []) if isinstance(body, dict) else None
        c.check(status == 200 and through == len(history_b or []), "and so does nginx",
                f"HTTP {status}, {through} messages")

    def step6_reply(self):
        c = self.checks
        b = self.b
        c.begin("6", "a technician's reply through B reaches WhatsApp once (outbox → RabbitMQ → relay → bridge)")
        marker = f"two-apis-{self.run_tag}"
        text = f"Hola, ya revisamos tu equipo [chaos:{marker}]"
        began = time.monotonic()
        status, _, body = http_request(
            "POST", f"{b.url}/ticket/{self.ticket_id}/enviar-mensaje",
            {"mensaje": text, "client_id": f"two-apis-{self.run_tag}"},
            headers={"Authorization": f"Token {self.token}"}, timeout=30)
        answer = _json(body) or {}
        c.check(status == 200 and answer.get("estado_entrega") == "sent",
                "enviar-mensaje on B answers 200, estado_entrega sent",
                f"HTTP {status}, {answer.get('estado_entrega')!r} in {time.monotonic() - began:.2f} s")
        deadline = time.monotonic() + 10
        while time.monotonic() < deadline and self.bridge.counts().get(marker, 0) < 1:
            time.sleep(0.1)
        time.sleep(1.5)  # a second copy (two outbox publishers, say) would arrive in this time
        delivered = self.bridge.counts().get(marker, 0)
        c.check(delivered == 1, "the bridge received it exactly once", f"{delivered} time(s)")

    def step7_logout(self):
        c = self.checks
        a, b = self.a, self.b
        c.begin("7", "a logout through B reaches A at once (session cache, sockets)")
        status, _, _ = self.get(a.url, "/tickets")  # A now holds the session in its cache
        ws = self.open_socket(a, a.port, "technician on A, before the logout")
        frame = ws.next_json(10)
        c.require(status == 200 and frame.get("tipo") == "connection_established",
                  "A knows the session (GET /tickets, a WebSocket on A)", f"HTTP {status}")
        ws.drain(0.3)
        status, _, _ = http_request("POST", f"{b.url}/api/auth/logout/", {},
                                    headers={"Authorization": f"Token {self.token}"}, timeout=15)
        logged_out = time.monotonic()
        c.require(status in (200, 204), "POST /api/auth/logout/ on B", f"HTTP {status}")
        refused_after = None
        answers = []
        while time.monotonic() - logged_out < 5:
            status, _, _ = self.get(a.url, "/tickets")
            answers.append(status)
            if status == 401:
                refused_after = time.monotonic() - logged_out
                break
            time.sleep(0.05)
        c.check(refused_after is not None and refused_after < 1.0, "A refuses the token within 1 s",
                f"after {refused_after:.2f} s ({len(answers)} request(s))" if refused_after is not None
                else f"still {answers[-3:]} after 5 s")
        closed_after = None
        deadline = time.monotonic() + 5
        try:
            while time.monotonic() < deadline:
                ws.next_json(deadline - time.monotonic())
        except (WebSocketClosed, OSError):
            closed_after = time.monotonic() - logged_out
        except TimeoutError:
            pass
        c.check(closed_after is not None, "A closes that session's WebSocket",
                f"after {closed_after:.2f} s, last frame {ws.frames[-1].get('tipo') if ws.frames else None!r}"
                if closed_after is not None else "still open after 5 s")

    def stop_all(self):
        """A graceful stop, checked: SIGTERM makes each service exit 0."""
        c = self.checks
        c.begin("8", "stopping")
        for ws in list(self.sockets):
            ws.close()
        self.sockets.clear()
        self.nginx.stop()
        c.check(not self.nginx.error_lines(), "nginx error.log has no emerg/alert/crit line",
                "; ".join(self.nginx.error_lines()[:2]))
        for service in [self.relay, *self.apis]:
            seconds, killed, code = service.terminate(timeout=30)
            c.check(code == 0 and not killed, f"{service.label} stops on SIGTERM with status 0",
                    f"status {code} in {seconds:.1f} s" + (" (had to be SIGKILLed)" if killed else ""))

    # ------------------------------------------------------------------ running and cleaning up

    def run(self):
        try:
            self.step1_start()
            self.step2_nginx()
            self.step3_shared()
            self.step4_live()
            self.step5_failover()
            self.step6_reply()
            self.step7_logout()
            self.stop_all()
        except Failed as failure:
            say(f"    stopping here: {failure}")
        except Exception as error:  # noqa: BLE001 - any surprise is a failure, reported with its trace
            traceback.print_exc()
            self.checks.rows.append((self.checks.step, f"unexpected {type(error).__name__}: {error}", False, ""))
        finally:
            passed = self.checks.passed
            self.cleanup(keep=(not passed) or self.args.keep)
        self.checks.table()
        say(f"    {time.monotonic() - self.started:.0f} s in all")
        if not passed:
            say(f"    FAILED — logs, databases and nginx's logs kept in {self.run_dir}")
            for api in self.apis:
                _tail(api.log_path)
        else:
            say("    passed" + (f" (run folder kept: {self.run_dir})" if self.args.keep else ""))
        return 0 if passed else 1

    def cleanup(self, keep=True):
        if self.cleaned:
            return
        self.cleaned = True
        for ws in self.sockets:
            ws.close()
        if self.nginx:
            self.nginx.stop()
        REGISTRY.cleanup()  # every service process (SIGKILL if still running) and the broker
        if self.bridge:
            self.bridge.stop()
        if not keep:
            shutil.rmtree(self.run_dir, ignore_errors=True)


def _json(body):
    try:
        return json.loads(body) if body else None
    except ValueError:
        return None


def _last_error(path):
    """The service's last words: the last line of its log that is not one of this harness's markers."""
    try:
        with open(path, errors="replace") as log:
            lines = [line.strip() for line in log if line.strip() and not line.startswith("=====")]
    except OSError:
        return "no log"
    errors = [line for line in lines if line.startswith("Error") or " error " in line or "critical" in line]
    return ((errors or lines or ["empty log"])[-1])[:200]


def _tail(path, lines=15):
    try:
        with open(path, errors="replace") as log:
            tail = log.readlines()[-lines:]
    except OSError:
        return
    say(f"    --- last lines of {path}")
    for line in tail:
        say(f"      {line.rstrip()}")


def main():
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--bin-dir", required=True, help="folder holding mostrador-api and mostrador-bridge-relay")
    parser.add_argument("--nginx", default=shutil.which("nginx") or "/usr/sbin/nginx", help="the nginx binary")
    parser.add_argument("--keep", action="store_true", help="keep the run folder even when everything passed")
    parser.add_argument("--strict", action="store_true",
                        help="fail on the known issues too (a WebSocket upgrade nginx sends over a kept-alive "
                             "upstream connection is answered 307)")
    parser.add_argument("--together", action="store_true",
                        help="start both api instances at once on the empty data folder, as systemd does on a "
                             "first boot (an instance that loses the migration race is restarted once, WARN)")
    args = parser.parse_args()
    if not (os.path.isfile(args.nginx) and os.access(args.nginx, os.X_OK)):
        say(f"two_apis_behind_nginx.py: nginx not found ({args.nginx}); apt-get install nginx-light")
        return 2
    test = TwoAPIs(args)

    def on_signal(signum, _frame):
        say(f"signal {signum}: stopping everything this test started")
        test.cleanup(keep=True)
        os._exit(128 + signum)

    for signum in (signal.SIGINT, signal.SIGTERM, signal.SIGHUP):
        signal.signal(signum, on_signal)
    return test.run()


if __name__ == "__main__":
    sys.exit(main())
