#!/usr/bin/env bash
# Benchmarks of the running system (release build, isolated broker, fresh data), printing figures:
#
#   deploy/bench.sh amqp       wrapper vs rabbitmq-c: 100,000 persistent 256-byte messages, confirms and acks
#   deploy/bench.sh ingest     POST /webhook, 64 connections, 10 s, 1,000 senders; checks every 200 was committed
#   deploy/bench.sh outbound   enviar-mensaje → relay → bridge, sustained messages/s, checks none was lost
#   deploy/bench.sh websocket  1,000 clients in one room: webhook → every client, p50/p99; memory per idle socket
set -euo pipefail
cd "$(dirname "${BASH_SOURCE[0]}")/.."
what=${1:-all}
DURATION=${BENCH_DURATION:-10s}
CONNECTIONS=${BENCH_CONNECTIONS:-64}
WORK=$(mktemp -d "${TMPDIR:-/tmp}/mostrador-bench.XXXXXX")
command -v wrk >/dev/null || { apt-get update -qq && apt-get install -y -qq wrk sqlite3 >/dev/null; }

swift build -c release >&2
BIN=$(swift build -c release --show-bin-path)
URL=$(deploy/broker.sh start --dir "$WORK/broker" --port auto)
PORT=${URL##*:}; PORT=${PORT%%/*}
pids=()
cleanup() {
    for pid in "${pids[@]}"; do kill -TERM "$pid" 2>/dev/null || true; done
    for pid in "${pids[@]}"; do wait "$pid" 2>/dev/null || true; done
    deploy/broker.sh stop --dir "$WORK/broker" >/dev/null 2>&1 || true
}
trap cleanup EXIT

export MOSTRADOR_AMQP_URL=$URL MOSTRADOR_DATA_DIR=$WORK/data MOSTRADOR_LOG_LEVEL=warning
export MOSTRADOR_WEBHOOK_TOKEN=bench-webhook MOSTRADOR_ADMIN_USER=admin MOSTRADOR_ADMIN_PASSWORD=bench-password
export MOSTRADOR_BRIDGE_URL=http://127.0.0.1:18099 MOSTRADOR_BRIDGE_TOKEN=bench-bridge MOSTRADOR_RELAY_RATE=0
export MOSTRADOR_RELAY_LANES=${BENCH_LANES:-64}

wait_ready() { for _ in $(seq 1 300); do curl -fs "$1/health/ready" >/dev/null 2>&1 && return 0; sleep 0.1; done; return 1; }
start() { # name port
    MOSTRADOR_HTTP_PORT=$2 "$BIN/mostrador-$1" >"$WORK/$1.log" 2>&1 &
    pids+=($!)
    wait_ready "http://127.0.0.1:$2"
}

amqp() {
    echo "== AMQP: wrapper vs rabbitmq-c (quorum queue, persistent, 256 bytes)"
    for _ in 1 2 3; do
        "$BIN/mostrador-bench" amqp-raw --port "$PORT"
        "$BIN/mostrador-bench" amqp --url "$URL"
    done
}

ingest() {
    echo "== ingest: POST /webhook, $CONNECTIONS connections, $DURATION per phase, 1,000 senders"
    echo "   (MOSTRADOR_DB_DURABILITY=${MOSTRADOR_DB_DURABILITY:-full}, MOSTRADOR_INTAKE=${MOSTRADOR_INTAKE:-on})"
    start api 18080
    local accepted=0 requests non2xx stored
    # First contact: 1,000 tickets open and their assistant dialogues run. Then: ongoing conversations.
    for phase in "first contact (tickets opening, assistant replying)" "ongoing conversations"; do
        echo "-- $phase"
        wrk -t2 -c"$CONNECTIONS" -d"$DURATION" --latency -s deploy/bench/webhook.lua http://127.0.0.1:18080 |
            tee "$WORK/wrk.txt" | grep -E "Latency  |50%|90%|99%|requests in|Requests/sec|Non-2xx"
        requests=$(awk '/requests in/ {print $1}' "$WORK/wrk.txt")
        non2xx=$(awk '/Non-2xx/ {print $5}' "$WORK/wrk.txt"); non2xx=${non2xx:-0}
        accepted=$((accepted + requests - non2xx))
    done
    stored=$(sqlite3 "$WORK/data/mostrador.sqlite" "SELECT COUNT(*) FROM messages WHERE role = 'user'")
    echo "accepted (200): $accepted   stored customer messages: $stored"
    # wrk cuts requests off at the deadline: those may be stored without wrk seeing their 200.
    [ "$stored" -ge "$accepted" ] && echo "every accepted message is committed" || echo "LOST MESSAGES"
}

outbound() {
    echo "== outbound: enviar-mensaje → relay → bridge, $CONNECTIONS connections, $DURATION"
    "$BIN/mostrador-bench" bridge --port 18099 --token bench-bridge >"$WORK/bridge.log" 2>&1 &
    pids+=($!)
    start api 18080
    start bridge-relay 18081
    for i in $(seq 1 1000); do
        printf '{"remitente":"52155%08d","contenido":"hola"}' "$i" |
            curl -fs -XPOST http://127.0.0.1:18080/webhook -H "Authorization: Bearer $MOSTRADOR_WEBHOOK_TOKEN" -d @- >/dev/null
    done
    BENCH_AGENT_TOKEN=$(curl -fs -XPOST http://127.0.0.1:18080/api/auth/login/ \
        -d "{\"username\":\"admin\",\"password\":\"$MOSTRADOR_ADMIN_PASSWORD\"}" | sed 's/.*"token":"\([^"]*\)".*/\1/')
    export BENCH_AGENT_TOKEN BENCH_TICKETS=1000
    wrk -t2 -c"$CONNECTIONS" -d"$DURATION" --latency -s deploy/bench/send.lua http://127.0.0.1:18080 | tee "$WORK/wrk.txt"
    local stored
    sleep 2
    for _ in $(seq 1 60); do
        stored=$(sqlite3 "$WORK/data/mostrador.sqlite" "SELECT COUNT(*) FROM messages WHERE role = 'tecnico'")
        unique=$(curl -fs http://127.0.0.1:18099/stats | sed 's/.*"unique":\([0-9]*\).*/\1/')
        [ "$unique" -ge "$stored" ] && break
        sleep 1
    done
    echo "stored technician messages: $stored   reached the bridge: $(curl -fs http://127.0.0.1:18099/stats)"
    [ "$unique" -eq "$stored" ] && echo "none lost, none duplicated" || echo "MISMATCH"
}

websocket() {
    echo "== WebSocket: $BENCH_WS_CLIENTS clients in one room; memory with $BENCH_WS_IDLE idle sockets"
    ulimit -n 65536 2>/dev/null || ulimit -n "$(ulimit -Hn)"
    # More sockets than the default MOSTRADOR_MAX_CONNECTIONS (4096), all from one address and one token: raise
    # the connection cap and the per-address/per-token WebSocket caps for this measurement.
    sockets=$((BENCH_WS_CLIENTS + BENCH_WS_IDLE + 256))
    MOSTRADOR_INTAKE=off MOSTRADOR_MAX_CONNECTIONS=$sockets MOSTRADOR_WS_PER_IP=$sockets MOSTRADOR_WS_PER_TOKEN=$sockets \
        start api 18080
    python3 -c "import websockets" 2>/dev/null || pip install -q websockets
    python3 deploy/bench/ws_fanout.py --api http://127.0.0.1:18080 --webhook-token "$MOSTRADOR_WEBHOOK_TOKEN" \
        --password "$MOSTRADOR_ADMIN_PASSWORD" --clients "$BENCH_WS_CLIENTS" --idle "$BENCH_WS_IDLE" --api-pid "${pids[-1]}"
}

BENCH_WS_CLIENTS=${BENCH_WS_CLIENTS:-1000}
BENCH_WS_IDLE=${BENCH_WS_IDLE:-10000}
case $what in
    amqp) amqp ;;
    websocket) websocket ;;
    ingest) ingest ;;
    outbound) outbound ;;
    all) amqp; ingest; cleanup; trap - EXIT; exec "$0" outbound ;;
    *) echo "usage: $0 amqp|ingest|outbound|websocket|all" >&2; exit 2 ;;
esac
