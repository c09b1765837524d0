#!/usr/bin/env bash
# deploy/broker.sh — run an isolated RabbitMQ 3.10 broker (Debian `rabbitmq-server`)
# without systemd: own AMQP port, own Erlang distribution port, own epmd, own data dir.
#
#   deploy/broker.sh start  [--dir DIR] [--port PORT|auto] [--name NODE] [--fresh] [--join DIR2]
#   deploy/broker.sh stop   [--dir DIR]
#   deploy/broker.sh kill   [--dir DIR]          # SIGKILL the broker (fault injection)
#   deploy/broker.sh url    [--dir DIR]
#   deploy/broker.sh status [--dir DIR]
#   deploy/broker.sh ctl    [--dir DIR] -- RABBITMQCTL-ARGS...
#   deploy/broker.sh cluster start|stop|url [--dir DIR] [--nodes N]   # N nodes (default 3) in DIR/node1..N
#
# --join DIR2: this node shares the epmd and the Erlang cookie of the broker in DIR2 and, on its first start, joins
# that broker's cluster. `cluster start` prints one URL naming every node (amqp://guest:guest@127.0.0.1:P1,…/%2F);
# each node is an ordinary broker dir, so `kill --dir DIR/node2` and `start --dir DIR/node2` act on one node.
# stdout carries only the answer (URL, "running"/"stopped", rabbitmqctl output);
# everything else goes to stderr. Processes are only ever signalled by PID read from
# files in DIR, after checking that the PID's command line names DIR.
set -euo pipefail

RMQ_BIN=/usr/lib/rabbitmq/bin
SCRIPT_DIR=$(cd "$(dirname "${BASH_SOURCE[0]}")" && pwd -P)
REPO_DIR=$(cd "$SCRIPT_DIR/.." && pwd -P)
DEFAULT_PORT=5679
DEFAULT_NAME=mostrador
START_TIMEOUT=${MOSTRADOR_BROKER_START_TIMEOUT:-120}
# Auto-picked AMQP ports come from [AUTO_LO, AUTO_HI]; epmd = port+10000 and
# dist = port+20000 then stay below the kernel's ephemeral range (32768+) and away from
# rabbitmqctl's own distribution ports (35672-35682).
AUTO_LO=10000
AUTO_HI=12767
EPMD_OFFSET=10000
DIST_OFFSET=20000

log() { printf 'broker.sh: %s\n' "$*" >&2; }
die() { local rc=$1; shift; log "error: $*"; exit "$rc"; }

usage() {
    sed -n '2,19p' "${BASH_SOURCE[0]}" | sed 's/^# \{0,1\}//' >&2
}

# Nothing from the caller's environment may redirect the broker elsewhere.
for _v in $(compgen -e); do
    case $_v in RABBITMQ_* | ERL_EPMD_* | CONF_ENV_FILE) unset "$_v" ;; esac
done
unset _v

# ---------------------------------------------------------------- arguments
CMD=${1:-}
[ $# -gt 0 ] && shift
case $CMD in
    start | stop | kill | url | status | ctl) ;;
    cluster)
        CLUSTER_CMD=${1:-}
        [ $# -gt 0 ] && shift
        case $CLUSTER_CMD in start | stop | url) ;; *) usage; die 2 "cluster needs start, stop or url" ;; esac
        ;;
    -h | --help | help) usage; exit 0 ;;
    '') usage; exit 2 ;;
    *) usage; die 2 "unknown command '$CMD'" ;;
esac

DIR_OPT="" PORT_OPT="" NAME_OPT="" FRESH=0 JOIN_OPT="" NODES_OPT=3
CTL_ARGS=()
need_val() { if [ $# -lt 2 ] || [ -z "$2" ]; then die 2 "option $1 needs a value"; fi; }
while [ $# -gt 0 ]; do
    case $1 in
        --dir) need_val "$@"; DIR_OPT=$2; shift 2 ;;
        --dir=*) DIR_OPT=${1#*=}; shift ;;
        --port) need_val "$@"; PORT_OPT=$2; shift 2 ;;
        --port=*) PORT_OPT=${1#*=}; shift ;;
        --name) need_val "$@"; NAME_OPT=$2; shift 2 ;;
        --name=*) NAME_OPT=${1#*=}; shift ;;
        --fresh) FRESH=1; shift ;;
        --join) need_val "$@"; JOIN_OPT=$2; shift 2 ;;
        --join=*) JOIN_OPT=${1#*=}; shift ;;
        --nodes) need_val "$@"; NODES_OPT=$2; shift 2 ;;
        --nodes=*) NODES_OPT=${1#*=}; shift ;;
        -h | --help) usage; exit 0 ;;
        --) shift; CTL_ARGS=("$@"); break ;;
        *)
            if [ "$CMD" = ctl ]; then CTL_ARGS=("$@"); break; fi
            die 2 "unknown argument '$1' for '$CMD'"
            ;;
    esac
done
if [ "$CMD" != start ] && { [ -n "$PORT_OPT" ] || [ -n "$NAME_OPT" ] || [ $FRESH = 1 ] || [ -n "$JOIN_OPT" ]; }; then
    die 2 "--port/--name/--fresh/--join only apply to 'start'"
fi
[[ $NODES_OPT =~ ^[1-9]$ ]] || die 2 "--nodes takes 1 to 9"

if [ "$CMD" = start ]; then
    _p=${PORT_OPT:-${MOSTRADOR_BROKER_PORT:-}}
    if [ -n "$_p" ] && [ "$_p" != auto ] &&
        ! { [[ $_p =~ ^[0-9]{1,5}$ ]] && [ "$_p" -ge 1 ] && [ "$_p" -le 65535 ]; }; then
        die 2 "invalid port '$_p' (a number or 'auto')"
    fi
    unset _p
fi

if [ "$CMD" = cluster ]; then
    D=${DIR_OPT:-$REPO_DIR/.run/cluster}
else
    D=${DIR_OPT:-${MOSTRADOR_BROKER_DIR:-$REPO_DIR/.run/broker}}
fi
D=$(realpath -m -- "$D")
case $D in *[[:space:]]*) die 2 "broker dir must not contain whitespace: '$D'" ;; esac

ENV_FILE=$D/broker.env
PID_FILE=$D/rabbitmq.pid        # written by RabbitMQ itself: the beam.smp PID
LAUNCHER_PID_FILE=$D/launcher.pid  # the setsid'd rabbitmq-server shell (process group leader)

# Values of the broker in $D (from broker.env or chosen by start).
B_PORT="" B_DIST_PORT="" B_EPMD_PORT="" B_NODENAME="" B_URL=""

load_env() {
    [ -f "$ENV_FILE" ] || return 1
    # shellcheck disable=SC2034  # DIR is set by the file; kept local so it does not leak
    local PORT="" DIST_PORT="" EPMD_PORT="" NODENAME="" URL="" DIR=""
    # shellcheck disable=SC1090
    . "$ENV_FILE"
    B_PORT=$PORT B_DIST_PORT=$DIST_PORT B_EPMD_PORT=$EPMD_PORT B_NODENAME=$NODENAME B_URL=$URL
    [ -n "$B_PORT" ] && [ -n "$B_EPMD_PORT" ] && [ -n "$B_NODENAME" ]
}

write_env() {
    B_URL="amqp://guest:guest@127.0.0.1:${B_PORT}/%2F"
    {
        echo "# written by deploy/broker.sh start; shell-sourceable"
        printf 'DIR=%q\n' "$D"
        printf 'PORT=%q\n' "$B_PORT"
        printf 'DIST_PORT=%q\n' "$B_DIST_PORT"
        printf 'EPMD_PORT=%q\n' "$B_EPMD_PORT"
        printf 'NODENAME=%q\n' "$B_NODENAME"
        printf 'URL=%q\n' "$B_URL"
    } >"$ENV_FILE.tmp"
    mv -f "$ENV_FILE.tmp" "$ENV_FILE"
}

# Environment shared by rabbitmq-server and rabbitmqctl (same HOME => same cookie).
rabbit_env() {
    export HOME=$D/home
    export RABBITMQ_NODENAME=$B_NODENAME
    export RABBITMQ_NODE_IP_ADDRESS=127.0.0.1
    export RABBITMQ_NODE_PORT=$B_PORT
    export RABBITMQ_DIST_PORT=$B_DIST_PORT
    export ERL_EPMD_PORT=$B_EPMD_PORT
    export ERL_EPMD_ADDRESS=127.0.0.1
    export RABBITMQ_MNESIA_BASE=$D/mnesia
    export RABBITMQ_LOG_BASE=$D/log
    export RABBITMQ_PID_FILE=$PID_FILE
    export RABBITMQ_ENABLED_PLUGINS_FILE=$D/enabled_plugins
    export RABBITMQ_CONFIG_FILE=$D/rabbitmq          # RabbitMQ appends .conf
    export RABBITMQ_ADVANCED_CONFIG_FILE=$D/advanced.config
    export RABBITMQ_CONF_ENV_FILE=$D/rabbitmq-env.conf  # empty: /etc/rabbitmq is not read
    export ERL_CRASH_DUMP=$D/erl_crash.dump
    # Erlang distribution (broker and CLI) on loopback only.
    export RABBITMQ_SERVER_ADDITIONAL_ERL_ARGS="-kernel inet_dist_use_interface {127,0,0,1}"
    export RABBITMQ_CTL_ERL_ARGS="-kernel inet_dist_use_interface {127,0,0,1}"
}

# ---------------------------------------------------------------- processes
# Alive and not a zombie.
pid_alive() {
    local p=$1 s
    [[ $p =~ ^[0-9]+$ ]] || return 1
    # (not `$(<file)`: under set -e bash exits when that fails, even after ||)
    { read -r s <"/proc/$p/stat"; } 2>/dev/null || return 1
    s=${s##*) }
    [ "${s%% *}" != Z ]
}

# Alive and started by this script for $D (its argv contains "$D" as a whole argument).
pid_ours() {
    local p=$1 a args=()
    pid_alive "$p" || return 1
    { mapfile -d '' args <"/proc/$p/cmdline"; } 2>/dev/null || return 1
    for a in "${args[@]}"; do [ "$a" = "$D" ] && return 0; done
    return 1
}

read_pid() { # FILE -> PID if the file names a live process of ours
    local p=""
    [ -f "$1" ] || return 1
    { read -r p <"$1"; } 2>/dev/null || true
    pid_ours "$p" || return 1
    echo "$p"
}
beam_pid() { read_pid "$PID_FILE"; }
launcher_pid() { read_pid "$LAUNCHER_PID_FILE"; }

wait_gone() { # PID SECONDS
    local p=$1 n=$(($2 * 10))
    while [ $n -gt 0 ] && pid_alive "$p"; do sleep 0.1; n=$((n - 1)); done
    ! pid_alive "$p"
}

# Terminate a whole process group led by PID (the launcher: sh + beam + helpers).
kill_group() { # PID
    local p=$1
    kill -TERM -- "-$p" 2>/dev/null || kill -TERM "$p" 2>/dev/null || true
    wait_gone "$p" 10 && return 0
    kill -KILL -- "-$p" 2>/dev/null || kill -KILL "$p" 2>/dev/null || true
    wait_gone "$p" 5 || true
}

# ---------------------------------------------------------------- ports
HAVE_SS=0
command -v ss >/dev/null 2>&1 && HAVE_SS=1

port_listening() {
    if [ $HAVE_SS = 1 ]; then
        [ -n "$(ss -Hltn "sport = :$1" 2>/dev/null)" ]
    else
        (exec 3<>"/dev/tcp/127.0.0.1/$1") 2>/dev/null
    fi
}
# Any socket (any state) on that local port: used when picking fresh ports.
port_used() {
    if [ $HAVE_SS = 1 ]; then
        [ -n "$(ss -Htan "sport = :$1" 2>/dev/null)" ]
    else
        port_listening "$1"
    fi
}

EPMD=$(command -v epmd 2>/dev/null || true)
if [ -z "$EPMD" ]; then
    for _e in /usr/lib/erlang/erts-*/bin/epmd; do [ -x "$_e" ] && EPMD=$_e; done
    unset _e
fi

epmd_answers() { # PORT
    [ -n "$EPMD" ] || return 1
    ERL_EPMD_PORT=$1 timeout 5 "$EPMD" -names >/dev/null 2>&1
}

# Kill this broker's own epmd. epmd refuses while any node is still registered with it,
# so an epmd that some other live node uses is never taken down.
epmd_kill() {
    [ -n "$B_EPMD_PORT" ] && [ -n "$EPMD" ] || return 0
    local out
    for _ in 1 2 3 4 5 6 7 8 9 10; do
        port_listening "$B_EPMD_PORT" || return 0
        out=$(ERL_EPMD_PORT=$B_EPMD_PORT timeout 5 "$EPMD" -kill 2>&1) || true
        port_listening "$B_EPMD_PORT" || return 0
        sleep 0.5
    done
    log "warning: epmd on port $B_EPMD_PORT still running (${out:-no answer})"
}

RESERVE_FILE=${TMPDIR:-/tmp}/mostrador-broker-ports.recent
RESERVE_LOCK=${TMPDIR:-/tmp}/mostrador-broker-ports.lock

# Ports handed out in the last 2 minutes by concurrent `start --port auto` calls.
recently_reserved() {
    [ -f "$RESERVE_FILE" ] || return 1
    local now p t
    now=$(date +%s)
    while read -r p t; do
        [ "$p" = "$1" ] && [ $((now - t)) -lt 120 ] && return 0
    done <"$RESERVE_FILE"
    return 1
}
reserve_ports() { # PORT...
    local now p t keep=""
    now=$(date +%s)
    if [ -f "$RESERVE_FILE" ]; then
        while read -r p t; do
            [ -n "$t" ] && [ $((now - t)) -lt 120 ] && keep+="$p $t"$'\n'
        done <"$RESERVE_FILE"
    fi
    for p in "$@"; do keep+="$p $now"$'\n'; done
    printf '%s' "$keep" >"$RESERVE_FILE"
}
port_free_fresh() { ! port_used "$1" && ! recently_reserved "$1"; }

# Sets B_PORT, B_EPMD_PORT, B_DIST_PORT to three free ports.
pick_auto_ports() {
    local p
    for _ in $(seq 1 500); do
        p=$((AUTO_LO + (RANDOM * 32768 + RANDOM) % (AUTO_HI - AUTO_LO + 1)))
        if port_free_fresh "$p" && port_free_fresh $((p + EPMD_OFFSET)) &&
            port_free_fresh $((p + DIST_OFFSET)); then
            B_PORT=$p B_EPMD_PORT=$((p + EPMD_OFFSET)) B_DIST_PORT=$((p + DIST_OFFSET))
            return 0
        fi
    done
    return 1
}
pick_one_port() { # -> a free port in [20000, 32767]
    local p
    for _ in $(seq 1 500); do
        p=$((20000 + (RANDOM * 32768 + RANDOM) % 12768))
        if port_free_fresh "$p"; then echo "$p"; return 0; fi
    done
    return 1
}

# The epmd port is usable if free, or if an epmd (e.g. ours, left behind by `kill`) answers there.
epmd_port_ok() { ! port_listening "$1" || epmd_answers "$1"; }

# Decide PORT/DIST_PORT/EPMD_PORT for start. Recorded values ($1..$3) are reused when possible.
choose_ports() {
    local rec_port=$1 rec_dist=$2 rec_epmd=$3 req
    req=${PORT_OPT:-${MOSTRADOR_BROKER_PORT:-}}
    [ -n "$req" ] || req=${rec_port:-$DEFAULT_PORT}
    exec 8>"$RESERVE_LOCK"
    flock -w 60 8 || die 1 "could not lock $RESERVE_LOCK"
    if [ "$req" = auto ]; then
        if [ -n "$rec_port" ] && [ -n "$rec_dist" ] && [ -n "$rec_epmd" ] &&
            ! port_listening "$rec_port" && ! port_listening "$rec_dist" && epmd_port_ok "$rec_epmd"; then
            B_PORT=$rec_port B_DIST_PORT=$rec_dist B_EPMD_PORT=$rec_epmd
        else
            pick_auto_ports || die 1 "no free port triple found in $AUTO_LO-$AUTO_HI"
        fi
    else
        if ! [[ $req =~ ^[0-9]{1,5}$ ]] || [ "$((10#$req))" -lt 1 ] || [ "$((10#$req))" -gt 65535 ]; then
            die 2 "invalid port '$req' (a number or 'auto')"
        fi
        req=$((10#$req))
        port_listening "$req" && die 1 "port $req is already in use on this machine"
        B_PORT=$req
        if [ "$req" = "$rec_port" ] && [ -n "$rec_dist" ] && [ -n "$rec_epmd" ] &&
            ! port_listening "$rec_dist" && epmd_port_ok "$rec_epmd"; then
            B_DIST_PORT=$rec_dist B_EPMD_PORT=$rec_epmd
        else
            B_EPMD_PORT=$((req + EPMD_OFFSET)) B_DIST_PORT=$((req + DIST_OFFSET))
            if [ $B_EPMD_PORT -gt 65535 ] || ! epmd_port_ok $B_EPMD_PORT; then
                B_EPMD_PORT=$(pick_one_port) || die 1 "no free port for epmd"
                log "epmd port $((req + EPMD_OFFSET)) unusable, using $B_EPMD_PORT"
            fi
            if [ $B_DIST_PORT -gt 65535 ] || port_listening $B_DIST_PORT; then
                B_DIST_PORT=$(pick_one_port) || die 1 "no free port for Erlang distribution"
                log "dist port $((req + DIST_OFFSET)) unusable, using $B_DIST_PORT"
            fi
        fi
    fi
    reserve_ports "$B_PORT" "$B_DIST_PORT" "$B_EPMD_PORT"
    exec 8>&-
}

# ---------------------------------------------------------------- helpers
ctl() { "$RMQ_BIN/rabbitmqctl" "$@"; }

answering() {
    [ -n "$B_PORT" ] || return 1
    beam_pid >/dev/null || return 1
    port_listening "$B_PORT" || return 1
    timeout 30 "$RMQ_BIN/rabbitmq-diagnostics" -q check_running </dev/null >/dev/null 2>&1
}

dump_logs() {
    local f
    for f in "$D/stdout.log" "$D"/log/*.log; do
        [ -s "$f" ] || continue
        echo "----- tail of $f -----" >&2
        tail -n 40 "$f" >&2 || true
    done
}

lock_dir() {
    exec 9>"$D/.lock"
    flock -w 300 9 || die 1 "timed out waiting for the lock on $D/.lock"
}

ensure_installed() {
    [ -x "$RMQ_BIN/rabbitmq-server" ] && return 0
    [ "$(id -u)" = 0 ] || die 1 "rabbitmq-server is not installed and we are not root"
    log "installing rabbitmq-server with apt-get"
    export DEBIAN_FRONTEND=noninteractive
    apt-get -o DPkg::Lock::Timeout=900 update >&2
    apt-get -o DPkg::Lock::Timeout=900 install -y rabbitmq-server >&2
    [ -x "$RMQ_BIN/rabbitmq-server" ] || die 1 "rabbitmq-server still missing after apt-get install"
}

write_config() {
    mkdir -p "$D/home" "$D/mnesia" "$D/log"
    chmod 700 "$D/home"
    if [ ! -s "$D/home/.erlang.cookie" ]; then
        local c
        c=$(od -An -N16 -tx1 /dev/urandom | tr -d ' \n')
        (umask 077 && printf '%s' "${c^^}" >"$D/home/.erlang.cookie")
    fi
    chmod 400 "$D/home/.erlang.cookie"
    : >"$D/rabbitmq-env.conf"
    [ -f "$D/enabled_plugins" ] || echo '[].' >"$D/enabled_plugins"
    [ -f "$D/advanced.config" ] || echo '[].' >"$D/advanced.config"
    cat >"$D/rabbitmq.conf" <<EOF
# written by deploy/broker.sh start (overwritten on every start)
listeners.tcp.default = 127.0.0.1:${B_PORT}
log.console = false
log.file.level = warning
vm_memory_high_watermark.relative = 0.4
disk_free_limit.absolute = 50MB
heartbeat = 10
# A technician's file (16 MB) travels inside its relay.send as base64: RabbitMQ 4 refuses messages over 16 MiB by
# default.
max_message_size = 67108864
EOF
}

# ---------------------------------------------------------------- commands
cmd_start() {
    mkdir -p "$D"
    lock_dir
    ensure_installed

    local rec_port="" rec_dist="" rec_epmd="" rec_name=""
    if load_env; then
        rec_port=$B_PORT rec_dist=$B_DIST_PORT rec_epmd=$B_EPMD_PORT rec_name=$B_NODENAME
    fi
    local name=${NAME_OPT:-${rec_name:-$DEFAULT_NAME}}
    [[ $name == *@* ]] || name=$name@localhost

    local bp lp
    if bp=$(beam_pid); then
        local req=${PORT_OPT:-${MOSTRADOR_BROKER_PORT:-}}
        if [ -n "$req" ] && [ "$req" != auto ] && [ "$req" != "$B_PORT" ]; then
            die 1 "broker in $D already runs on port $B_PORT (pid $bp); stop it first"
        fi
        if [ "$name" != "$B_NODENAME" ]; then
            die 1 "broker in $D already runs as $B_NODENAME (pid $bp); stop it first"
        fi
        rabbit_env
        if ! answering; then
            log "broker in $D (pid $bp) is running but not answering yet; waiting"
            ctl -q wait --timeout 60 "$PID_FILE" </dev/null >&2 || true
            answering || { dump_logs; die 1 "broker in $D (pid $bp) is running but not answering; run 'stop' first"; }
        fi
        [ $FRESH = 0 ] || log "--fresh ignored: the broker is running (stop it first)"
        log "broker in $D already running (pid $bp)"
        echo "$B_URL"
        return 0
    fi
    if lp=$(launcher_pid); then
        log "cleaning up a leftover launcher (pid $lp)"
        kill_group "$lp"
    fi
    rm -f "$PID_FILE" "$LAUNCHER_PID_FILE"

    if [ $FRESH = 1 ]; then
        log "--fresh: removing $D/mnesia and $D/log"
        rm -rf "$D/mnesia" "$D/log"
    fi

    # Joining: the other broker's epmd (so the nodes find each other) and cookie (so they trust each other).
    local join_dir="" join_epmd="" join_name="" fresh_node=0
    if [ -n "$JOIN_OPT" ]; then
        join_dir=$(realpath -m -- "$JOIN_OPT")
        [ "$join_dir" != "$D" ] || die 2 "a broker cannot join itself"
        [ -f "$join_dir/broker.env" ] || die 1 "no broker in $join_dir to join (start it first)"
        join_epmd=$(. "$join_dir/broker.env" && echo "$EPMD_PORT")
        join_name=$(. "$join_dir/broker.env" && echo "$NODENAME")
        [ "$join_name" != "$name" ] || die 2 "the node to join is also called $name: give this one --name"
    fi
    if [ -z "$(ls -A "$D/mnesia" 2>/dev/null)" ]; then fresh_node=1; fi

    B_NODENAME=$name
    choose_ports "$rec_port" "$rec_dist" "$rec_epmd"
    if [ -n "$join_epmd" ]; then B_EPMD_PORT=$join_epmd; fi
    write_env
    if [ -n "$join_dir" ] && [ ! -s "$D/home/.erlang.cookie" ]; then
        mkdir -p "$D/home"
        chmod 700 "$D/home"
        (umask 077 && cp "$join_dir/home/.erlang.cookie" "$D/home/.erlang.cookie")
    fi
    write_config
    rabbit_env

    log "starting $B_NODENAME in $D (amqp $B_PORT, dist $B_DIST_PORT, epmd $B_EPMD_PORT)"
    local t0 t1
    t0=$(date +%s%N)
    printf '\n===== %s start %s (amqp %s) =====\n' "$(date '+%F %T')" "$B_NODENAME" "$B_PORT" >>"$D/stdout.log"
    (
        # Do not leak our file descriptors (locks, callers' pipes) into the broker.
        for fd in "/proc/$BASHPID/fd/"*; do
            fd=${fd##*/}
            if [ "$fd" -gt 2 ] 2>/dev/null; then eval "exec $fd>&-"; fi
        done
        echo "$BASHPID" >"$LAUNCHER_PID_FILE"
        cd "$D"
        # The extra argument is passed through to erl: it marks the broker's processes
        # with $D so that PIDs can be checked before they are signalled (and found with ps).
        exec setsid "$RMQ_BIN/rabbitmq-server" -mostrador_broker_dir "$D" </dev/null >>"$D/stdout.log" 2>&1
    ) &
    local launcher=$!

    # Run the CLI itself in the background (not a function: that would be a subshell
    # whose child survives being signalled) and give up early if the broker dies.
    "$RMQ_BIN/rabbitmqctl" -q wait --timeout "$START_TIMEOUT" "$PID_FILE" </dev/null >&2 &
    local waiter=$! rc=0
    while pid_alive "$waiter"; do
        if ! pid_alive "$launcher"; then
            sleep 0.5
            if pid_alive "$waiter"; then kill -KILL "$waiter" 2>/dev/null || true; fi
            break
        fi
        sleep 0.2
    done
    wait "$waiter" || rc=$?

    if [ $rc = 0 ] && pid_alive "$launcher" && port_listening "$B_PORT"; then
        if [ -n "$join_dir" ] && [ $fresh_node = 1 ]; then
            log "joining the cluster of $join_name"
            if ! { ctl -q stop_app && ctl -q join_cluster "$join_name" && ctl -q start_app &&
                ctl -q await_startup; } </dev/null >&2; then
                log "could not join $join_name"
                dump_logs
                cmd_stop
                exit 1
            fi
        fi
        t1=$(date +%s%N)
        log "broker ready in $(((t1 - t0) / 1000000)) ms (pid $(beam_pid || echo '?'))"
        echo "$B_URL"
        return 0
    fi

    log "broker failed to start (rabbitmqctl wait rc=$rc)"
    dump_logs
    if bp=$(beam_pid); then kill -KILL "$bp" 2>/dev/null || true; fi
    if pid_ours "$launcher"; then kill_group "$launcher"; fi
    epmd_kill
    rm -f "$PID_FILE" "$LAUNCHER_PID_FILE"
    exit 1
}

cmd_stop() {
    if [ ! -d "$D" ]; then log "nothing in $D"; return 0; fi
    lock_dir
    load_env || true
    local bp lp
    if bp=$(beam_pid); then
        if [ -n "$B_NODENAME" ]; then
            rabbit_env
            log "stopping broker in $D (pid $bp)"
            timeout 20 "$RMQ_BIN/rabbitmqctl" -q stop "$PID_FILE" </dev/null >&2 ||
                log "graceful stop did not finish within 20 s"
        fi
        if pid_alive "$bp"; then
            log "sending TERM to $bp"
            kill -TERM "$bp" 2>/dev/null || true
            kill -CONT "$bp" 2>/dev/null || true  # in case it was stopped (SIGSTOP)
            if ! wait_gone "$bp" 10; then
                log "sending KILL to $bp"
                kill -KILL "$bp" 2>/dev/null || true
                wait_gone "$bp" 5 || log "warning: pid $bp still alive"
            fi
        fi
    else
        log "no broker running in $D"
    fi
    if lp=$(launcher_pid); then kill_group "$lp"; fi
    epmd_kill
    rm -f "$PID_FILE" "$LAUNCHER_PID_FILE"
    return 0
}

cmd_kill() {
    local bp lp
    load_env || true
    if bp=$(beam_pid); then
        log "SIGKILL broker pid $bp"
        kill -KILL "$bp"
        wait_gone "$bp" 10 || log "warning: pid $bp still alive"
    elif lp=$(launcher_pid); then
        log "no broker pid yet; SIGKILL launcher group $lp"
        kill -KILL -- "-$lp" 2>/dev/null || kill -KILL "$lp" 2>/dev/null || true
        wait_gone "$lp" 10 || true
    else
        log "no broker running in $D"
    fi
    return 0
}

cmd_url() {
    load_env || die 1 "no broker.env in $D (run 'start' first)"
    echo "$B_URL"
}

cmd_status() {
    if load_env && { rabbit_env; answering; }; then
        echo running
        return 0
    fi
    echo stopped
    return 1
}

cmd_ctl() {
    load_env || die 1 "no broker.env in $D (run 'start' first)"
    rabbit_env
    exec "$RMQ_BIN/rabbitmqctl" "${CTL_ARGS[@]}"
}

# ---------------------------------------------------------------- a cluster of brokers on this machine
cluster_url() {
    local i hosts="" port
    for i in $(seq 1 "$NODES_OPT"); do
        [ -f "$D/node$i/broker.env" ] || break
        port=$(. "$D/node$i/broker.env" && echo "$PORT")
        hosts+=${hosts:+,}127.0.0.1:$port
    done
    [ -n "$hosts" ] || die 1 "no cluster in $D (run 'cluster start' first)"
    echo "amqp://guest:guest@$hosts/%2F"
}

cmd_cluster() {
    local self=$SCRIPT_DIR/broker.sh i
    case $CLUSTER_CMD in
        start)
            mkdir -p "$D"
            "$self" start --dir "$D/node1" --name mostrador-1 --port auto >/dev/null
            for i in $(seq 2 "$NODES_OPT"); do
                if [ -f "$D/node$i/broker.env" ]; then
                    "$self" start --dir "$D/node$i" --port auto >/dev/null
                else
                    "$self" start --dir "$D/node$i" --name "mostrador-$i" --port auto --join "$D/node1" >/dev/null
                fi
            done
            local running
            running=$("$self" ctl --dir "$D/node1" -- -q eval 'length(rabbit_nodes:all_running()).' </dev/null)
            [ "$running" = "$NODES_OPT" ] || die 1 "the cluster in $D runs ${running:-no} nodes of $NODES_OPT"
            log "cluster of $NODES_OPT nodes running in $D"
            cluster_url
            ;;
        stop)
            for i in $(seq "$NODES_OPT" -1 1); do
                [ -d "$D/node$i" ] && "$self" stop --dir "$D/node$i"
            done
            return 0
            ;;
        url) cluster_url ;;
    esac
}

"cmd_$CMD"
