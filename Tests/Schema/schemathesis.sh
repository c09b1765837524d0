#!/usr/bin/env bash
# Schema fuzzing of the api with schemathesis against its own /openapi.yaml, with valid credentials.
#
#   Tests/Schema/schemathesis.sh            # CI mode: a few examples per operation (~500 requests, < 2 minutes)
#   Tests/Schema/schemathesis.sh --long     # long mode: >= 5,000 requests
#
# Starts a broker (or uses MOSTRADOR_TEST_AMQP_URL), the api and the bridge relay (debug build unless
# MOSTRADOR_BUILD=release) with the bridge simulator behind it (so `enviar-mensaje` gets its answer, not a 504),
# logs in as admin, opens a guest chat and a WhatsApp ticket, then runs three passes: agent routes with the
# admin token, the webhook with the bridge token, guest routes with the room token. Every response >= 500 fails
# the run; the HAR reports are in $OUT (default test-output/schema). Needs `pip install schemathesis`.
set -euo pipefail
cd "$(dirname "$0")/../.."

MODE=ci
[[ "${1:-}" == "--long" ]] && MODE=long
if [[ $MODE == ci ]]; then EXAMPLES=${SCHEMA_EXAMPLES:-8}; else EXAMPLES=${SCHEMA_EXAMPLES:-100}; fi
BUILD=${MOSTRADOR_BUILD:-debug}
OUT=${OUT:-test-output/schema}
WORK=$(mktemp -d /tmp/mostrador-schema.XXXXXX)
mkdir -p "$OUT"

command -v st >/dev/null || python3 -m pip install --quiet schemathesis
[[ -x .build/$BUILD/mostrador-api ]] || swift build -c "$BUILD" --product mostrador-api
[[ -x .build/$BUILD/mostrador-bridge-relay ]] || swift build -c "$BUILD" --product mostrador-bridge-relay

API_PID=""
RELAY_PID=""
SIM_PID=""
OWN_BROKER=""
cleanup() {
    for pid in $API_PID $RELAY_PID $SIM_PID; do kill "$pid" 2>/dev/null && wait "$pid" 2>/dev/null || true; done
    [[ -n $OWN_BROKER ]] && deploy/broker.sh stop --dir "$WORK/broker" >/dev/null 2>&1 || true
    rm -rf "$WORK"
}
trap cleanup EXIT

if [[ -n ${MOSTRADOR_TEST_AMQP_URL:-} ]]; then
    AMQP_URL=$MOSTRADOR_TEST_AMQP_URL
else
    AMQP_URL=$(deploy/broker.sh start --dir "$WORK/broker" --port auto)
    OWN_BROKER=1
fi
PORT=$(python3 -c 'import socket; s=socket.socket(); s.bind(("127.0.0.1", 0)); print(s.getsockname()[1])')
OPS_PORT=$(python3 -c 'import socket; s=socket.socket(); s.bind(("127.0.0.1", 0)); print(s.getsockname()[1])')
SIM_PORT=$(python3 -c 'import socket; s=socket.socket(); s.bind(("127.0.0.1", 0)); print(s.getsockname()[1])')
RELAY_PORT=$(python3 -c 'import socket; s=socket.socket(); s.bind(("127.0.0.1", 0)); print(s.getsockname()[1])')
WEBHOOK_TOKEN=schema-webhook-token
BRIDGE_TOKEN=schema-bridge-token
ADMIN_PASSWORD=schema-admin-password
BASE=http://127.0.0.1:$PORT

MOSTRADOR_AMQP_URL=$AMQP_URL MOSTRADOR_HTTP_PORT=$PORT MOSTRADOR_OPS_PORT=$OPS_PORT MOSTRADOR_DATA_DIR=$WORK/data \
    MOSTRADOR_WEBHOOK_TOKEN=$WEBHOOK_TOKEN MOSTRADOR_ADMIN_USER=admin MOSTRADOR_ADMIN_PASSWORD=$ADMIN_PASSWORD \
    MOSTRADOR_GUEST_CHATS_PER_IP=1000000 MOSTRADOR_LOGIN_FAILURES_PER_IP=1000000 MOSTRADOR_LOGIN_FAILURES_PER_USER=1000000 \
    MOSTRADOR_GUEST_MESSAGES_PER_MINUTE=1000000 MOSTRADOR_GUEST_MESSAGE_BURST=1000000 MOSTRADOR_IP_MESSAGES_PER_MINUTE=1000000 \
    MOSTRADOR_SEND_WAIT_SECONDS=5 \
    MOSTRADOR_WEBHOOK_NEW_TICKETS_PER_SENDER_HOUR=0 MOSTRADOR_LOG_LEVEL=warning \
    ".build/$BUILD/mostrador-api" >"$OUT/api.log" 2>&1 &
API_PID=$!
python3 deploy/bridge-simulator.py --port "$SIM_PORT" --api-url "$BASE" --bridge-token "$BRIDGE_TOKEN" \
    --webhook-token "$WEBHOOK_TOKEN" >"$OUT/simulator.log" 2>&1 &
SIM_PID=$!
MOSTRADOR_AMQP_URL=$AMQP_URL MOSTRADOR_HTTP_PORT=$RELAY_PORT MOSTRADOR_DATA_DIR=$WORK/relay \
    MOSTRADOR_BRIDGE_URL=http://127.0.0.1:$SIM_PORT MOSTRADOR_BRIDGE_TOKEN=$BRIDGE_TOKEN MOSTRADOR_RELAY_RATE=0 \
    MOSTRADOR_LOG_LEVEL=warning ".build/$BUILD/mostrador-bridge-relay" >"$OUT/relay.log" 2>&1 &
RELAY_PID=$!
for _ in $(seq 1 100); do
    curl -fs "$BASE/health/ready" >/dev/null 2>&1 && break
    sleep 0.2
done
curl -fs "$BASE/health/ready" >/dev/null || { echo "api did not get ready"; cat "$OUT/api.log"; exit 1; }
for _ in $(seq 1 100); do
    curl -fs "http://127.0.0.1:$RELAY_PORT/health/ready" >/dev/null 2>&1 && break
    sleep 0.2
done

json() { python3 -c "import json,sys; print(json.load(sys.stdin)$1)"; }
TOKEN=$(curl -fs -XPOST "$BASE/api/auth/login/" -H 'Content-Type: application/json' \
    -d "{\"username\":\"admin\",\"password\":\"$ADMIN_PASSWORD\"}" | json "['token']")
SESSION=$(curl -fs -XPOST "$BASE/api/chat/start_chat/" -H 'Content-Type: application/json' \
    -d '{"initial_message":"Hola, mi impresora no imprime"}' | json "['session_id']")
CHAT=$(curl -fs -XPOST "$BASE/api/chat/complete_chat/" -H 'Content-Type: application/json' \
    -d "{\"session_id\":\"$SESSION\",\"full_name\":\"Ana\",\"email\":\"ana@ejemplo.com\",\"phone_number\":\"+5215550001234\"}")
ROOM_TOKEN=$(echo "$CHAT" | json "['room_token']")
curl -fs -XPOST "$BASE/webhook" -H "Authorization: Bearer $WEBHOOK_TOKEN" -H 'Content-Type: application/json' \
    -d '{"remitente":"5215550004321","contenido":"Mi laptop no enciende"}' >/dev/null

COMMON=(--checks not_a_server_error --max-examples "$EXAMPLES" --seed "${SCHEMA_SEED:-1}" --workers 2
    --request-timeout 10 --suppress-health-check all --continue-on-failure --warnings off --no-color)
run_pass() {
    local name=$1
    shift
    echo "== $name"
    # The verdict is the count of 5xx in the HAR below; schemathesis's own exit code also counts its internal
    # errors (a Python crash while generating a case), which are reported but say nothing about the api.
    st run "$BASE/openapi.yaml" "${COMMON[@]}" --report har --report-har-path "$OUT/$name.har" "$@" \
        >"$OUT/$name.log" 2>&1 || true
    grep -q "Runtime Error" "$OUT/$name.log" && echo "warning: schemathesis reported an internal error (see $OUT/$name.log)"
    tail -n 1 "$OUT/$name.log"
}
# Logging out would end the token the other operations use.
run_pass agent -H "Authorization: Token $TOKEN" --exclude-path /webhook --exclude-path /api/auth/logout/
run_pass webhook -H "Authorization: Bearer $WEBHOOK_TOKEN" --include-path /webhook
run_pass guest -H "Authorization: Room $ROOM_TOKEN" --include-path-regex \
    '^/api/(chat|messages/(send_guest_message|by_chat|mark_chat_read|unread_count)|user-notifications|soporte)'

python3 - "$OUT" <<'PY'
import glob, json, sys
total = errors = 0
for path in sorted(glob.glob(sys.argv[1] + "/*.har")):
    entries = json.load(open(path))["log"]["entries"]
    bad = [e for e in entries if e["response"]["status"] >= 500]
    total += len(entries)
    errors += len(bad)
    for e in bad[:10]:
        print("5xx:", e["response"]["status"], e["request"]["method"], e["request"]["url"])
print(f"schemathesis: {total} requests, {errors} responses >= 500")
sys.exit(1 if errors or total == 0 else 0)
PY
