#!/usr/bin/env bash
# Runs the whole of Mostrador on this machine: an isolated RabbitMQ, the four services (each waited on until
# ready) and the WhatsApp bridge simulator — or, with --whatsapp, the real WhatsApp Web bridge
# (deploy/whatsapp-bridge, neonize): scan the QR it prints with WhatsApp > Linked devices. Ctrl-C stops everything
# (services first, gracefully, then the broker).
#
#   deploy/run.sh                       # release build (the first build takes several minutes)
#   deploy/run.sh --whatsapp            # a real WhatsApp number instead of the simulator
#   MOSTRADOR_BUILD=debug deploy/run.sh
#
# Everything lives under .run/ (broker data, SQLite files, logs, the WhatsApp session). Ports: api 8080,
# bridge-relay 8081, notifier 8082, classifier 8083, simulator or bridge 8090, RabbitMQ 5679.
set -euo pipefail
cd "$(dirname "${BASH_SOURCE[0]}")/.."
ROOT=$(pwd)
RUN="$ROOT/.run"
BUILD=${MOSTRADOR_BUILD:-release}
mkdir -p "$RUN/logs" "$RUN/data"
WHATSAPP=0
for arg in "$@"; do
    case "$arg" in
        --whatsapp) WHATSAPP=1 ;;
        *) echo "usage: deploy/run.sh [--whatsapp]   (--whatsapp: the real WhatsApp Web bridge instead of the simulator)" >&2; exit 2 ;;
    esac
done

SUDO=""
[ "$(id -u)" -eq 0 ] || SUDO="sudo"
packages=(rabbitmq-server librabbitmq-dev libsqlite3-dev libcurl4-openssl-dev pkg-config curl python3)
[ "$WHATSAPP" = 1 ] && packages+=(python3-venv libmagic1)
missing=()
for package in "${packages[@]}"; do
    dpkg-query -W -f='${Status}' "$package" 2>/dev/null | grep -q "install ok installed" || missing+=("$package")
done
if [ ${#missing[@]} -gt 0 ]; then
    echo "==> installing ${missing[*]}" >&2
    $SUDO apt-get update -qq
    DEBIAN_FRONTEND=noninteractive $SUDO apt-get install -y -qq "${missing[@]}" >/dev/null
fi
command -v swift >/dev/null || { echo "Swift 6.2 or newer must be on PATH (https://swift.org/install)" >&2; exit 1; }

echo "==> building ($BUILD)" >&2
swift build -c "$BUILD" >&2
BIN=$(swift build -c "$BUILD" --show-bin-path)

echo "==> starting RabbitMQ" >&2
AMQP_URL=$(deploy/broker.sh start --dir "$RUN/broker" --port "${MOSTRADOR_BROKER_PORT:-5679}")

# Development secrets, kept across runs; set the variables yourself for anything real.
if [ ! -f "$RUN/secrets.env" ]; then
    random() { head -c 24 /dev/urandom | od -An -tx1 | tr -d ' \n'; }
    cat >"$RUN/secrets.env" <<SECRETS
MOSTRADOR_WEBHOOK_TOKEN=$(random)
MOSTRADOR_BRIDGE_TOKEN=$(random)
MOSTRADOR_ADMIN_USER=admin
MOSTRADOR_ADMIN_PASSWORD=$(random | cut -c1-16)
SECRETS
fi
set -a
# shellcheck disable=SC1091
source "$RUN/secrets.env"
set +a
export MOSTRADOR_AMQP_URL="$AMQP_URL"
export MOSTRADOR_DATA_DIR="${MOSTRADOR_DATA_DIR:-$RUN/data}"
export MOSTRADOR_LOG_FORMAT="${MOSTRADOR_LOG_FORMAT:-text}"
export MOSTRADOR_BRIDGE_URL="${MOSTRADOR_BRIDGE_URL:-http://127.0.0.1:${SIM_PORT:-8090}}"
API_PORT=${MOSTRADOR_API_PORT:-8080}
if [ "$WHATSAPP" = 1 ]; then
    # The bridge's typing pause and pacing can take a few seconds; a timed-out send is retried with the same
    # Idempotency-Key, which the bridge answers without sending again.
    export MOSTRADOR_BRIDGE_TIMEOUT_SECONDS="${MOSTRADOR_BRIDGE_TIMEOUT_SECONDS:-15}"
    WHATSAPP_VENV="${MOSTRADOR_WHATSAPP_VENV:-${XDG_CACHE_HOME:-$HOME/.cache}/mostrador/whatsapp-bridge-venv}"
    [ -x "$WHATSAPP_VENV/bin/python" ] || python3 -m venv "$WHATSAPP_VENV"
    "$WHATSAPP_VENV/bin/pip" install -q --disable-pip-version-check -r deploy/whatsapp-bridge/requirements.txt
fi

pids=()
stop_all() {
    trap - INT TERM EXIT
    echo >&2
    echo "==> stopping services" >&2
    for pid in "${pids[@]}"; do kill -TERM "$pid" 2>/dev/null || true; done
    for pid in "${pids[@]}"; do wait "$pid" 2>/dev/null || true; done
    echo "==> stopping RabbitMQ" >&2
    deploy/broker.sh stop --dir "$RUN/broker" >&2 || true
}
trap stop_all INT TERM EXIT

start_service() { # name port
    MOSTRADOR_HTTP_PORT=$2 "$BIN/mostrador-$1" >"$RUN/logs/$1.log" 2>&1 &
    pids+=($!)
}
start_service api "$API_PORT"
start_service bridge-relay "${MOSTRADOR_RELAY_PORT:-8081}"
start_service notifier "${MOSTRADOR_NOTIFIER_PORT:-8082}"
start_service classifier "${MOSTRADOR_CLASSIFIER_PORT:-8083}"
if [ "$WHATSAPP" = 1 ]; then
    BRIDGE_TOKEN="$MOSTRADOR_BRIDGE_TOKEN" BRIDGE_PORT="${SIM_PORT:-8090}" BRIDGE_DATA_DIR="$RUN/whatsapp" \
        MOSTRADOR_WEBHOOK_URL="http://127.0.0.1:$API_PORT/webhook" BRIDGE_PRINT_QR=0 PYTHONDONTWRITEBYTECODE=1 \
        "$WHATSAPP_VENV/bin/python" deploy/whatsapp-bridge/bridge.py >"$RUN/logs/whatsapp-bridge.log" 2>&1 &
    pids+=($!)
else
    python3 deploy/bridge-simulator.py --port "${SIM_PORT:-8090}" --api-url "http://127.0.0.1:$API_PORT" \
        >"$RUN/logs/bridge-simulator.log" 2>&1 &
    pids+=($!)
fi

for entry in "api:$API_PORT" "bridge-relay:${MOSTRADOR_RELAY_PORT:-8081}" \
    "notifier:${MOSTRADOR_NOTIFIER_PORT:-8082}" "classifier:${MOSTRADOR_CLASSIFIER_PORT:-8083}"; do
    name=${entry%%:*} port=${entry##*:}
    for _ in $(seq 1 300); do
        curl -fs "http://127.0.0.1:$port/health/ready" >/dev/null 2>&1 && break
        sleep 0.1
    done
    if curl -fs "http://127.0.0.1:$port/health/ready" >/dev/null 2>&1; then
        echo "    ✓ $name ready on http://127.0.0.1:$port" >&2
    else
        echo "    ✗ $name is not ready; see $RUN/logs/$name.log" >&2
        tail -20 "$RUN/logs/$name.log" >&2
        exit 1
    fi
done

if [ "$WHATSAPP" = 1 ]; then
    bridge() { curl -s -H "Authorization: Bearer $MOSTRADOR_BRIDGE_TOKEN" "http://127.0.0.1:${SIM_PORT:-8090}$1"; }
    shown="" status=""
    for _ in $(seq 1 900); do # up to ~3 minutes for the first pairing; a linked session connects in seconds
        status=$(bridge /health | sed -n 's/.*"status": *"\([a-z_]*\)".*/\1/p')
        [ "$status" = connected ] && { echo "    ✓ WhatsApp connected" >&2; break; }
        code=$(bridge "/qr?formato=texto" | grep -v '^{' || true)
        if [ -n "$code" ] && [ "$code" != "$shown" ]; then
            shown=$code
            echo "    Scan with WhatsApp > Linked devices > Link a device (it changes every ~20 s):" >&2
            printf '%s' "$code" | "$WHATSAPP_VENV/bin/python" -c \
                'import segno, sys; segno.make_qr(sys.stdin.read()).terminal(out=sys.stderr, compact=True)'
        fi
        sleep 0.2
    done
    [ "$status" = connected ] ||
        echo "    ✗ WhatsApp not linked yet: $(bridge /health)  (log: $RUN/logs/whatsapp-bridge.log)" >&2
    CHANNEL_LINE="WhatsApp bridge    http://127.0.0.1:${SIM_PORT:-8090}/health (Bearer \$MOSTRADOR_BRIDGE_TOKEN); session in $RUN/whatsapp"
else
    CHANNEL_LINE="WhatsApp simulator http://127.0.0.1:${SIM_PORT:-8090}/  — write as a customer there; technicians' replies show up
                     in it; switch it to \"desconectado\" or \"lento\" to see parking and retries"
fi

cat >&2 <<INFO

Mostrador is running.
  api / panel        http://127.0.0.1:$API_PORT/   (OpenAPI: /openapi.yaml)
  panel login        $MOSTRADOR_ADMIN_USER / $MOSTRADOR_ADMIN_PASSWORD
  $CHANNEL_LINE
  broker             $AMQP_URL
  secrets            $RUN/secrets.env        logs  $RUN/logs/
  Ctrl-C stops everything.
INFO
wait
