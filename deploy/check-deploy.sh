#!/usr/bin/env bash
# deploy/check-deploy.sh — checks the production files in deploy/systemd and deploy/nginx without installing
# anything on this machine and without systemd running (it works in a container):
#
#   1. env examples: KEY=value lines only, every MOSTRADOR_*/BRIDGE_* name one the code reads (typos fail)
#   2. systemd: the units in a throwaway root (--root) holding this machine's own system units, stand-in
#      executables for every Exec*= path, the instances enabled into mostrador.target with `systemctl --root`;
#      `systemd-analyze verify` must print nothing; `systemd-analyze security --offline` must stay under a ceiling
#   3. nginx -t on deploy/nginx/mostrador.conf with a throwaway self-signed certificate: no warning, no error
#   4. deploy/nginx/mostrador-test.conf.template run as a real nginx in front of two stand-in upstreams:
#      headers, the WebSocket upgrade, body limits, /metrics closed, failover to the other instance
#   5. deploy/compose.yaml parses as YAML (when python3 has yaml)
#
#   deploy/check-deploy.sh          # exit 0 when everything passed
#
# Needs systemd-analyze and systemctl (Debian: systemd), nginx (nginx-light or nginx), openssl, python3. Missing
# ones are installed with apt-get when CI=true (as .ci/run does); otherwise the script says what to install.
set -euo pipefail
cd "$(dirname "${BASH_SOURCE[0]}")/.."
ROOT_DIR=$(pwd)

SUDO=""
[ "$(id -u)" -eq 0 ] || SUDO="sudo"
missing=()
command -v systemd-analyze >/dev/null && command -v systemctl >/dev/null || missing+=(systemd)
command -v nginx >/dev/null || [ -x /usr/sbin/nginx ] || missing+=(nginx-light)
command -v openssl >/dev/null || missing+=(openssl)
command -v python3 >/dev/null || missing+=(python3)
if [ ${#missing[@]} -gt 0 ]; then
    if [ "${CI:-}" = true ]; then
        echo "==> installing ${missing[*]}" >&2
        $SUDO apt-get update -qq
        DEBIAN_FRONTEND=noninteractive $SUDO apt-get install -y -qq "${missing[@]}" >/dev/null
    else
        echo "check-deploy.sh: missing ${missing[*]}; install with:" >&2
        echo "    sudo apt-get install -y ${missing[*]}" >&2
        echo "(on a machine with systemd running, installing nginx also starts Debian's nginx.service on port 80)" >&2
        exit 2
    fi
fi
NGINX=$(command -v nginx || echo /usr/sbin/nginx)

WORK=$(mktemp -d "${TMPDIR:-/tmp}/mostrador-check-deploy.XXXXXX")
# Run as root, nginx's workers are `nobody`: they must reach the temporary folders under $WORK.
chmod 0755 "$WORK"
PIDS=()
NGINX_RUNNING=""
cleanup() {
    if [ -n "$NGINX_RUNNING" ] && [ -f "$WORK/nginx-test/nginx.pid" ]; then
        "$NGINX" -p "$WORK/nginx-test" -c "$WORK/nginx-test/nginx.conf" -e stderr -s stop 2>/dev/null || true
    fi
    for pid in "${PIDS[@]}"; do kill "$pid" 2>/dev/null || true; done
    for pid in "${PIDS[@]}"; do wait "$pid" 2>/dev/null || true; done
    rm -rf "$WORK"
}
trap cleanup EXIT

FAILED=0
fail() { echo "    ✗ $*" >&2; FAILED=1; }
ok() { echo "    ✓ $*" >&2; }

# ---------------------------------------------------------------------------------------------- 1. env examples
echo "==> env examples (deploy/systemd/env)" >&2
KNOWN="$WORK/known-names"
{
    grep -rhoE '"MOSTRADOR_[A-Z0-9_]+"' Shared Services | tr -d '"'
    grep -rhoE '"(MOSTRADOR|BRIDGE)_[A-Z0-9_]+"' deploy/whatsapp-bridge/whatsapp_bridge | tr -d '"'
} | sort -u >"$KNOWN"
for file in deploy/systemd/env/*.example; do
    bad=$(grep -nvE '^[[:space:]]*$|^#|^[A-Z_][A-Z0-9_]*=' "$file" || true)
    [ -z "$bad" ] || fail "$file: not KEY=value: $bad"
    # Every MOSTRADOR_* / BRIDGE_* assignment, commented out or not, must be a name the code reads.
    for name in $(sed -nE 's/^#?((MOSTRADOR|BRIDGE)_[A-Z0-9_]+)=.*/\1/p' "$file" | sort -u); do
        grep -qx "$name" "$KNOWN" || fail "$file: $name is not read by any service"
    done
done
[ $FAILED = 0 ] && ok "$(ls deploy/systemd/env/*.example | wc -l) files, every name known to the code"
sh -n deploy/systemd/mostrador-rabbitmq && ok "deploy/systemd/mostrador-rabbitmq parses (sh -n)" ||
    fail "deploy/systemd/mostrador-rabbitmq: sh -n failed"

# ---------------------------------------------------------------------------------------------- 2. systemd
echo "==> systemd units (systemd-analyze verify in a throwaway root)" >&2
ROOT="$WORK/root"
mkdir -p "$ROOT/usr/lib/systemd" "$ROOT/etc/systemd/system"
# The machine's own units (network-online.target, multi-user.target, …), which ours depend on.
SYSTEM_UNITS=/usr/lib/systemd/system
[ -d "$SYSTEM_UNITS" ] || SYSTEM_UNITS=/lib/systemd/system
cp -a "$SYSTEM_UNITS" "$ROOT/usr/lib/systemd/"
cp deploy/systemd/*.service deploy/systemd/*.target "$ROOT/etc/systemd/system/"
# verify refuses an Exec*= whose program does not exist (in the root): stand-ins for each.
for path in $(sed -nE 's/^Exec[A-Za-z]*=[-@+!:]*([^ ]+).*/\1/p' deploy/systemd/*.service | sort -u); do
    mkdir -p "$ROOT$(dirname "$path")"
    [ -e "$ROOT$path" ] || { printf '#!/bin/sh\nexit 0\n' >"$ROOT$path"; chmod 755 "$ROOT$path"; }
done
UNITS=(mostrador.target mostrador-rabbitmq.service mostrador-api@8080.service mostrador-api@8084.service
    mostrador-bridge-relay@8081.service mostrador-notifier@8082.service mostrador-classifier@8083.service
    mostrador-whatsapp-bridge.service)
if out=$(systemctl --root="$ROOT" enable "${UNITS[@]}" 2>&1); then
    wants=$(ls "$ROOT/etc/systemd/system/mostrador.target.wants" | wc -l)
    [ "$wants" = 7 ] && ok "systemctl enable: 7 units wanted by mostrador.target" ||
        fail "systemctl enable: $wants units in mostrador.target.wants, expected 7"
else
    fail "systemctl --root enable failed: $out"
fi
if out=$(systemd-analyze verify --man=no --root="$ROOT" "${UNITS[@]}" 2>&1) && [ -z "$out" ]; then
    ok "systemd-analyze verify: ${#UNITS[@]} units (and their dependencies), no warning"
else
    fail "systemd-analyze verify:"
    printf '%s\n' "$out" | sed 's/^/        /' >&2
fi
# Exposure (0 best … 10 worst), as systemd-analyze security scores it; the ceilings are today's scores rounded up.
for entry in mostrador-api@8080.service:20 mostrador-bridge-relay@8081.service:20 \
    mostrador-notifier@8082.service:20 mostrador-classifier@8083.service:20 \
    mostrador-whatsapp-bridge.service:35 mostrador-rabbitmq.service:40; do
    unit=${entry%%:*} ceiling=${entry##*:}
    if out=$(systemd-analyze security --offline=yes --root="$ROOT" --threshold="$ceiling" "$unit" 2>&1); then
        ok "$(printf '%s\n' "$out" | sed -n 's/.*Overall exposure level for \(.*\)/\1/p') (ceiling $((ceiling / 10)).$((ceiling % 10)))"
    else
        fail "systemd-analyze security $unit: above $((ceiling / 10)).$((ceiling % 10)): $(printf '%s\n' "$out" | tail -1)"
    fi
done

# Free TCP ports on 127.0.0.1 (nginx -t binds its listen addresses; ports 80/443 need root or are taken).
free_ports() { python3 - "$1" <<'EOF'
import socket, sys
held = []
for _ in range(int(sys.argv[1])):
    s = socket.socket(); s.bind(("127.0.0.1", 0)); held.append(s); print(s.getsockname()[1])
EOF
}

# ---------------------------------------------------------------------------------------------- 3. nginx -t
echo "==> nginx -t (deploy/nginx/mostrador.conf, throwaway self-signed certificate)" >&2
PROD="$WORK/nginx-prod"
mkdir -p "$PROD/snippets" "$PROD/tls"
openssl req -x509 -newkey rsa:2048 -nodes -days 1 -subj "/CN=help.example.com" \
    -keyout "$PROD/tls/privkey.pem" -out "$PROD/tls/fullchain.pem" >/dev/null 2>&1
cp deploy/nginx/mostrador-locations.conf "$PROD/snippets/"
# Only the certificate paths and the port numbers change (nginx -t binds what it listens on).
read -r HTTP_PORT HTTPS_PORT <<<"$(free_ports 2 | tr '\n' ' ')"
sed -E -e "s#/etc/ssl/mostrador/#$PROD/tls/#g" \
    -e "s/listen (\[::\]:)?80;/listen \1$HTTP_PORT;/" -e "s/listen (\[::\]:)?443 /listen \1$HTTPS_PORT /" \
    deploy/nginx/mostrador.conf >"$PROD/mostrador.conf"
grep -q "$PROD/tls/fullchain.pem" "$PROD/mostrador.conf" || fail "mostrador.conf: certificate placeholder not found"
[ "$(grep -cE "listen (\[::\]:)?($HTTP_PORT|$HTTPS_PORT)[ ;]" "$PROD/mostrador.conf")" = 4 ] ||
    fail "mostrador.conf: expected listen 80, [::]:80, 443 and [::]:443"
cat >"$PROD/nginx.conf" <<EOF
# What Debian's /etc/nginx/nginx.conf gives sites-enabled/, reduced to what mostrador.conf relies on.
pid nginx.pid;
error_log error.log warn;
events { worker_connections 64; }
http {
    access_log access.log;
    client_body_temp_path client_body_temp;
    proxy_temp_path proxy_temp;
    fastcgi_temp_path fastcgi_temp;
    uwsgi_temp_path uwsgi_temp;
    scgi_temp_path scgi_temp;
    include mostrador.conf;
}
EOF
out=$("$NGINX" -t -p "$PROD" -c "$PROD/nginx.conf" -e stderr 2>&1) || true
if printf '%s\n' "$out" | grep -q 'test is successful' && ! printf '%s\n' "$out" | grep -qE '\[(warn|emerg|alert|crit|error)\]'; then
    ok "nginx -t: $(printf '%s\n' "$out" | grep -c . ) lines, syntax ok, test successful, no warning ($("$NGINX" -v 2>&1 | sed 's/.*: //'))"
else
    fail "nginx -t:"
    printf '%s\n' "$out" | sed 's/^/        /' >&2
fi

# ---------------------------------------------------------------------------------------------- 4. nginx, running
echo "==> deploy/nginx/mostrador-test.conf.template in front of two stand-in api instances" >&2
TEST="$WORK/nginx-test"
mkdir -p "$TEST"
read -r LISTEN API1 API2 <<<"$(free_ports 3 | tr '\n' ' ')"
cat >"$WORK/upstream.py" <<'EOF'
# A stand-in api instance: answers JSON describing the request; /ws/… upgrades (101) and echoes bytes.
import json, sys
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer

NAME, PORT = sys.argv[1], int(sys.argv[2])

class Handler(BaseHTTPRequestHandler):
    protocol_version = "HTTP/1.1"

    def log_message(self, *args):
        pass

    def handle_any(self):
        if self.headers.get("Upgrade", "").lower() == "websocket":
            self.send_response(101)
            self.send_header("Upgrade", "websocket")
            self.send_header("Connection", "Upgrade")
            self.end_headers()
            self.wfile.flush()
            while data := self.connection.recv(65536):
                self.connection.sendall(data)
            self.close_connection = True
            return
        length = int(self.headers.get("Content-Length") or 0)
        received = 0
        while received < length:
            chunk = self.rfile.read(min(1 << 20, length - received))
            if not chunk:
                break
            received += len(chunk)
        body = json.dumps({"server": NAME, "method": self.command, "path": self.path, "received": received,
                           "headers": {k.lower(): v for k, v in self.headers.items()}}).encode()
        self.send_response(200)
        self.send_header("Content-Type", "application/json")
        self.send_header("Content-Length", str(len(body)))
        self.end_headers()
        self.wfile.write(body)

    do_GET = do_POST = handle_any

ThreadingHTTPServer.daemon_threads = True
ThreadingHTTPServer(("127.0.0.1", PORT), Handler).serve_forever()
EOF
python3 "$WORK/upstream.py" api1 "$API1" &
PIDS+=($!)
UPSTREAM1=$!
python3 "$WORK/upstream.py" api2 "$API2" &
PIDS+=($!)
UPSTREAM2=$!
sed -e "s/@LISTEN@/$LISTEN/g" -e "s/@API1@/$API1/g" -e "s/@API2@/$API2/g" \
    deploy/nginx/mostrador-test.conf.template >"$TEST/nginx.conf"
cp deploy/nginx/mostrador-locations.conf "$TEST/"
if grep -q '@[A-Z0-9]*@' "$TEST/nginx.conf"; then fail "template: placeholders left: $(grep -o '@[A-Z0-9]*@' "$TEST/nginx.conf" | sort -u | tr '\n' ' ')"; fi
out=$("$NGINX" -t -p "$TEST" -c "$TEST/nginx.conf" -e stderr 2>&1) || true
printf '%s\n' "$out" | grep -q 'test is successful' && ! printf '%s\n' "$out" | grep -qE '\[(warn|emerg|alert|crit|error)\]' ||
    { fail "nginx -t (test template):"; printf '%s\n' "$out" | sed 's/^/        /' >&2; }
# The stand-ins must be listening before nginx proxies to them.
python3 - "$API1" "$API2" <<'EOF'
import socket, sys, time
for port in map(int, sys.argv[1:]):
    for _ in range(100):
        try:
            socket.create_connection(("127.0.0.1", port), timeout=1).close()
            break
        except OSError:
            time.sleep(0.05)
    else:
        sys.exit(f"stand-in on {port} did not start")
EOF
if "$NGINX" -p "$TEST" -c "$TEST/nginx.conf" -e stderr 2>"$WORK/nginx-start.log"; then
    NGINX_RUNNING=1
    for _ in $(seq 1 50); do [ -s "$TEST/nginx.pid" ] && break; sleep 0.1; done
    ok "nginx started as $(id -un) from $TEST (pid $(cat "$TEST/nginx.pid"))"
else
    fail "nginx did not start: $(cat "$WORK/nginx-start.log")"
fi
if [ -n "$NGINX_RUNNING" ]; then
    if python3 - "$LISTEN" "$API1:$UPSTREAM1" "$API2:$UPSTREAM2" <<'EOF' >&2; then
import http.client, json, os, signal, socket, sys, time

port = int(sys.argv[1])
upstreams = {}
for n, arg in enumerate(sys.argv[2:], 1):
    up_port, pid = arg.split(":")
    upstreams[f"api{n}"] = int(pid)
failures = 0

def check(condition, what):
    global failures
    print(f"    {'✓' if condition else '✗'} {what}")
    failures += 0 if condition else 1

def request(method, path, body=None, headers=None):
    conn = http.client.HTTPConnection("127.0.0.1", port, timeout=10)
    conn.request(method, path, body=body, headers=headers or {})
    response = conn.getresponse()
    data = response.read()
    conn.close()
    return response.status, data

status, data = request("GET", "/tickets", headers={"Host": "help.example.com"})
seen = json.loads(data) if status == 200 else {}
headers = seen.get("headers", {})
check(status == 200, f"GET /tickets proxied to {seen.get('server')} ({status})")
check(headers.get("x-forwarded-for") == "127.0.0.1", f"X-Forwarded-For {headers.get('x-forwarded-for')!r}")
check(headers.get("x-forwarded-proto") == "http", f"X-Forwarded-Proto {headers.get('x-forwarded-proto')!r}")
check(headers.get("host") == "help.example.com", f"Host {headers.get('host')!r}")
check("upgrade" not in headers and headers.get("connection", "").lower() != "close",
      "plain requests keep the upstream connection alive (no Connection: close)")
status, data = request("GET", "/tickets", headers={"X-Forwarded-For": "203.0.113.7"})
spoofed = json.loads(data)["headers"].get("x-forwarded-for") if status == 200 else None
check(spoofed == "203.0.113.7, 127.0.0.1",
      f"a client's own X-Forwarded-For is kept to the left of the real peer: {spoofed!r}")

sock = socket.create_connection(("127.0.0.1", port), timeout=10)
sock.sendall(b"GET /ws/soporte/ticket/1/?ticket=abc HTTP/1.1\r\nHost: help.example.com\r\n"
             b"Upgrade: websocket\r\nConnection: Upgrade\r\nSec-WebSocket-Version: 13\r\n"
             b"Sec-WebSocket-Key: dGhlIHNhbXBsZSBub25jZQ==\r\n\r\n")
head = b""
while b"\r\n\r\n" not in head:
    chunk = sock.recv(4096)
    if not chunk:
        break
    head += chunk
status_line = head.split(b"\r\n")[0].decode(errors="replace")
check(head.startswith(b"HTTP/1.1 101"), f"WebSocket upgrade on /ws/…: {status_line!r}")
sock.sendall(b"frame bytes both ways")
echoed = b""
while len(echoed) < len(b"frame bytes both ways"):
    chunk = sock.recv(4096)
    if not chunk:
        break
    echoed += chunk
check(echoed == b"frame bytes both ways", "bytes flow both ways through the upgraded connection")
sock.close()

status, data = request("POST", "/webhook", body=b"x" * (22 << 20), headers={"Content-Type": "application/json"})
check(status == 200 and json.loads(data)["received"] == 22 << 20, f"a 22 MiB body reaches the api ({status})")
status, _ = request("POST", "/webhook", body=b"x" * ((23 << 20) + 1), headers={"Content-Type": "application/json"})
check(status == 413, f"a body over 23 MiB is refused by nginx ({status})")
status, data = request("GET", "/metrics")
check(status == 404 and b"server" not in data, f"/metrics is not proxied ({status})")

# Affinity, then failover: the instance this client hashes to goes away; the request goes to the other one.
status, data = request("GET", "/health/ready")
first = json.loads(data)["server"]
again = [json.loads(request("GET", "/health/ready")[1])["server"] for _ in range(5)]
check(all(name == first for name in again), f"one client stays on one instance ({first})")
os.kill(upstreams[first], signal.SIGTERM)
time.sleep(0.3)
status, data = request("GET", "/health/ready")
other = json.loads(data)["server"] if status == 200 else None
check(status == 200 and other not in (None, first), f"with {first} gone, {other} answers ({status})")
sys.exit(1 if failures else 0)
EOF
        :
    else
        FAILED=1
    fi
    "$NGINX" -p "$TEST" -c "$TEST/nginx.conf" -e stderr -s quit 2>/dev/null
    for _ in $(seq 1 50); do [ -f "$TEST/nginx.pid" ] || break; sleep 0.1; done
    if [ -f "$TEST/nginx.pid" ]; then fail "nginx did not stop"; else NGINX_RUNNING=""; ok "nginx stopped"; fi
    if grep -qE '\[(emerg|alert|crit)\]' "$TEST/error.log"; then fail "nginx error.log: $(grep -E '\[(emerg|alert|crit)\]' "$TEST/error.log")"; fi
fi

# ---------------------------------------------------------------------------------------------- 5. compose
echo "==> deploy/compose.yaml" >&2
if python3 -c 'import yaml' 2>/dev/null; then
    if out=$(python3 - <<'EOF' 2>&1
import yaml
with open("deploy/compose.yaml") as f:
    compose = yaml.safe_load(f)
services = compose["services"]
for name in ("rabbitmq", "api", "bridge-relay", "notifier", "classifier", "nginx"):
    assert name in services, f"service {name} missing"
for name, service in services.items():
    for dependency in service.get("depends_on", {}):
        assert dependency in services, f"{name} depends on unknown {dependency}"
    for volume in service.get("volumes", []):
        source = volume.split(":")[0] if isinstance(volume, str) else volume.get("source")
        assert source.startswith((".", "/")) or source in compose.get("volumes", {}), f"{name}: volume {source} undeclared"
    for config in service.get("configs", []):
        source = config if isinstance(config, str) else config["source"]
        assert source in compose.get("configs", {}), f"{name}: config {source} undeclared"
print(f"{len(services)} services: {', '.join(services)}")
EOF
    ); then ok "parses: $out"; else fail "compose.yaml: $out"; fi
else
    echo "    - skipped: python3 has no yaml module (apt-get install python3-yaml)" >&2
fi

if [ $FAILED = 0 ]; then
    echo "==> deploy checks passed" >&2
else
    echo "==> deploy checks FAILED" >&2
    exit 1
fi
