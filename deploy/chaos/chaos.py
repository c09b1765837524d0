#!/usr/bin/env python3
"""Fault-injection harness for Mostrador (issue 11): drives messages through the real system — customer messages in
through `POST /webhook`, technician replies out through `enviar-mensaje` → relay → a counting bridge that does not
de-duplicate — injects one fault per scenario at a random moment, heals it, waits for the system to settle, and
checks that nothing was lost, duplicated (beyond messages in flight at a kill), stuck or dead-lettered.

    deploy/chaos.sh --ci                      # every CI scenario, a few hundred messages, a few minutes
    deploy/chaos.sh --messages 100000         # the long run (all scenarios, faults repeated during the drive)
    deploy/chaos.sh --scenario kill-relay     # one scenario (repeatable, or comma-separated)
    deploy/chaos.sh --list                    # the scenarios

Everything (broker, data, service logs, per-scenario evidence in report.json) lives in a run folder printed at the
start. Exit status: 0 when every scenario passed, 1 when one failed (lost, stuck, dead-lettered, unexplained
duplicates, crashes, lost events, replies out of order, retries left in the delay queues or a shutdown that hung), 2
on a harness error.
"""

import argparse
import http.client
import concurrent.futures
import json
import os
import random
import re
import secrets
import signal
import sqlite3
import subprocess
import sys
import tempfile
import threading
import time
import traceback

sys.path.insert(0, os.path.dirname(os.path.abspath(__file__)))

import bridge as bridge_module  # noqa: E402
from system import (  # noqa: E402
    REPO, SERVICES, Broker, Cluster, Service, Supervisor, free_port, http_request, install_signal_handlers, log,
    snapshot_binaries)

PENDING_STATUSES = ("queued", "retrying", "waiting_bridge")
RELAY_TIMEOUT_SECONDS = 5.0


def is_work_queue(name):
    """Queues whose messages mean work in progress (not the delay queues, the dead letters or live fan-out)."""
    return not (name.startswith("mostrador.live") or name == "mostrador.dead-letters")


# ====================================================================== scenarios


class Scenario:
    def __init__(self, name, description, inject, ci=True, quiesce_timeout=None, broker="any", standby=False):
        self.name = name
        self.standby = standby  # a second relay on the same ledger, standing by
        self.description = description
        self.inject = inject  # inject(run) -> None: one round of the fault, healed before returning
        self.ci = ci
        self.quiesce_timeout = quiesce_timeout
        self.broker = broker  # "any", "single" (faults of the whole broker) or "cluster" (needs --cluster)


def kill_service(name):
    def inject(run):
        service = run.services[name]
        run.event("kill", name, f"SIGKILL pid {service.pid}")
        service.kill()
        time.sleep(random.uniform(0.3, 2.0))
        service.start()
        run.event("restart", name, f"started pid {service.pid}")
        if not service.wait_ready(90):
            run.event("not-ready", name, "not ready 90 s after restart")
        else:
            run.event("ready", name, "ready after restart")
    return inject


def kill_broker(run):
    run.event("kill", "rabbitmq", "SIGKILL the broker (deploy/broker.sh kill)")
    run.broker.kill()
    time.sleep(random.uniform(1.0, 4.0))
    run.broker.start()
    run.event("restart", "rabbitmq", "broker started again (same ports)")
    deadline = time.monotonic() + 120
    waiting = set(run.services)
    while waiting and time.monotonic() < deadline:
        waiting = {name for name in waiting if not run.services[name].ready()}
        time.sleep(0.3)
    if waiting:
        run.event("not-ready", ",".join(sorted(waiting)), "not ready 120 s after the broker came back")
    else:
        run.event("ready", "all", "every service ready after the broker restart")


def bridge_phases(phases):
    """phases: [(mode, seconds, extra kwargs)], then back to up."""
    def inject(run):
        for mode, seconds, extra in phases:
            run.event("bridge", mode, f"bridge {mode} for {seconds:.1f} s {extra or ''}".strip())
            run.bridge.set_mode(mode, **(extra or {}))
            time.sleep(seconds)
        run.bridge.set_mode("up")
        run.event("bridge", "up", "bridge up again")
    return inject


def bridge_flap(run):
    modes = ["down", "unavailable", "slow", "error", "ratelimit"]
    random.shuffle(modes)
    phases = []
    for mode in modes[:4]:
        extra = {"slow_seconds": random.choice([2.0, 7.0])} if mode == "slow" else None
        if mode == "ratelimit":
            extra = {"retry_after_values": bridge_module.HOSTILE_RETRY_AFTER}
        phases.append((mode, random.uniform(2.0, 4.0), extra))
        phases.append(("up", random.uniform(0.5, 1.5), None))
    bridge_phases(phases)(run)


def memory_alarm(run):
    run.event("alarm", "rabbitmq", "set_vm_memory_high_watermark 0.00001 (publishers blocked)")
    run.broker.ctl("set_vm_memory_high_watermark", "0.00001", check=False)
    time.sleep(2)
    try:
        states = run.broker.ctl("list_connections", "-p", run.vhost, "-s", "name", "state", timeout=30, check=False)
        run.event("alarm", "rabbitmq", "connection states: " + " | ".join(states.split("\n")[:12]))
    except Exception as error:  # noqa: BLE001
        run.event("alarm", "rabbitmq", f"list_connections failed: {error}")
    time.sleep(8)
    run.broker.ctl("set_vm_memory_high_watermark", "0.4", check=False)
    run.event("alarm", "rabbitmq", "watermark restored to 0.4")


def freeze_api(run):
    api = run.services["api"]
    run.event("freeze", "api", f"SIGSTOP pid {api.pid} for 10 s")
    api.signal(signal.SIGSTOP)
    time.sleep(10)
    api.signal(signal.SIGCONT)
    run.event("thaw", "api", "SIGCONT")


def lock_database(run):
    path = os.path.join(run.services["api"].data_dir, "mostrador.sqlite")
    connection = sqlite3.connect(path, timeout=30, isolation_level=None)
    try:
        connection.execute("BEGIN EXCLUSIVE")
        run.event("lock", "api-db", f"BEGIN EXCLUSIVE on {path}, held 15 s")
        time.sleep(15)
        connection.execute("ROLLBACK")
        run.event("unlock", "api-db", "ROLLBACK, lock released")
    finally:
        connection.close()


def kill_relay_while_resending(run):
    """R1: the bridge goes away long enough for messages to park, comes back slow, and the relay is killed while
    it resends the parked messages."""
    run.event("bridge", "down", "bridge down for 4 s (messages park)")
    run.bridge.set_mode("down")
    time.sleep(4.0)
    run.bridge.set_mode("slow", slow_seconds=0.4)
    run.event("bridge", "slow", "bridge back, answering after 0.4 s (the relay resends parked messages)")
    time.sleep(random.uniform(1.0, 2.0))
    kill_service("bridge-relay")(run)
    time.sleep(3.0)
    run.bridge.set_mode("up")
    run.event("bridge", "up", "bridge at full speed")


def relay_sending(service):
    """Whether this relay process says it is the one sending (`mostrador_relay_active 1` on its ops port)."""
    try:
        status, _, body = http_request("GET", f"{service.ops_url}/metrics", timeout=2)
    except (OSError, http.client.HTTPException):
        return False
    return status == 200 and re.search(rb"^mostrador_relay_active(\{[^}]*\})? 1(\.0*)?$", body, re.M) is not None


def fail_over_relay(run):
    """Two relays on one ledger, one sending and one standing by: the bridge goes away so messages park in the
    shared ledger, the sending relay is SIGKILLed, and the standby must take over (the parked messages, each
    customer's line, what went out) and deliver everything once the bridge is back; the killed one comes back as
    the standby."""
    relays = [run.services["bridge-relay"], run.services["bridge-relay-standby"]]
    sending = [relay for relay in relays if relay_sending(relay)]
    if len(sending) != 1:
        run.event("FAILOVER", "bridge-relay", f"{len(sending)} relays report sending (expected 1)")
        run.relay_failover_problems.append(f"{len(sending)} relays sending before the kill")
        return
    active = sending[0]
    standby = relays[1] if active is relays[0] else relays[0]
    run.event("bridge", "down", "bridge down for 3 s (messages park in the shared ledger)")
    run.bridge.set_mode("down")
    time.sleep(3.0)
    run.event("kill", active.name, f"SIGKILL the sending relay, pid {active.pid}")
    active.kill()
    killed = time.monotonic()
    while not relay_sending(standby) and time.monotonic() - killed < 15:
        time.sleep(0.05)
    took = time.monotonic() - killed
    if relay_sending(standby):
        run.relay_failover_seconds.append(round(took, 2))
        run.event("failover", standby.name, f"sending {took:.2f} s after the kill")
    else:
        run.relay_failover_problems.append("the standby did not take over within 15 s")
        run.event("FAILOVER", standby.name, "not sending 15 s after the kill")
    time.sleep(1.0)
    run.bridge.set_mode("up")
    run.event("bridge", "up", "bridge up again (the new sending relay drains the parked messages)")
    time.sleep(random.uniform(1.0, 2.0))
    active.start()
    if not active.wait_ready(90):
        run.event("not-ready", active.name, "not ready 90 s after restart")
    time.sleep(0.5)
    if relay_sending(active):
        run.relay_failover_problems.append("the restarted relay sends while the other still does")
        run.event("FAILOVER", active.name, "restarted and sending: two senders")
    else:
        run.event("restart", active.name, f"back (pid {active.pid}) as the standby")


def stop_with_broker_down(run):
    """R4: SIGTERM every service while the broker is gone and work is pending; each must stop within its drain
    deadline; then everything starts again and nothing may be lost."""
    run.event("kill", "rabbitmq", "SIGKILL the broker")
    run.broker.kill()
    time.sleep(1.0)
    for name in ("api", "bridge-relay", "notifier", "classifier"):
        seconds, killed, code = run.services[name].terminate(timeout=30)
        run.event("stop", name, f"SIGTERM with the broker down: {'HUNG, SIGKILLed after' if killed else 'exited'} "
                  f"{seconds:.1f} s (status {code})")
        if killed:
            run.hangs.append({"service": name, "seconds": round(seconds, 1)})
    run.broker.start()
    run.event("restart", "rabbitmq", "broker started again")
    for service in run.services.values():
        service.start()
    for service in run.services.values():
        if not service.wait_ready(120):
            run.event("not-ready", service.name, "not ready 120 s after restart")
    run.event("ready", "all", "services started again")


def kill_busiest_node(run):
    """SIGKILL the cluster node that holds most of the services' connections, under traffic; the services must move
    to the other nodes (their URL names all three) and the quorum queues keep their majority; then the node comes
    back and rejoins."""
    cluster = run.broker
    before = cluster.connections_per_node(run.vhost)
    number = max(before, key=before.get) if before else 1
    victim = cluster.nodes[number - 1]
    total = sum(before.values())
    run.event("kill", f"rabbitmq-node{number}",
              f"SIGKILL node {number} of {len(cluster.nodes)}, which held {before.get(number, 0)} of the {total} "
              f"service connections ({before})")
    killed = time.monotonic()
    cluster.kill_node(victim)
    deadline = killed + 60
    moved = None
    while time.monotonic() < deadline:
        now = cluster.connections_per_node(run.vhost)
        if now.get(number, 0) == 0 and sum(now.values()) >= total and all(s.ready() for s in run.services.values()):
            moved = time.monotonic() - killed
            break
        time.sleep(0.2)
    if moved is None:
        run.event("not-ready", "services", f"not all back on the surviving nodes 60 s after the kill "
                  f"({cluster.connections_per_node(run.vhost)})")
    else:
        run.event("ready", "services", f"every service connection on the surviving nodes {moved:.1f} s after the "
                  f"kill ({cluster.connections_per_node(run.vhost)})")
        run.node_failover_seconds.append(round(moved, 2))
    time.sleep(random.uniform(3.0, 5.0))  # traffic on two nodes
    cluster.start_node(victim)
    run.event("restart", f"rabbitmq-node{number}", f"node {number} started again and rejoined")


def nothing(run):
    run.event("none", "-", "no fault (baseline)")
    time.sleep(1)


SCENARIOS = [
    Scenario("baseline", "no fault: the control run", nothing, ci=False),
    Scenario("kill-api", "SIGKILL the api at a random moment, restart it", kill_service("api")),
    Scenario("kill-relay", "SIGKILL the bridge relay at a random moment, restart it", kill_service("bridge-relay")),
    Scenario("kill-relay-resending", "bridge down 4 s (messages park), back slow; SIGKILL the relay while it "
             "resends the parked messages (R1)", kill_relay_while_resending),
    Scenario("fail-over-relay", "two relays on one ledger; bridge down 3 s (messages park), SIGKILL the sending "
             "relay: the standby takes over and drains; the killed one returns as the standby", fail_over_relay,
             ci=False, standby=True),
    Scenario("kill-notifier", "SIGKILL the notifier, restart it", kill_service("notifier")),
    Scenario("kill-classifier", "SIGKILL the classifier, restart it", kill_service("classifier")),
    Scenario("kill-broker", "SIGKILL RabbitMQ, start it again", kill_broker, broker="single"),
    Scenario("stop-broker-down", "SIGKILL RabbitMQ, SIGTERM every service while it is gone (each must stop "
             "within 30 s), start everything again (R4)", stop_with_broker_down, broker="single"),
    Scenario("kill-node", "3-node cluster (--cluster): SIGKILL the node holding most service connections under "
             "traffic, restart it after a few seconds", kill_busiest_node, broker="cluster"),
    Scenario("bridge-down", "the bridge refuses connections for 8 s", bridge_phases([("down", 8.0, None)]), ci=False),
    Scenario("bridge-slow", "the bridge answers after 7 s (past the relay's 5 s timeout) for 8 s",
             bridge_phases([("slow", 8.0, {"slow_seconds": 7.0})]), ci=False),
    Scenario("bridge-5xx", "the bridge answers 500 for 8 s", bridge_phases([("error", 8.0, None)]), ci=False),
    Scenario("bridge-flap", "the bridge flaps: down, 503, slow, 500, 429 in random order with short ups between",
             bridge_flap),
    Scenario("bridge-429", "429 with hostile Retry-After (inf, nan, -5, a past date, empty, garbage) for 6 s",
             bridge_phases([("ratelimit", 6.0, {"retry_after_values": bridge_module.HOSTILE_RETRY_AFTER})])),
    Scenario("bridge-429-huge", "429 with Retry-After 1e20 / 99999999999 / 1e308 for 3 s (a retry may wait the "
             "5-minute ceiling: long runs only)",
             bridge_phases([("ratelimit", 3.0, {"retry_after_values": bridge_module.HUGE_RETRY_AFTER})]),
             ci=False, quiesce_timeout=420),
    Scenario("memory-alarm", "broker memory alarm for 10 s (publishers blocked)", memory_alarm, broker="single"),
    Scenario("freeze-api", "SIGSTOP the api for 10 s, then SIGCONT", freeze_api),
    Scenario("lock-db", "the api's SQLite file held with BEGIN EXCLUSIVE for 15 s", lock_database),
]
BY_NAME = {scenario.name: scenario for scenario in SCENARIOS}


# ====================================================================== messages


class Message:
    """One message the harness tries to get accepted: a customer's (`in`) or a technician's (`out`)."""

    __slots__ = ("kind", "marker", "seq", "sender", "ticket", "text", "at", "setup", "accepted", "accepted_at",
                 "statuses", "message_id", "ticket_id", "ignored", "gave_up", "first_try")

    def __init__(self, kind, marker, seq, text, at, sender=None, ticket=None, setup=False):
        self.kind = kind
        self.marker = marker
        self.seq = seq
        self.sender = sender
        self.ticket = ticket
        self.text = text
        self.at = at
        self.setup = setup
        self.accepted = False
        self.accepted_at = None
        self.statuses = []
        self.message_id = None
        self.ticket_id = None
        self.ignored = None
        self.gave_up = None
        self.first_try = None


# ====================================================================== one scenario run


class ScenarioRun:
    def __init__(self, harness, scenario, index):
        self.harness = harness
        self.scenario = scenario
        self.args = harness.args
        self.broker = harness.broker
        self.index = index
        self.dir = os.path.join(harness.run_dir, f"{index:02d}-{scenario.name}")
        os.makedirs(self.dir, exist_ok=True)
        self.vhost = f"chaos-{index:02d}-{scenario.name}"
        self.events = []
        self.events_lock = threading.Lock()
        self.crashes = []
        self.hangs = []
        self.node_failover_seconds = []
        self.relay_failover_seconds = []
        self.relay_failover_problems = []
        self.services = {}
        self.bridge = None
        self.token = None
        self.token_lock = threading.Lock()
        self.messages = []
        self.pool = []  # (sender, ticket id)
        self.drive_done = threading.Event()
        self.result = None

    # ------------------------------------------------------------------ bookkeeping

    def event(self, kind, target, text):
        now = time.time()
        with self.events_lock:
            self.events.append({"t": now, "kind": kind, "target": target, "text": text})
        log(f"  [{self.scenario.name}] {kind} {target}: {text}")

    def on_crash(self, service, code):
        self.crashes.append({"service": service.name, "code": code, "t": time.time()})
        self.event("CRASH", service.name, f"exited by itself with status {code}; restarted")

    # ------------------------------------------------------------------ system

    def start_system(self):
        self.broker.add_vhost(self.vhost)
        bridge_token = secrets.token_hex(12)
        self.bridge = bridge_module.CountingBridge(free_port(), bridge_token)
        self.bridge.start()
        self.admin_password = secrets.token_hex(8)
        self.webhook_token = secrets.token_hex(12)
        environment = {
            "MOSTRADOR_AMQP_URL": self.broker.amqp_url(self.vhost),
            "MOSTRADOR_WEBHOOK_TOKEN": self.webhook_token,
            "MOSTRADOR_ADMIN_USER": "admin",
            "MOSTRADOR_ADMIN_PASSWORD": self.admin_password,
            "MOSTRADOR_BRIDGE_URL": self.bridge.url,
            "MOSTRADOR_BRIDGE_TOKEN": bridge_token,
            "MOSTRADOR_BRIDGE_PROBE_SECONDS": "1",
            "MOSTRADOR_BRIDGE_TIMEOUT_SECONDS": str(RELAY_TIMEOUT_SECONDS),
            "MOSTRADOR_RELAY_RATE": "0",
            "MOSTRADOR_INTAKE": "off",
            "MOSTRADOR_SEND_WAIT_SECONDS": "2",
            "MOSTRADOR_MIN_FREE_DISK_MB": "0",
            "MOSTRADOR_WEBHOOK_NEW_TICKETS_PER_SENDER_HOUR": "0",
            "MOSTRADOR_LOG_LEVEL": "info",
            "MOSTRADOR_LOG_FORMAT": "text",
        }
        for item in self.args.env:
            key, _, value = item.partition("=")
            environment[key] = value
        for name in SERVICES:
            self.services[name] = Service(name, self.harness.bin_dir, self.dir, environment)
        if self.scenario.standby:
            standby = Service("bridge-relay", self.harness.bin_dir, self.dir, environment, instance="standby")
            self.services[standby.name] = standby
        for service in self.services.values():
            service.start()
        for service in self.services.values():
            if not service.wait_ready(120):
                raise RuntimeError(f"{service.name} not ready; see {service.log_path}")
        self.supervisor = Supervisor(list(self.services.values()), self.on_crash)
        self.supervisor.start()
        self.login()

    def stop_system(self):
        self.supervisor.stop()
        shutdown = {}
        # Dependents first (as an operator would), each with a drain deadline of 30 s.
        for name in ("classifier", "notifier", "bridge-relay-standby", "bridge-relay", "api"):
            if name not in self.services:
                continue
            seconds, killed, code = self.services[name].terminate(timeout=30)
            shutdown[name] = {"seconds": round(seconds, 2), "killed": killed, "code": code}
        self.bridge.stop()
        if not self.args.keep_vhosts:
            self.broker.delete_vhost(self.vhost)
        return shutdown

    @property
    def api(self):
        return self.services["api"]

    def login(self):
        deadline = time.monotonic() + 120
        while True:
            try:
                status, _, body = http_request(
                    "POST", f"{self.api.url}/api/auth/login/",
                    {"username": "admin", "password": self.admin_password}, timeout=15)
                if status == 200:
                    with self.token_lock:
                        self.token = json.loads(body)["token"]
                    return
            except Exception:  # noqa: BLE001 - api down or frozen: try again
                pass
            if time.monotonic() > deadline:
                raise RuntimeError("could not log in as admin within 120 s")
            time.sleep(0.5)

    # ------------------------------------------------------------------ sending with retries

    def send(self, message, give_up_after):
        """Gets `message` accepted, retrying as a bridge (same id_mensaje) or a panel (same client_id) would."""
        started = time.monotonic()
        message.first_try = time.time()
        pause = 0.2
        while True:
            try:
                if message.kind == "in":
                    done = self._webhook(message)
                else:
                    done = self._reply(message)
            except Exception as error:  # noqa: BLE001 - connection refused, reset, timeout: retry
                message.statuses.append(type(error).__name__)
                done = False
            if done:
                return
            if time.monotonic() - started > give_up_after:
                message.gave_up = f"not accepted within {give_up_after:.0f} s: {message.statuses[-5:]}"
                return
            time.sleep(pause)
            pause = min(2.0, pause * 1.5)

    def _webhook(self, message):
        status, headers, body = http_request(
            "POST", f"{self.api.url}/webhook",
            {"remitente": message.sender, "contenido": message.text, "id_mensaje": f"CHAOS-{message.marker}",
             "nombre": f"Cliente {message.sender[-4:]}"},
            headers={"Authorization": f"Bearer {self.webhook_token}"}, timeout=15)
        message.statuses.append(status)
        if 200 <= status < 300:
            answer = json.loads(body or b"{}")
            if answer.get("ignored"):
                message.ignored = answer.get("ignored")
                return True
            message.accepted = True
            message.accepted_at = time.time()
            message.ticket_id = answer.get("ticket_id")
            return True
        if status in (400, 401, 403, 404, 413, 415, 422):
            message.gave_up = f"refused with {status}: {body[:200]!r}"
            return True
        if status == 429:
            time.sleep(min(5.0, _seconds(headers.get("retry-after"), 1.0)))
        return False

    def _reply(self, message):
        with self.token_lock:
            token = self.token
        status, headers, body = http_request(
            "POST", f"{self.api.url}/ticket/{message.ticket}/enviar-mensaje",
            {"mensaje": message.text, "client_id": f"chaos-{message.marker}"},
            headers={"Authorization": f"Token {token}"}, timeout=20)
        message.statuses.append(status)
        try:
            answer = json.loads(body or b"{}")
        except ValueError:
            answer = {}
        if status == 200 or (status in (502, 503, 504) and answer.get("guardado")):
            message.accepted = True
            message.accepted_at = time.time()
            message.message_id = answer.get("mensaje_id")
            message.statuses[-1] = f"{status}:{answer.get('estado_entrega')}"
            return True
        if status == 401:
            self.login()
            return False
        if status == 429:
            time.sleep(min(5.0, _seconds(headers.get("retry-after"), 1.0)))
            return False
        if status in (400, 403, 404, 409, 413, 422):
            message.gave_up = f"refused with {status}: {body[:200]!r}"
            return True
        return False

    # ------------------------------------------------------------------ the drive

    def plan(self, count, pool_size, duration):
        """`count` messages, half in, half out; customer messages go to pool tickets (70%) or open new ones."""
        name = self.scenario.name
        phone_base = 5215500000000 + self.index * 1_000_000
        self.pool_senders = [str(phone_base + i) for i in range(pool_size)]
        planned = []
        new_sender = pool_size
        for seq in range(count):
            at = duration * seq / max(1, count) if duration > 0 else 0.0
            if seq % 2 == 0:
                if random.random() < 0.3:
                    sender = str(phone_base + new_sender)
                    new_sender += 1
                else:
                    sender = random.choice(self.pool_senders)
                marker = f"{name}-i{seq}"
                text = f"{random.choice(CUSTOMER_TEXTS)} [chaos:{marker}]"
                planned.append(Message("in", marker, seq, text, at, sender=sender))
            else:
                marker = f"{name}-o{seq}"
                text = f"Respuesta del técnico número {seq}: {random.choice(TECH_TEXTS)} [chaos:{marker}]"
                planned.append(Message("out", marker, seq, text, at, ticket=None))
        return planned

    def setup_pool(self, give_up_after):
        """Opens one ticket per pool sender and has the admin reply once (which assigns it)."""
        def open_ticket(i, sender):
            marker = f"{self.scenario.name}-s{i}"
            first = Message("in", marker, -1, f"Hola, mi laptop no enciende desde ayer [chaos:{marker}]", 0,
                            sender=sender, setup=True)
            self.send(first, give_up_after)
            reply = None
            if first.accepted and first.ticket_id:
                marker = f"{self.scenario.name}-a{i}"
                reply = Message("out", marker, -1, f"Hola, soy el técnico, ya reviso tu caso [chaos:{marker}]", 0,
                                ticket=first.ticket_id, setup=True)
                self.send(reply, give_up_after)
            return first, reply

        with concurrent.futures.ThreadPoolExecutor(max_workers=8) as pool:
            results = list(pool.map(lambda pair: open_ticket(*pair), enumerate(self.pool_senders)))
        for first, reply in results:
            self.messages.append(first)
            if reply:
                self.messages.append(reply)
            if first.accepted and first.ticket_id:
                self.pool.append((first.sender, first.ticket_id))
        if not self.pool:
            raise RuntimeError("no pool ticket could be opened")

    def drive(self, planned, give_up_after, customer_workers, tech_workers):
        tickets = [ticket for _, ticket in self.pool]
        outgoing = [m for m in planned if m.kind == "out"]
        for i, message in enumerate(outgoing):
            message.ticket = tickets[i % len(tickets)]
        incoming = [m for m in planned if m.kind == "in"]
        self.messages.extend(planned)
        start = time.monotonic()
        self.drive_started = start

        def wait_until(offset):
            delay = start + offset - time.monotonic()
            if delay > 0:
                time.sleep(delay)

        def customer(message):
            wait_until(message.at)
            self.send(message, give_up_after)

        # One thread per group of tickets: a ticket's replies are sent one after another, in order.
        lanes = {}
        for message in outgoing:
            lanes.setdefault(tickets.index(message.ticket) % tech_workers, []).append(message)

        def technician(lane):
            for message in lane:
                wait_until(message.at)
                self.send(message, give_up_after)

        with concurrent.futures.ThreadPoolExecutor(max_workers=customer_workers + len(lanes)) as pool:
            futures = [pool.submit(technician, lane) for lane in lanes.values()]
            futures += [pool.submit(customer, message) for message in incoming]
            for future in futures:
                future.result()
        self.drive_done.set()

    def injector(self, duration):
        """CI: one round at a random moment of the drive. Long runs: rounds until the drive ends."""
        try:
            if self.args.rounds == 1:
                time.sleep(random.uniform(0.2, 0.5) * max(duration, 4.0))
                self.scenario.inject(self)
                return
            rounds = 0
            time.sleep(random.uniform(1.0, 5.0))
            while not self.drive_done.is_set() and (self.args.rounds == 0 or rounds < self.args.rounds):
                self.scenario.inject(self)
                rounds += 1
                self.drive_done.wait(random.uniform(5.0, 20.0))
        except Exception as error:  # noqa: BLE001 - a broken injector is reported, the run goes on
            self.event("injector-error", "-", f"{type(error).__name__}: {error}")
            traceback.print_exc()

    # ------------------------------------------------------------------ reading the system's state

    def _db(self, path):
        connection = sqlite3.connect(f"file:{path}?mode=ro", uri=True, timeout=30)
        connection.row_factory = sqlite3.Row
        return connection

    def api_db(self):
        return self._db(os.path.join(self.api.data_dir, "mostrador.sqlite"))

    def ledger_db(self):
        path = os.path.join(self.services["bridge-relay"].data_dir, "relay-ledger.sqlite")
        return self._db(path) if os.path.exists(path) else None

    def pending(self):
        """What is still moving: a dict of counts (all zero when quiet), without asking the broker."""
        counts = {}
        accepted_out = [m for m in self.messages if m.kind == "out" and m.accepted]
        delivered = self.bridge.counts()
        counts["undelivered"] = sum(1 for m in accepted_out if delivered.get(m.marker, 0) == 0)
        try:
            with self.api_db() as db:
                counts["api_pending"] = db.execute(
                    f"SELECT COUNT(*) FROM messages WHERE delivery_status IN {PENDING_STATUSES}").fetchone()[0]
                counts["outbox"] = db.execute("SELECT COUNT(*) FROM outbox").fetchone()[0]
                counts["unclassified"] = db.execute(
                    "SELECT COUNT(*) FROM tickets WHERE description IS NOT NULL AND category_model IS NULL"
                ).fetchone()[0]
                counts["notifications_missing"] = sum(
                    max(0, expected - got) for expected, got in self._notifications(db).values())
        except sqlite3.Error as error:
            counts["api_db_error"] = 1
            self.last_db_error = str(error)
        ledger = self.ledger_db()
        if ledger is not None:
            try:
                with ledger as db:
                    counts["ledger_pending"] = db.execute(
                        "SELECT COUNT(*) FROM deliveries WHERE status IN ('sending', 'parked', 'retrying')").fetchone()[0]
            except sqlite3.Error:
                counts["ledger_db_error"] = 1
            finally:
                ledger.close()
        return counts

    def _notifications(self, db):
        """pool ticket -> (customer messages stored after it was assigned, `new_message` agent notifications)."""
        result = {}
        for _, ticket in self.pool:
            first_reply = db.execute(
                "SELECT MIN(id) FROM messages WHERE ticket_id = ? AND role = 'tecnico'", (ticket,)).fetchone()[0]
            if first_reply is None:
                continue
            expected = db.execute(
                "SELECT COUNT(*) FROM messages WHERE ticket_id = ? AND role = 'user' AND id > ?",
                (ticket, first_reply)).fetchone()[0]
            got = db.execute(
                "SELECT COUNT(*) FROM notifications WHERE ticket_id = ? AND kind = 'new_message' "
                "AND recipient = 'agent'", (ticket,)).fetchone()[0]
            result[ticket] = (expected, got)
        return result

    def quiesce(self, timeout):
        """Waits until nothing moves (twice in a row, broker queues included) or `timeout`; returns the last
        pending counts and queue depths."""
        deadline = time.monotonic() + timeout
        quiet_once = False
        counts, queues = {}, {}
        while True:
            counts = self.pending()
            if not any(counts.values()):
                queues = self.broker.queues(self.vhost) or {"?": -1}
                busy = {q: n for q, n in queues.items() if n and is_work_queue(q)}
                if not busy:
                    if quiet_once:
                        return counts, queues, True
                    quiet_once = True
                    time.sleep(1.0)
                    continue
            quiet_once = False
            if time.monotonic() > deadline:
                queues = self.broker.queues(self.vhost) or {"?": -1}
                return counts, queues, False
            time.sleep(1.0)

    # ------------------------------------------------------------------ the checks

    def check(self, counts, queues, settled):
        result = {"scenario": self.scenario.name, "settled": settled, "pending_at_end": counts,
                  "queues_at_end": queues}
        delivered = self.bridge.counts()
        receipts = self.bridge.receipts()
        by_marker = {}
        for receipt in receipts:
            if receipt.marker:
                by_marker.setdefault(receipt.marker, []).append(receipt)

        db = self.api_db()
        try:
            rows = db.execute(
                "SELECT id, ticket_id, role, content, client_id, external_id, delivery_status, delivery_attempt, "
                "delivery_error, created_at FROM messages WHERE content LIKE '%[chaos:%'").fetchall()
            pending_rows = db.execute(
                "SELECT id, ticket_id, role, delivery_status, delivery_attempt, delivery_error, delivery_updated_at, "
                f"substr(content, 1, 80) AS content FROM messages WHERE delivery_status IN {PENDING_STATUSES}"
            ).fetchall()
            outbox_rows = db.execute(
                "SELECT id, message_id, routing_key, attempts, last_error, created_at FROM outbox").fetchall()
            unclassified = db.execute(
                "SELECT id, created_at FROM tickets WHERE description IS NOT NULL AND category_model IS NULL"
            ).fetchall()
            notifications = self._notifications(db)
            tickets_total = db.execute("SELECT COUNT(*) FROM tickets").fetchone()[0]
        finally:
            db.close()
        stored = {}
        for row in rows:
            marker = bridge_module.MARKER.search(row["content"]).group(1)
            stored.setdefault(marker, []).append(dict(row))

        ledger_rows = []
        ledger = self.ledger_db()
        if ledger is not None:
            try:
                ledger_rows = [dict(r) for r in ledger.execute(
                    "SELECT message_id, ticket_id, message_ref, status, attempts, reason, updated_at, "
                    "substr(text, 1, 80) AS text FROM deliveries WHERE status IN ('sending', 'parked', 'retrying')").fetchall()]
            finally:
                ledger.close()

        accepted_in = [m for m in self.messages if m.kind == "in" and m.accepted]
        accepted_out = [m for m in self.messages if m.kind == "out" and m.accepted]
        kills = [e for e in self.events if e["kind"] in ("kill", "CRASH")]
        lost, duplicated, stuck_ids = [], [], set()

        for message in accepted_in:
            copies = stored.get(message.marker, [])
            if len(copies) == 0:
                lost.append({"marker": message.marker, "kind": "in", "why": "accepted (2xx) but not stored",
                             "statuses": message.statuses[-6:]})
            elif len(copies) > 1:
                duplicated.append({"marker": message.marker, "kind": "in", "copies": len(copies),
                                   "explained": None, "ids": [c["id"] for c in copies]})

        pending_ids = {row["id"] for row in pending_rows}
        ledger_pending_refs = {row["message_ref"] for row in ledger_rows}
        for message in accepted_out:
            copies = stored.get(message.marker, [])
            count = delivered.get(message.marker, 0)
            if len(copies) == 0:
                lost.append({"marker": message.marker, "kind": "out", "why": "accepted but not stored",
                             "mensaje_id": message.message_id, "statuses": message.statuses[-6:]})
                continue
            if len(copies) > 1:
                duplicated.append({"marker": message.marker, "kind": "out-stored", "copies": len(copies),
                                   "explained": None, "ids": [c["id"] for c in copies]})
            row = copies[0]
            if count == 0:
                if row["id"] in pending_ids or row["id"] in ledger_pending_refs:
                    stuck_ids.add(row["id"])
                else:
                    lost.append({"marker": message.marker, "kind": "out", "why": "never reached the bridge",
                                 "mensaje_id": row["id"], "estado_entrega": row["delivery_status"],
                                 "intento": row["delivery_attempt"], "error": row["delivery_error"],
                                 "bridge_requests": [(r.mode, r.status) for r in by_marker.get(message.marker, [])],
                                 "statuses": message.statuses[-6:]})
            elif count > 1:
                duplicated.append({"marker": message.marker, "kind": "out", "copies": count,
                                   "mensaje_id": row["id"],
                                   "explained": self._explain(by_marker.get(message.marker, []), kills),
                                   "bridge_requests": [(round(r.at, 3), r.mode, r.status, r.write_ok)
                                                       for r in by_marker.get(message.marker, [])]})

        stuck_ids |= pending_ids
        stuck_ledger = [r for r in ledger_rows if r["message_ref"] == 0 or r["message_ref"] not in stuck_ids]
        stuck = len(stuck_ids) + len(stuck_ledger) + len(outbox_rows)
        dead = max(0, queues.get("mostrador.dead-letters", 0))
        retry_left = {q: n for q, n in queues.items() if n > 0 and q.startswith("mostrador.delay.")}
        peeked = {}
        for queue in list(retry_left)[:3] + (["mostrador.dead-letters"] if dead else []):
            peeked[queue] = self.broker.peek(self.vhost, queue, count=3)
        missing_notifications = {t: v for t, v in notifications.items() if v[0] != v[1]}
        events_lost = len(unclassified) + sum(max(0, e - g) for e, g in notifications.values())
        reordered = self._reordered(accepted_out, by_marker, stored)
        unexplained = [d for d in duplicated if not d["explained"]]
        # Notices (ticket received, technician assigned) carry no marker: counted by recipient and text.
        notices = {}
        for receipt in receipts:
            if receipt.delivered and not receipt.marker:
                key = f"{receipt.numero} {receipt.texto[:60]}"
                notices[key] = notices.get(key, 0) + 1

        result.update({
            "accepted_in": len(accepted_in),
            "accepted_out": len(accepted_out),
            "not_accepted": [{"marker": m.marker, "why": m.gave_up or m.ignored, "statuses": m.statuses[-6:]}
                             for m in self.messages if not m.accepted],
            "stored": sum(1 for m in accepted_in + accepted_out if stored.get(m.marker)),
            "delivered": sum(1 for m in accepted_out if delivered.get(m.marker, 0) > 0),
            "lost": lost,
            "duplicated": duplicated,
            "unexplained_duplicates": len(unexplained),
            "stuck": stuck,
            "stuck_api_rows": [dict(r) for r in pending_rows],
            "stuck_ledger_rows": ledger_rows,
            "stuck_outbox_rows": [dict(r) for r in outbox_rows],
            "dead_lettered": dead,
            "retry_queues_left": retry_left,
            "peeked": peeked,
            "unclassified_tickets": [dict(r) for r in unclassified],
            "notification_mismatch": {str(t): {"expected": e, "got": g} for t, (e, g) in missing_notifications.items()},
            "events_lost": events_lost,
            "reordered": reordered,
            "crashes": self.crashes,
            "hangs": self.hangs,
            "node_failover_seconds": self.node_failover_seconds,
            "relay_failover_seconds": self.relay_failover_seconds,
            "relay_failover_problems": self.relay_failover_problems,
            "notices": {"delivered": sum(notices.values()), "distinct": len(notices),
                        "repeated": {k: n for k, n in notices.items() if n > 1}},
            "tickets": tickets_total,
            "bridge": self.bridge.stats(),
            "events": self.events,
        })
        return result

    def _explain(self, receipts, kills):
        """Why a message reached the bridge more than once, if a reason allowed by the rules exists."""
        delivered = sorted((r for r in receipts if r.delivered), key=lambda r: r.at)
        if not delivered:
            return None
        first = delivered[0]
        answered = first.answered_at or first.at
        for kill in kills:
            if first.at - 1.0 <= kill["t"] <= answered + 5.0:
                return f"in flight at the {kill['kind']} of {kill['target']}"
        if answered - first.at >= RELAY_TIMEOUT_SECONDS - 0.5:
            return "timeout: the bridge delivered but answered after the relay's timeout"
        return None

    @staticmethod
    def _reordered(accepted_out, by_marker, stored):
        """Messages that reached the bridge before an earlier reply on the same ticket (first arrivals; "earlier" in
        the api's order, its stored ids, as two concurrent answers may come back to their senders in either order)."""
        per_ticket = {}
        for message in accepted_out:
            arrivals = [r.at for r in by_marker.get(message.marker, []) if r.delivered]
            copies = stored.get(message.marker)
            if arrivals and copies:
                place = min(copy["id"] for copy in copies)
                per_ticket.setdefault(message.ticket, []).append((place, min(arrivals), message.marker))
        count, examples = 0, []
        for ticket, items in per_ticket.items():
            items.sort()
            latest = 0.0
            for _, first_arrival, marker in items:
                if first_arrival < latest:
                    count += 1
                    if len(examples) < 10:
                        examples.append({"ticket": ticket, "marker": marker})
                latest = max(latest, first_arrival)
        return {"count": count, "examples": examples}

    # ------------------------------------------------------------------ the whole scenario

    def run(self, count):
        args = self.args
        log(f"== scenario {self.scenario.name}: {self.scenario.description}")
        log(f"   folder {self.dir}")
        started = time.monotonic()
        self.start_system()
        pool_size = max(2, min(args.pool, count // 6 or 2))
        duration = args.drive_seconds
        planned = self.plan(count, pool_size, duration)
        give_up = args.give_up
        self.setup_pool(give_up)
        log(f"   {len(self.pool)} tickets open, driving {count} messages"
            + (f" over ~{duration:.0f} s" if duration else ""))
        injector = threading.Thread(target=self.injector, args=(duration,), daemon=True)
        injector.start()
        self.drive(planned, give_up, args.customer_workers, args.tech_workers)
        drive_seconds = time.monotonic() - self.drive_started
        injector.join(timeout=300)
        if injector.is_alive():
            self.event("injector-error", "-", "the fault did not heal within 300 s")
        timeout = self.scenario.quiesce_timeout or args.quiesce_timeout
        log(f"   drive done in {drive_seconds:.1f} s; waiting for the system to settle (at most {timeout} s)")
        counts, queues, settled = self.quiesce(timeout)
        result = self.check(counts, queues, settled)
        result["shutdown"] = self.stop_system()
        result["seconds"] = round(time.monotonic() - started, 1)
        result["drive_seconds"] = round(drive_seconds, 1)
        result["log_findings"] = log_findings(self.services.values())
        with open(os.path.join(self.dir, "report.json"), "w") as out:
            json.dump(result, out, indent=2, default=str, ensure_ascii=False)
        self.result = result
        return result


CUSTOMER_TEXTS = [
    "la impresora no imprime y marca error de papel",
    "mi laptop no enciende, ya cambié el cargador",
    "no puedo instalar el programa de facturación",
    "la pantalla parpadea y se apaga sola",
    "olvidé mi contraseña del correo y no me deja entrar",
    "el antivirus bloquea la aplicación del banco",
    "se mojó el teclado y ya no responde",
    "windows se actualizó y ahora todo va lentísimo",
]
TECH_TEXTS = [
    "ya revisamos tu equipo", "¿puedes reiniciarlo y decirme qué ves?", "te mando los pasos en un momento",
    "el técnico pasa mañana a las 10", "listo, ya quedó configurado",
]


def _seconds(value, default):
    try:
        number = float(value)
        return number if 0 <= number < 3600 else default
    except (TypeError, ValueError):
        return default


def log_findings(services):
    """Lines worth reading from each service log: errors, criticals, crashes, warnings (at most 40 each)."""
    findings = {}
    keywords = (" error ", " critical ", "fatal", "Fatal error", " warning ", "chaos:", "panic", "Crash")
    for service in services:
        lines = []
        try:
            with open(service.log_path, errors="replace") as f:
                for line in f:
                    if any(k in line for k in keywords):
                        lines.append(line.rstrip()[:400])
        except OSError:
            continue
        findings[service.name] = {"count": len(lines), "first": lines[:25], "last": lines[-15:]}
    return findings


# ====================================================================== the harness


class Harness:
    def __init__(self, args):
        self.args = args
        self.run_dir = args.run_dir or tempfile.mkdtemp(prefix="mostrador-chaos-")
        os.makedirs(self.run_dir, exist_ok=True)
        self.bin_dir = None
        self.broker = None

    def prepare_binaries(self):
        source = self.args.bin_dir or os.path.join(REPO, ".build", "debug")
        names = [f"mostrador-{s}" for s in SERVICES]
        if not all(os.path.exists(os.path.join(source, n)) for n in names):
            if self.args.bin_dir:
                raise RuntimeError(f"{source} lacks the service binaries ({', '.join(names)})")
            log("building the services (swift build)")
            subprocess.run(["swift", "build"], cwd=REPO, check=True, timeout=3600)
            source = subprocess.run(["swift", "build", "--show-bin-path"], cwd=REPO, check=True,
                                    stdout=subprocess.PIPE, text=True, timeout=600).stdout.strip()
        if self.args.no_copy:
            self.bin_dir = source
            return
        self.bin_dir = os.path.join(self.run_dir, "bin")
        snapshot_binaries(source, self.bin_dir, names)
        log(f"binaries: snapshot of {source} in {self.bin_dir}")

    def prepare_classifier_model(self):
        """Trains the classifier's model once for the whole run (`mostrador-classifier train`), so that each of the
        dozens of classifier starts loads it instead of training its own (seconds each in a debug build). Without
        it (training failed), every classifier trains at start, as in production."""
        if os.environ.get("MOSTRADOR_CLASSIFIER_MODEL"):
            return
        path = os.path.join(self.run_dir, "classifier-model.json")
        started = time.time()
        result = subprocess.run([os.path.join(self.bin_dir, "mostrador-classifier"), "train", "--output", path],
                                stdout=subprocess.PIPE, stderr=subprocess.STDOUT, text=True, timeout=600)
        if result.returncode == 0:
            os.environ["MOSTRADOR_CLASSIFIER_MODEL"] = path
            log(f"classifier model trained once in {time.time() - started:.1f} s: {path}")
        else:
            log(f"classifier model not trained (each classifier trains its own): {result.stdout.strip()[-300:]}")

    def run(self, scenarios):
        log(f"run folder: {self.run_dir}")
        self.prepare_binaries()
        self.prepare_classifier_model()
        if self.args.cluster:
            self.broker = Cluster(os.path.join(self.run_dir, "cluster"))
            log("starting a 3-node RabbitMQ cluster (deploy/broker.sh cluster start)")
        else:
            self.broker = Broker(os.path.join(self.run_dir, "broker"))
            log("starting RabbitMQ (deploy/broker.sh start --port auto)")
        self.broker.start()
        log(f"broker: {self.broker.url}")
        per_scenario = max(10, self.args.messages // len(scenarios))
        results = []
        for index, scenario in enumerate(scenarios, start=1):
            run = ScenarioRun(self, scenario, index)
            try:
                results.append(run.run(per_scenario))
            except Exception as error:  # noqa: BLE001 - one broken scenario must not hide the others
                traceback.print_exc()
                results.append({"scenario": scenario.name, "error": f"{type(error).__name__}: {error}"})
                try:
                    for service in run.services.values():
                        service.kill()
                    if run.bridge:
                        run.bridge.stop()
                except Exception:  # noqa: BLE001
                    pass
            print_row(results[-1], header=(index == 1))
        self.broker.stop()
        return results


COLUMNS = [("scenario", 21), ("accepted", 10), ("stored", 7), ("delivered", 9), ("lost", 5), ("dup", 9),
           ("stuck", 6), ("dead", 5), ("retryq", 7), ("events", 7), ("crash", 6), ("order", 6), ("stop s", 7),
           ("result", 7)]


def verdict(result):
    if "error" in result:
        return "ERROR"
    bad = (len(result["lost"]) or result["stuck"] or result["dead_lettered"] or result["unexplained_duplicates"]
           or result["crashes"] or result["events_lost"] or result.get("hangs") or result["reordered"]["count"]
           or sum(result["retry_queues_left"].values()) or result.get("relay_failover_problems"))
    return "FAIL" if bad else "ok"


def row_cells(result):
    if "error" in result:
        return [result["scenario"]] + ["-"] * (len(COLUMNS) - 2) + ["ERROR"]
    dup = len(result["duplicated"])
    dup_text = f"{dup}" + (f"({result['unexplained_duplicates']}!)" if result["unexplained_duplicates"] else "")
    slowest = max((s["seconds"] for s in result["shutdown"].values()), default=0)
    killed = any(s["killed"] for s in result["shutdown"].values())
    hung = len(result.get("hangs") or [])
    return [
        result["scenario"],
        f"{result['accepted_in']}+{result['accepted_out']}",
        str(result["stored"]),
        f"{result['delivered']}/{result['accepted_out']}",
        str(len(result["lost"])),
        dup_text,
        str(result["stuck"]),
        str(result["dead_lettered"]),
        str(sum(result["retry_queues_left"].values())),
        str(result["events_lost"]),
        str(len(result["crashes"])),
        str(result["reordered"]["count"]),
        (f"{hung} hung" if hung else f"{slowest:.1f}" + ("K" if killed else "")),
        verdict(result),
    ]


def print_row(result, header=False):
    if header:
        print(TABLE_HEADER, flush=True)
    print(" ".join(cell.ljust(width) for cell, (_, width) in zip(row_cells(result), COLUMNS)), flush=True)


TABLE_HEADER = " ".join(name.ljust(width) for name, width in COLUMNS)
LEGEND = """\
accepted  customer messages answered 2xx + technician messages the api saved (200, or 502/503/504 "guardado")
stored    accepted messages found in the api database (each must be there exactly once)
delivered technician messages that reached the counting bridge at least once / accepted
lost      accepted and gone: not stored, or finished (sent/failed) without reaching the bridge
dup       messages stored twice or delivered more than once; (n!) = not explained by a kill in flight or a timeout
stuck     still queued/retrying/waiting_bridge in the api, sending/parked in the relay ledger, or in the outbox
dead      messages in the dead-letter queue
retryq    messages still waiting in the delay (retry) queues once everything was delivered (orphaned retries)
events    tickets never classified + agent notifications missing for customer messages
crash     services that exited by themselves (restarted by the harness, as systemd would)
order     replies that reached the bridge before an earlier reply to the same ticket (per-customer order)
stop s    slowest graceful stop (SIGTERM) after the scenario; K = one had to be SIGKILLed after 30 s;
          "n hung" = services that did not stop within 30 s of SIGTERM with the broker down (stop-broker-down)"""


LOG_LEVEL = re.compile(r"\+\d{4} (error|critical) ")


def print_evidence(result):
    """A few lines per failed scenario; the whole of it is in its report.json and logs/."""
    print(f"\n-- {result['scenario']}: evidence")
    if "error" in result:
        print(f"   harness error: {result['error']}")
        return
    if not result["settled"]:
        print(f"   did not settle; still pending: {result['pending_at_end']}")
    for item in result["lost"][:5]:
        print(f"   lost {item['kind']} {item['marker']}: {item['why']}; "
              + ", ".join(f"{k}={item[k]}" for k in ("mensaje_id", "estado_entrega", "intento", "error",
                                                      "bridge_requests", "statuses") if k in item))
    for row in result["stuck_api_rows"][:5]:
        print(f"   stuck api message {row['id']} (ticket {row['ticket_id']}, {row['role']}): {row['delivery_status']} "
              f"attempt {row['delivery_attempt']} error {row['delivery_error']!r} since {row['delivery_updated_at']}")
    for row in result["stuck_ledger_rows"][:5]:
        print(f"   stuck relay ledger entry {row['message_id']} (message {row['message_ref']}): {row['status']} "
              f"attempts {row['attempts']} reason {row['reason']!r} since {row['updated_at']}")
    for row in result["stuck_outbox_rows"][:3]:
        print(f"   outbox row {row['id']} {row['routing_key']}: attempts {row['attempts']} error {row['last_error']!r}")
    if result["dead_lettered"]:
        print(f"   {result['dead_lettered']} message(s) in mostrador.dead-letters (peeked in report.json)")
    for item in [d for d in result["duplicated"] if not d["explained"]][:5]:
        print(f"   unexplained duplicate {item['kind']} {item['marker']} x{item['copies']}: "
              f"{item.get('bridge_requests') or item.get('ids')}")
    for crash in result["crashes"]:
        print(f"   crash: {crash['service']} exited with status {crash['code']}")
    for hang in result.get("hangs") or []:
        print(f"   hang: {hang['service']} still running {hang['seconds']} s after SIGTERM (broker down)")
    if result["unclassified_tickets"]:
        print(f"   tickets never classified: {[t['id'] for t in result['unclassified_tickets']][:10]}")
    if result["notification_mismatch"]:
        print(f"   notifications (ticket: expected/got): "
              + ", ".join(f"{t}: {v['expected']}/{v['got']}" for t, v in
                          list(result["notification_mismatch"].items())[:8]))
    for service, findings in result["log_findings"].items():
        interesting = [line for line in findings["first"] + findings["last"]
                       if LOG_LEVEL.search(line) or "Fatal" in line or "exited by itself" in line
                       or "did not stop" in line]
        for line in interesting[:3]:
            print(f"   {service}.log: {line[:300]}")


def main():
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--ci", action="store_true", help="every CI scenario, a few hundred messages in all")
    parser.add_argument("--messages", type=int, help="messages in all, split across the scenarios")
    parser.add_argument("--scenario", action="append", default=[], help="run only this scenario (repeatable)")
    parser.add_argument("--list", action="store_true", help="list the scenarios and exit")
    parser.add_argument("--bin-dir", help="folder with the mostrador-* binaries (default .build/debug)")
    parser.add_argument("--no-copy", action="store_true", help="run the binaries in place (no snapshot)")
    parser.add_argument("--run-dir", help="folder for everything (default: a new temporary folder)")
    parser.add_argument("--seed", type=int, help="random seed (printed at the start)")
    parser.add_argument("--rounds", type=int, help="fault rounds per scenario (0: until the drive ends)")
    parser.add_argument("--drive-seconds", type=float, help="pace the drive over this long (0: as fast as it goes)")
    parser.add_argument("--pool", type=int, default=None, help="tickets the technicians reply on")
    parser.add_argument("--customer-workers", type=int, default=8)
    parser.add_argument("--tech-workers", type=int, default=8)
    parser.add_argument("--give-up", type=float, default=None, help="seconds to keep retrying one message")
    parser.add_argument("--quiesce-timeout", type=float, default=None, help="seconds to wait for the system to settle")
    parser.add_argument("--env", action="append", default=[], help="extra KEY=VALUE for every service")
    parser.add_argument("--cluster", action="store_true",
                        help="a 3-node RabbitMQ cluster instead of one broker (scenarios that fit a cluster)")
    parser.add_argument("--keep-vhosts", action="store_true", help="keep each scenario's virtual host (evidence)")
    args = parser.parse_args()

    if args.list:
        for scenario in SCENARIOS:
            print(f"{scenario.name:20} {'ci ' if scenario.ci else 'long'}  {scenario.description}")
        return 0
    long_run = not args.ci and (args.messages or 0) >= 5000
    if args.messages is None:
        args.messages = 800 if args.ci or not args.scenario else 120 * len(args.scenario)
    if args.rounds is None:
        args.rounds = 0 if long_run else 1
    if args.drive_seconds is None:
        # Long runs: paced at about 150 messages/s, at least 30 s a scenario, so that several rounds of each fault
        # land while messages flow (the workers simply fall behind when the system is slower than that).
        args.drive_seconds = max(30.0, args.messages / len(SCENARIOS) / 150) if long_run else 10.0
    if args.pool is None:
        args.pool = 100 if long_run else 12
    if args.give_up is None:
        args.give_up = 300.0 if long_run else 90.0
    if args.quiesce_timeout is None:
        args.quiesce_timeout = 300.0 if long_run else 60.0
    names = [n for item in args.scenario for n in item.split(",") if n]
    unknown = [n for n in names if n not in BY_NAME]
    if unknown:
        parser.error(f"unknown scenario(s) {', '.join(unknown)}; see --list")
    fits = "cluster" if args.cluster else "single"
    if names:
        scenarios = [BY_NAME[n] for n in names]
        wrong = [s.name for s in scenarios if s.broker not in ("any", fits)]
        if wrong:
            parser.error(f"{', '.join(wrong)} need{'s' if len(wrong) == 1 else ''} "
                         f"{'one broker (no --cluster)' if args.cluster else '--cluster'}")
    elif args.ci:
        scenarios = [s for s in SCENARIOS if s.ci and s.broker in ("any", fits)]
    else:
        scenarios = [s for s in SCENARIOS if (long_run or s.ci) and s.broker in ("any", fits)]
    seed = args.seed if args.seed is not None else random.randrange(1 << 30)
    random.seed(seed)

    install_signal_handlers()
    harness = Harness(args)
    log(f"chaos: {len(scenarios)} scenario(s), {args.messages} messages, seed {seed}")
    try:
        results = harness.run(scenarios)
    except Exception as error:  # noqa: BLE001
        traceback.print_exc()
        log(f"harness error: {error}; run folder {harness.run_dir}")
        return 2
    print()
    print(f"== chaos results (seed {seed}, run folder {harness.run_dir})")
    print(TABLE_HEADER)
    for result in results:
        print(" ".join(cell.ljust(width) for cell, (_, width) in zip(row_cells(result), COLUMNS)))
    print()
    print(LEGEND)
    summary = os.path.join(harness.run_dir, "summary.json")
    with open(summary, "w") as out:
        json.dump({"seed": seed, "messages": args.messages, "results": results}, out, indent=2, default=str,
                  ensure_ascii=False)
    failed = [r["scenario"] for r in results if verdict(r) != "ok"]
    for result in results:
        if verdict(result) != "ok":
            print_evidence(result)
    if failed:
        print(f"\nFAILED: {', '.join(failed)} — evidence in {harness.run_dir}/<nn>-<scenario>/report.json and logs/")
        return 1
    print("\nall scenarios passed")
    return 0


if __name__ == "__main__":
    sys.exit(main())
