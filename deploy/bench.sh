#!/usr/bin/env bash
# Benchmarks of the running system (release build, isolated broker, fresh data per scenario). Machines here differ
# by 3× from run to run, so every figure is printed beside a ceiling measured in the same run on the same machine,
# and the run ends with one markdown table (also written to $BENCH_TABLE, default deploy/bench/results.md):
#
#   deploy/bench.sh ingest     (1) new tickets and (2) ongoing conversations: POST /webhook, 64 connections, 10 s,
#                              1,000 senders; ceiling: `mostrador-bench echo` (Hummingbird, decode + answer); checks
#                              every 200 was committed; also raw SQLite inserts (synchronous=FULL) for storage
#   deploy/bench.sh outbound   (3) enviar-mensaje → relay → bridge, relay rate limit off; ceiling: the counting
#                              bridge's own /enviar-mensaje rate (load straight at it); none lost or duplicated
#   deploy/bench.sh websocket  (4) webhook → 1,000 WebSocket clients in one room; (6) memory per idle socket (10,000)
#   deploy/bench.sh backlog    (5) 100,000 parked messages drained after the bridge returns, in order per customer
#   deploy/bench.sh amqp       the AMQP wrapper vs rabbitmq-c alone: 100,000 persistent 256-byte messages
#   deploy/bench.sh all        every scenario above, one table
#
# BENCH_POSTGRES=1: the api keeps its data in PostgreSQL (an isolated server of deploy/postgres.sh, a fresh database
# per scenario) instead of SQLite; the rows say so.
set -euo pipefail
cd "$(dirname "${BASH_SOURCE[0]}")/.."
what=${1:-all}
DURATION=${BENCH_DURATION:-10s}
CONNECTIONS=${BENCH_CONNECTIONS:-64}
BACKLOG=${BENCH_BACKLOG:-100000}
BENCH_WS_CLIENTS=${BENCH_WS_CLIENTS:-1000}
BENCH_WS_IDLE=${BENCH_WS_IDLE:-10000}
TABLE=${BENCH_TABLE:-deploy/bench/results.md}
WORK=$(mktemp -d "${TMPDIR:-/tmp}/mostrador-bench.XXXXXX")
command -v wrk >/dev/null && command -v sqlite3 >/dev/null || { apt-get update -qq && apt-get install -y -qq wrk sqlite3 >/dev/null; }

swift build -c release >&2
BIN=$(swift build -c release --show-bin-path)
broker_start() {
    URL=$(deploy/broker.sh start --dir "$WORK/broker" --port auto)
    PORT=${URL##*:}; PORT=${PORT%%/*}
    export MOSTRADOR_AMQP_URL=$URL
}
# A scenario after another starts on an empty broker: what one left queued (the intake's replies for a relay that
# was not running) must not reach the next one's bridge.
fresh_broker() {
    deploy/broker.sh stop --dir "$WORK/broker" >/dev/null 2>&1 || true
    rm -rf "$WORK/broker"
    broker_start
}
broker_start
# db_count FOLDER SQL: one number from the api's database (SQLite in FOLDER, or PostgreSQL with BENCH_POSTGRES=1).
DB_LABEL=SQLite
if [ -n "${BENCH_POSTGRES:-}" ]; then
    DB_LABEL=PostgreSQL
    PG_URL=$(deploy/postgres.sh start --dir "$WORK/postgres")
fi
# A fresh PostgreSQL database for the api of one scenario (exported as MOSTRADOR_DATABASE_URL).
fresh_database() {
    [ -n "${BENCH_POSTGRES:-}" ] || return 0
    local name="bench_$1"
    psql "$PG_URL" -qAt -c "DROP DATABASE IF EXISTS $name" -c "CREATE DATABASE $name" >/dev/null
    export MOSTRADOR_DATABASE_URL="${PG_URL%/*}/$name"
}
db_count() {
    if [ -n "${BENCH_POSTGRES:-}" ]; then psql "$MOSTRADOR_DATABASE_URL" -qAt -c "$2"; else sqlite3 "$1/mostrador.sqlite" "$2"; fi
}
pids=()
stop_all() {
    for pid in "${pids[@]}"; do kill -TERM "$pid" 2>/dev/null || true; done
    for pid in "${pids[@]}"; do wait "$pid" 2>/dev/null || true; done
    pids=()
}
cleanup() {
    stop_all
    deploy/broker.sh stop --dir "$WORK/broker" >/dev/null 2>&1 || true
    [ -z "${BENCH_POSTGRES:-}" ] || deploy/postgres.sh stop --dir "$WORK/postgres" >/dev/null 2>&1 || true
}
trap cleanup EXIT

export MOSTRADOR_LOG_LEVEL=warning
export MOSTRADOR_WEBHOOK_TOKEN=bench-webhook MOSTRADOR_ADMIN_USER=admin MOSTRADOR_ADMIN_PASSWORD=bench-password
export MOSTRADOR_BRIDGE_URL=http://127.0.0.1:18099 MOSTRADOR_BRIDGE_TOKEN=bench-bridge MOSTRADOR_RELAY_RATE=0
export MOSTRADOR_RELAY_LANES=${BENCH_LANES:-64}

rows=()
# row SCENARIO OURS CEILING RATIO TARGET VERDICT [CORES]
row() { rows+=("| $1 | $2 | $3 | $4 | $5 | $6 | ${7:-} |"); }
ratio() { awk -v a="$1" -v b="$2" 'BEGIN { printf "%.2f", (b > 0 ? a / b : 0) }'; }
meets() { awk -v v="$1" -v op="$2" -v t="$3" 'BEGIN { ok = (op == ">=" ? v >= t : v <= t); print (ok ? "met" : "**not met**") }'; }
both() { [ "$1" = met ] && [ "$2" = met ] && echo met || echo "**not met**"; }

wait_ready() { for _ in $(seq 1 300); do curl -fs "$1/health/ready" >/dev/null 2>&1 && return 0; sleep 0.1; done; return 1; }
start() { # name port [data folder]
    MOSTRADOR_DATA_DIR=${3:-$WORK/data} MOSTRADOR_HTTP_PORT=$2 "$BIN/mostrador-$1" >"$WORK/$1-$2.log" 2>&1 &
    pids+=($!)
    wait_ready "http://127.0.0.1:$2"
}
start_bridge() {
    "$BIN/mostrador-bench" bridge --port 18099 --token "$MOSTRADOR_BRIDGE_TOKEN" >"$WORK/bridge.log" 2>&1 &
    pids+=($!)
    for _ in $(seq 1 100); do curl -fs http://127.0.0.1:18099/health >/dev/null 2>&1 && return 0; sleep 0.1; done
}
bridge_stat() { curl -fs http://127.0.0.1:18099/stats | sed "s/.*\"$1\":\([0-9.]*\).*/\1/"; }

# Which process is busy: cores each of the services, the broker and wrk used during the last wrk run.
ticks() { awk '{print $14 + $15}' "/proc/$1/stat" 2>/dev/null || echo 0; }
watched() { # name pid pairs: the services started, the broker's Erlang VM
    local pid
    for pid in "${pids[@]}"; do echo "$(tr -d '\0' <"/proc/$pid/comm" 2>/dev/null) $pid"; done
    echo "broker $(pgrep -f "beam.smp.*$WORK/broker" | head -1)"
}
# cpu_mark: remembers every watched process's CPU time; cpu_since prints the cores each used since the mark.
cpu_mark() {
    CPU_MARK=$(watched | while read -r name pid; do echo "$name $pid $(ticks "$pid")"; done)
    CPU_STARTED=$(awk '{print $1}' /proc/uptime)
}
cpu_since() {
    local elapsed name pid start
    elapsed=$(awk -v s="$CPU_STARTED" '{print $1 - s}' /proc/uptime)
    echo "$CPU_MARK" | while read -r name pid start; do
        awk -v n="$name" -v a="$start" -v b="$(ticks "$pid")" -v t="$elapsed" 'BEGIN { printf "%s %.2f, ", n, (b - a) / 100 / t }'
    done
}
CPU=""
# wrk_run SCRIPT URL: runs wrk, prints its summary; sets RPS, P99 (ms), REQUESTS, NON2XX and CPU (cores per process).
wrk_run() {
    local wrk_pid
    cpu_mark
    wrk -t2 -c"$CONNECTIONS" -d"$DURATION" --latency -s "$1" "$2" >"$WORK/wrk.txt" &
    wrk_pid=$!
    sleep "$(( ${DURATION%s} - 1 ))"
    local wrk_ticks; wrk_ticks=$(ticks "$wrk_pid")
    wait "$wrk_pid"
    CPU="$(cpu_since)$(awk -v w="$wrk_ticks" -v t="$(( ${DURATION%s} - 1 ))" 'BEGIN { printf "wrk %.2f", w / 100 / t }')"
    echo "   cores used: $CPU (of $(nproc))"
    grep -E "Latency  |50%|99%|requests in|Requests/sec|Non-2xx" "$WORK/wrk.txt" | sed 's/^/   /'
    RPS=$(awk '/Requests\/sec/ {printf "%.0f", $2}' "$WORK/wrk.txt")
    P99=$(awk '$1 == "99%" { v = $2; u = v; gsub(/[0-9.]/, "", u); gsub(/[a-z]/, "", v);
                             printf "%.1f", (u == "us" ? v / 1000 : (u == "s" ? v * 1000 : v)) }' "$WORK/wrk.txt")
    REQUESTS=$(awk '/requests in/ {print $1}' "$WORK/wrk.txt")
    NON2XX=$(awk '/Non-2xx/ {print $5}' "$WORK/wrk.txt"); NON2XX=${NON2XX:-0}
}

http_ceiling() {
    echo "-- ceiling: mostrador-bench echo (Hummingbird: decode the webhook JSON, answer)"
    "$BIN/mostrador-bench" echo --port 18090 >"$WORK/echo.log" 2>&1 &
    local pid=$!
    wait_ready http://127.0.0.1:18090
    wrk_run deploy/bench/webhook.lua http://127.0.0.1:18090
    kill -TERM "$pid"; wait "$pid" 2>/dev/null || true
    CEILING_RPS=$RPS CEILING_P99=$P99
}

# The outbound ceiling: the counting bridge alone, wrk straight at its /enviar-mensaje (sets RPS).
bridge_ceiling() {
    start_bridge
    echo "-- ceiling: the counting bridge alone (/enviar-mensaje straight at it)"
    wrk_run deploy/bench/bridge.lua http://127.0.0.1:18099
    stop_all
}

ingest() {
    echo "== (1)(2) ingest: POST /webhook, $CONNECTIONS connections, $DURATION per phase, 1,000 senders"
    echo "   ($DB_LABEL, MOSTRADOR_DB_DURABILITY=${MOSTRADOR_DB_DURABILITY:-full}, MOSTRADOR_INTAKE=${MOSTRADOR_INTAKE:-on})"
    fresh_database ingest
    "$BIN/mostrador-bench" sqlite --directory "$WORK" | tee "$WORK/sqlite.txt" | sed 's/^/   /'
    local single grouped
    single=$(awk '/rows_per_commit=1 / {sub("rows_per_s=", "", $4); print $4}' "$WORK/sqlite.txt")
    grouped=$(awk '!/rows_per_commit=1 / {sub("rows_per_s=", "", $4); print $4}' "$WORK/sqlite.txt")
    http_ceiling
    start api 18080 "$WORK/ingest"
    local accepted=0 stored phase number=1 verdict
    # First contact: 1,000 tickets open and their assistant dialogues run. Then: ongoing conversations.
    for phase in "new tickets (fresh database, assistant replying)" "ongoing conversations"; do
        echo "-- ($number) $phase"
        wrk_run deploy/bench/webhook.lua http://127.0.0.1:18080
        accepted=$((accepted + REQUESTS - NON2XX))
        verdict=$(both "$(meets "$(ratio "$RPS" "$CEILING_RPS")" ">=" 0.5)" "$(meets "$P99" "<=" 20)")
        row "($number) ingest, $phase$([ -n "${BENCH_POSTGRES:-}" ] && echo ", PostgreSQL")" "$RPS req/s, p99 $P99 ms" "$CEILING_RPS req/s, p99 $CEILING_P99 ms (echo)" \
            "$(ratio "$RPS" "$CEILING_RPS")" "≥ 0.5, p99 ≤ 20 ms" "$verdict" "$CPU"
        number=$((number + 1))
    done
    stored=$(db_count "$WORK/ingest" "SELECT COUNT(*) FROM messages WHERE role = 'user'")
    echo "   accepted (200): $accepted   stored customer messages: $stored"
    # wrk cuts requests off at the deadline: those may be stored without wrk seeing their 200.
    [ "$stored" -ge "$accepted" ] && echo "   every accepted message is committed" || echo "   LOST MESSAGES"
    # Their events are durably queued once the outbox is empty (a row leaves it when the broker confirmed it).
    local outbox=1 waited=0
    while [ "$outbox" -gt 0 ] && [ "$waited" -lt 120 ]; do
        outbox=$(db_count "$WORK/ingest" "SELECT COUNT(*) FROM outbox")
        [ "$outbox" -gt 0 ] && { sleep 1; waited=$((waited + 1)); }
    done
    echo "   outbox rows not yet confirmed by the broker after $waited s: $outbox"
    row "storage: SQLite inserts, synchronous=FULL" "—" "$single rows/s one per commit, $grouped rows/s 64 per commit" \
        "—" "ceiling only" "—"
    stop_all
}

outbound() {
    echo "== (3) outbound: enviar-mensaje → relay → bridge, $CONNECTIONS connections, $DURATION"
    local ceiling; bridge_ceiling; ceiling=$RPS
    fresh_database outbound
    start_bridge
    MOSTRADOR_INTAKE=off start api 18080 "$WORK/outbound"
    start bridge-relay 18081 "$WORK/outbound"
    for i in $(seq 1 1000); do
        printf '{"remitente":"52155%08d","contenido":"hola"}' "$i" |
            curl -fs -XPOST http://127.0.0.1:18080/webhook -H "Authorization: Bearer $MOSTRADOR_WEBHOOK_TOKEN" -d @- >/dev/null
    done
    BENCH_AGENT_TOKEN=$(curl -fs -XPOST http://127.0.0.1:18080/api/auth/login/ \
        -d "{\"username\":\"admin\",\"password\":\"$MOSTRADOR_ADMIN_PASSWORD\"}" | sed 's/.*"token":"\([^"]*\)".*/\1/')
    export BENCH_AGENT_TOKEN BENCH_TICKETS=1000
    echo "-- Mostrador: enviar-mensaje over 1,000 tickets"
    wrk_run deploy/bench/send.lua http://127.0.0.1:18080
    local cores=$CPU
    local stored unique=0 requests seconds delivered
    sleep 2
    for _ in $(seq 1 120); do
        stored=$(db_count "$WORK/outbound" "SELECT COUNT(*) FROM messages WHERE role = 'tecnico'")
        unique=$(bridge_stat unique)
        [ "$unique" -ge "$stored" ] && break
        sleep 1
    done
    requests=$(bridge_stat requests); seconds=$(bridge_stat seconds)
    delivered=$(awk -v n="$unique" -v s="$seconds" 'BEGIN { printf "%.0f", (s > 0 ? n / s : 0) }')
    echo "   stored technician messages: $stored   reached the bridge: $requests ($unique unique) in $seconds s"
    local verdict
    if [ "$unique" -eq "$stored" ]; then
        echo "   none lost, none duplicated"
        verdict=$(meets "$(ratio "$delivered" "$ceiling")" ">=" 0.3)
    else
        echo "   MISMATCH"; verdict="**lost or duplicated**"
    fi
    row "(3) outbound enviar-mensaje → relay → bridge$([ -n "${BENCH_POSTGRES:-}" ] && echo ", PostgreSQL")" "$delivered msg/s delivered (accepted $RPS req/s, p99 $P99 ms)" \
        "$ceiling req/s (bridge alone)" "$(ratio "$delivered" "$ceiling")" "≥ 0.3, none lost" "$verdict" "$cores"
    stop_all
}

websocket() {
    echo "== (4)(6) WebSocket: $BENCH_WS_CLIENTS clients in one room; memory with $BENCH_WS_IDLE idle sockets"
    ulimit -n 65536 2>/dev/null || ulimit -n "$(ulimit -Hn)"
    # More sockets than the default MOSTRADOR_MAX_CONNECTIONS (4096), all from one address and one token: raise
    # the connection cap and the per-address/per-token WebSocket caps for this measurement.
    local sockets=$((BENCH_WS_CLIENTS + BENCH_WS_IDLE + 256))
    MOSTRADOR_INTAKE=off MOSTRADOR_MAX_CONNECTIONS=$sockets MOSTRADOR_WS_PER_IP=$sockets \
        MOSTRADOR_WS_PER_TOKEN=$sockets start api 18080 "$WORK/websocket"
    python3 -c "import websockets" 2>/dev/null || pip install -q websockets 2>/dev/null ||
        pip install -q --break-system-packages websockets
    local api_pid=${pids[-1]}
    # The memory ceiling: a bare Hummingbird WebSocket server holding the same number of idle sockets.
    "$BIN/mostrador-bench" websocket --port 18091 >"$WORK/ws-ceiling.log" 2>&1 &
    pids+=($!)
    wait_ready http://127.0.0.1:18091
    python3 deploy/bench/ws_fanout.py --api http://127.0.0.1:18080 --webhook-token "$MOSTRADOR_WEBHOOK_TOKEN" \
        --password "$MOSTRADOR_ADMIN_PASSWORD" --clients "$BENCH_WS_CLIENTS" --idle "$BENCH_WS_IDLE" \
        --api-pid "$api_pid" --ceiling-url ws://127.0.0.1:18091/ws --ceiling-pid "${pids[-1]}" | tee "$WORK/ws.txt"
    local last p99 kb bare
    field() { sed -n "s/^RESULT $1 .* $2=\([0-9.]*\).*/\1/p" "$WORK/ws.txt"; }
    p99=$(field fanout p99_ms); last=$(field fanout last_p99_ms); kb=$(field idle kb_per_socket)
    bare=$(field idle_ceiling kb_per_socket)
    row "(4) webhook → $BENCH_WS_CLIENTS WebSocket clients" "p99 $p99 ms (to the last client: $last ms)" "—" "—" \
        "p99 ≤ 50 ms to the last client" "$(meets "${last:-9999}" "<=" 50)"
    row "(6) memory per idle WebSocket ($BENCH_WS_IDLE sockets)" "$kb KB" "$bare KB (bare Hummingbird WebSocket)" \
        "$(ratio "${kb:-0}" "${bare:-0}")" "≤ 20 KB" "$(meets "${kb:-9999}" "<=" 20)"
    stop_all
}

backlog() {
    echo "== (5) backlog: $BACKLOG parked messages (1,000 customers) drained once the bridge returns"
    local ceiling; bridge_ceiling; ceiling=$RPS
    # The bridge is down (nothing listens on 18099): the relay parks every command it takes.
    MOSTRADOR_BRIDGE_PROBE_SECONDS=0.5 start bridge-relay 18081 "$WORK/backlog"
    "$BIN/mostrador-bench" backlog --url "$URL" --count "$BACKLOG" | sed 's/^/   /'
    local parked=0 started
    started=$(date +%s)
    while [ "$parked" -lt "$BACKLOG" ]; do
        sleep 1
        parked=$(sqlite3 "$WORK/backlog/relay-ledger.sqlite" "SELECT COUNT(*) FROM deliveries WHERE status = 'parked'")
        [ $(($(date +%s) - started)) -lt 900 ] || { echo "   only $parked parked after 900 s"; break; }
    done
    echo "   parked: $parked in $(($(date +%s) - started)) s; the bridge comes back"
    start_bridge
    local unique=0
    cpu_mark
    started=$(date +%s)
    while [ "$unique" -lt "$BACKLOG" ] && [ $(($(date +%s) - started)) -lt 900 ]; do
        sleep 1
        unique=$(bridge_stat unique)
    done
    local seconds outoforder requests drained
    seconds=$(bridge_stat seconds); outoforder=$(bridge_stat out_of_order); requests=$(bridge_stat requests)
    local cores
    cores=$(cpu_since)
    echo "   cores used while draining: ${cores%, }"
    drained=$(awk -v n="$unique" -v s="$seconds" 'BEGIN { printf "%.0f", (s > 0 ? n / s : 0) }')
    echo "   delivered $unique of $BACKLOG ($requests requests) in $seconds s: $drained msg/s; out of order: $outoforder"
    local verdict
    verdict=$(meets "$drained" ">=" 5000)
    [ "$unique" -eq "$BACKLOG" ] && [ "$outoforder" -eq 0 ] || verdict="**lost or out of order**"
    row "(5) backlog: $BACKLOG parked messages drained" "$drained msg/s, $outoforder out of order" \
        "$ceiling req/s (bridge alone)" "$(ratio "$drained" "$ceiling")" "≥ 5,000 msg/s, in order" "$verdict" \
        "${cores%, }"
    stop_all
}

amqp() {
    echo "== AMQP: wrapper vs rabbitmq-c alone (quorum queue, persistent, 256 bytes)"
    "$BIN/mostrador-bench" amqp-raw --port "$PORT" | tee "$WORK/amqp-raw.txt"
    "$BIN/mostrador-bench" amqp --url "$URL" | tee "$WORK/amqp.txt"
    local raw ours
    raw=$(awk '/publish/ {print $3; exit}' "$WORK/amqp-raw.txt"); ours=$(awk '/publish/ {print $3; exit}' "$WORK/amqp.txt")
    row "AMQP publish with confirms (wrapper)" "$ours msg/s" "$raw msg/s (rabbitmq-c alone)" "$(ratio "$ours" "$raw")" \
        "—" "—"
}

table() {
    [ ${#rows[@]} -gt 0 ] || return 0
    {
        echo "Measured $(date -u +%Y-%m-%d) on $(nproc) cores ($(awk -F': ' '/model name/ {print $2; exit}' /proc/cpuinfo))," \
            "load generator, broker and services on the same machine; \`deploy/bench.sh $what\`."
        echo
        echo "| Scenario | Mostrador | Ceiling, same run | Ratio | Target | | Cores used (of $(nproc)) |"
        echo "|---|---|---|---|---|---|---|"
        printf '%s\n' "${rows[@]}"
    } >"$TABLE"
    echo; cat "$TABLE"
}

case $what in
    ingest | outbound | websocket | backlog | amqp) "$what" ;;
    all) ingest; fresh_broker; outbound; fresh_broker; websocket; fresh_broker; amqp; fresh_broker; backlog ;;
    *) echo "usage: $0 ingest|outbound|websocket|backlog|amqp|all" >&2; exit 2 ;;
esac
table
