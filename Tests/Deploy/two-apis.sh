#!/usr/bin/env bash
# Two api instances behind a real nginx serve one shop (Tests/Deploy/two_apis_behind_nginx.py): an isolated
# RabbitMQ, two mostrador-api processes on one data folder, the relay with a counting bridge, and
# deploy/nginx/mostrador-test.conf.template run by nginx in front of them; a ticket and a live WebSocket across
# instances, then 40 webhook messages through nginx while one instance is SIGKILLed — none lost, none doubled.
#
#   Tests/Deploy/two-apis.sh [--bin-dir DIR] [--keep] [--strict] [--together]
#
# --bin-dir: the folder with mostrador-api and mostrador-bridge-relay (default: `swift build --show-bin-path`;
# the binaries are copied before use). Needs nginx (Debian: nginx-light; deploy/check-deploy.sh installs it in CI)
# and python3. Exit status 0 only when every check passed; on failure the run folder it prints is kept (--keep:
# always). Known issues print as WARN without failing; --strict fails on them. --together starts both instances at
# once on the empty data folder, as systemd does on a first boot. With MOSTRADOR_DATABASE_URL set (postgres://…, an
# empty database or schema) both instances keep their data in PostgreSQL instead of the folder's SQLite file.
set -euo pipefail
cd "$(dirname "${BASH_SOURCE[0]}")/../.."

BIN_DIR=""
PASS=()
while [ $# -gt 0 ]; do
    case $1 in
        --bin-dir) [ $# -ge 2 ] || { echo "two-apis.sh: --bin-dir needs a folder" >&2; exit 2; }
            BIN_DIR=$2; shift 2 ;;
        --bin-dir=*) BIN_DIR=${1#*=}; shift ;;
        --keep | --together | --strict) PASS+=("$1"); shift ;;
        -h | --help) sed -n '2,13p' "${BASH_SOURCE[0]}" | sed 's/^# \{0,1\}//'; exit 0 ;;
        *) echo "two-apis.sh: unknown argument '$1' (see --help)" >&2; exit 2 ;;
    esac
done

command -v python3 >/dev/null || { echo "two-apis.sh: python3 is needed (apt-get install python3)" >&2; exit 2; }
NGINX=$(command -v nginx || true)
[ -n "$NGINX" ] || { [ -x /usr/sbin/nginx ] && NGINX=/usr/sbin/nginx; } || true
if [ -z "$NGINX" ]; then
    echo "two-apis.sh: nginx is not installed; install it with: sudo apt-get install -y nginx-light" >&2
    echo "(in CI, deploy/check-deploy.sh installs it)" >&2
    exit 2
fi
if [ -z "$BIN_DIR" ]; then
    BIN_DIR=$(swift build --show-bin-path)
fi
for binary in mostrador-api mostrador-bridge-relay; do
    [ -x "$BIN_DIR/$binary" ] || { echo "two-apis.sh: $BIN_DIR/$binary not found (swift build first)" >&2; exit 2; }
done

echo "==> two api instances behind nginx (Tests/Deploy/two_apis_behind_nginx.py, binaries from $BIN_DIR)" >&2
PYTHONDONTWRITEBYTECODE=1 exec python3 Tests/Deploy/two_apis_behind_nginx.py --bin-dir "$BIN_DIR" --nginx "$NGINX" \
    ${PASS[@]+"${PASS[@]}"}
