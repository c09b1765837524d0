"""The real system for the fault-injection harness: an isolated RabbitMQ (deploy/broker.sh) and the four service
binaries, each its own process with its own data folder, ports chosen free at run time, logs kept in the run
folder. Every process started here is registered and killed when the harness exits, however it exits."""

import atexit
import base64
import http.client
import json
import os
import shutil
import signal
import socket
import subprocess
import threading
import time
import urllib.parse

REPO = os.path.dirname(os.path.dirname(os.path.dirname(os.path.abspath(__file__))))
BROKER_SH = os.path.join(REPO, "deploy", "broker.sh")
SERVICES = ("api", "bridge-relay", "notifier", "classifier")


def log(message):
    print(f"[{time.strftime('%H:%M:%S')}] {message}", flush=True)


def free_port():
    """A TCP port nobody listens on right now (bound to port 0, read back, released)."""
    with socket.socket(socket.AF_INET, socket.SOCK_STREAM) as sock:
        sock.bind(("127.0.0.1", 0))
        return sock.getsockname()[1]


def snapshot_binaries(source, destination, names):
    """Copies the executables `names` and the `mostrador_*.resources` folders from `source` into `destination`: a
    build may relink the build folder while a harness runs."""
    os.makedirs(destination, exist_ok=True)
    for entry in os.listdir(source):
        path = os.path.join(source, entry)
        if entry in names:
            shutil.copy2(path, os.path.join(destination, entry))
        elif entry.startswith("mostrador_") and entry.endswith(".resources") and os.path.isdir(path):
            shutil.copytree(path, os.path.join(destination, entry), dirs_exist_ok=True)


def http_request(method, url, body=None, headers=None, timeout=10.0):
    """(status, headers dict, body bytes); raises OSError/http.client errors on connection problems."""
    parts = urllib.parse.urlsplit(url)
    connection = http.client.HTTPConnection(parts.hostname, parts.port, timeout=timeout)
    try:
        data = None
        all_headers = dict(headers or {})
        if body is not None:
            data = json.dumps(body).encode() if not isinstance(body, bytes) else body
            all_headers.setdefault("Content-Type", "application/json")
        path = parts.path + (f"?{parts.query}" if parts.query else "")
        connection.request(method, path or "/", body=data, headers=all_headers)
        response = connection.getresponse()
        payload = response.read()
        return response.status, {k.lower(): v for k, v in response.getheaders()}, payload
    finally:
        connection.close()


# ---------------------------------------------------------------------- process registry and clean-up


class _Registry:
    """Everything this process started: service processes and brokers. Cleaned on exit and on signals."""

    def __init__(self):
        self.lock = threading.Lock()
        self.processes = set()
        self.brokers = set()
        self.cleaned = False

    def add_process(self, process):
        with self.lock:
            self.processes.add(process)

    def remove_process(self, process):
        with self.lock:
            self.processes.discard(process)

    def cleanup(self):
        with self.lock:
            if self.cleaned:
                return
            self.cleaned = True
            processes = list(self.processes)
            brokers = list(self.brokers)
        for process in processes:
            if process.poll() is None:
                try:
                    os.kill(process.pid, signal.SIGCONT)  # a frozen (SIGSTOP) process ignores nothing but KILL
                    os.kill(process.pid, signal.SIGKILL)
                except ProcessLookupError:
                    pass
        for process in processes:
            try:
                process.wait(timeout=10)
            except subprocess.TimeoutExpired:
                pass
        for broker in brokers:
            broker.stop(quiet=True)


REGISTRY = _Registry()
atexit.register(REGISTRY.cleanup)


def install_signal_handlers():
    def handler(signum, _frame):
        log(f"signal {signum}: stopping everything this harness started")
        REGISTRY.cleanup()
        os._exit(128 + signum)

    for signum in (signal.SIGINT, signal.SIGTERM, signal.SIGHUP):
        signal.signal(signum, handler)


# ---------------------------------------------------------------------- the broker


class Broker:
    """An isolated RabbitMQ in `directory`, through deploy/broker.sh (start/stop/kill/ctl)."""

    def __init__(self, directory):
        self.directory = directory
        self.url = None
        self.port = None
        self.log_path = os.path.join(directory, "broker-sh.log")
        self.management_port = None

    def _run(self, *args, timeout=120, check=True):
        os.makedirs(self.directory, exist_ok=True)
        with open(self.log_path, "a") as err:
            result = subprocess.run(
                [BROKER_SH, *args], stdout=subprocess.PIPE, stderr=err, text=True, timeout=timeout,
                stdin=subprocess.DEVNULL)
        if check and result.returncode != 0:
            raise RuntimeError(f"broker.sh {' '.join(args)} failed (rc {result.returncode}); see {self.log_path}")
        return result

    def start(self):
        with REGISTRY.lock:
            REGISTRY.brokers.add(self)
        self._enable_management()
        url = self._run("start", "--dir", self.directory, "--port", "auto", timeout=240).stdout.strip()
        self.url = url
        self.port = int(urllib.parse.urlsplit(url).port)
        return url

    def _enable_management(self):
        """The management plugin on a free loopback port, for cheap queue depths and for reading what sits in a
        queue (evidence). broker.sh keeps `enabled_plugins` and `advanced.config` when they exist."""
        if self.management_port is not None:
            return
        os.makedirs(self.directory, exist_ok=True)
        self.management_port = free_port()
        with open(os.path.join(self.directory, "enabled_plugins"), "w") as out:
            out.write("[rabbitmq_management].\n")
        with open(os.path.join(self.directory, "advanced.config"), "w") as out:
            out.write(
                "[{rabbit, [{collect_statistics_interval, 1000}]},\n"
                f" {{rabbitmq_management, [{{tcp_config, [{{port, {self.management_port}}}, "
                "{ip, \"127.0.0.1\"}]}]}].\n")

    def management(self, method, path, body=None, timeout=10):
        """The management HTTP API (guest/guest); (status, decoded JSON or None)."""
        auth = "Basic " + base64.b64encode(b"guest:guest").decode()
        status, _, payload = http_request(
            method, f"http://127.0.0.1:{self.management_port}/api{path}", body,
            headers={"Authorization": auth}, timeout=timeout)
        try:
            return status, json.loads(payload) if payload else None
        except ValueError:
            return status, None

    def peek(self, vhost, queue, count=5):
        """Up to `count` messages of `queue`, read and put back (evidence; the broker counts it as a delivery)."""
        try:
            status, messages = self.management(
                "POST", f"/queues/{urllib.parse.quote(vhost, safe='')}/{urllib.parse.quote(queue, safe='')}/get",
                {"count": count, "ackmode": "ack_requeue_true", "encoding": "auto", "truncate": 1500})
        except Exception as error:  # noqa: BLE001
            return [{"error": str(error)}]
        if status != 200 or not isinstance(messages, list):
            return [{"error": f"HTTP {status}"}]
        return [{"routing_key": m.get("routing_key"), "redelivered": m.get("redelivered"),
                 "properties": m.get("properties"), "payload": m.get("payload")} for m in messages]

    def kill(self):
        self._run("kill", "--dir", self.directory, timeout=60, check=False)

    def stop(self, quiet=False):
        try:
            self._run("stop", "--dir", self.directory, timeout=90, check=False)
        except Exception as error:  # noqa: BLE001 - clean-up must go on
            if not quiet:
                log(f"broker stop failed: {error}")

    def ctl(self, *args, timeout=60, check=True):
        """rabbitmqctl with this broker's environment (cookie, epmd port, node name); returns stdout."""
        result = self._run("ctl", "--dir", self.directory, "--", *args, timeout=timeout, check=check)
        return result.stdout

    def amqp_url(self, vhost):
        return f"amqp://guest:guest@127.0.0.1:{self.port}/{urllib.parse.quote(vhost, safe='')}"

    def add_vhost(self, vhost):
        self.ctl("add_vhost", vhost)
        self.ctl("set_permissions", "-p", vhost, "guest", ".*", ".*", ".*")

    def delete_vhost(self, vhost):
        self.ctl("delete_vhost", vhost, check=False)

    def queues(self, vhost):
        """queue name -> messages (ready + unacked), or None when the broker does not answer."""
        try:
            status, queues = self.management(
                "GET", f"/queues/{urllib.parse.quote(vhost, safe='')}?columns=name,messages", timeout=10)
            if status == 200 and isinstance(queues, list):
                return {q["name"]: int(q.get("messages") or 0) for q in queues}
        except Exception:  # noqa: BLE001 - fall back to rabbitmqctl
            pass
        try:
            out = self.ctl("list_queues", "-p", vhost, "-s", "name", "messages", timeout=45)
        except Exception:  # noqa: BLE001 - a broker in trouble answers nothing; the caller retries
            return None
        depths = {}
        for line in out.splitlines():
            fields = line.split()
            if len(fields) >= 2 and fields[-1].isdigit():
                depths[fields[0]] = int(fields[-1])
        return depths


class Cluster:
    """RabbitMQ nodes clustered on this machine (`deploy/broker.sh cluster`), each an ordinary broker dir
    (`node1`…): services get one URL naming every node; broker questions go to the first node that is up."""

    def __init__(self, directory, nodes=3):
        self.directory = directory
        self.nodes = [Broker(os.path.join(directory, f"node{i}")) for i in range(1, nodes + 1)]
        self.down = set()
        self.url = None
        self.log_path = os.path.join(directory, "broker-sh.log")

    def _run(self, *args, timeout=600):
        os.makedirs(self.directory, exist_ok=True)
        with open(self.log_path, "a") as err:
            result = subprocess.run(
                [BROKER_SH, "cluster", *args, "--dir", self.directory, "--nodes", str(len(self.nodes))],
                stdout=subprocess.PIPE, stderr=err, text=True, timeout=timeout, stdin=subprocess.DEVNULL)
        if result.returncode != 0:
            raise RuntimeError(f"broker.sh cluster {' '.join(args)} failed (rc {result.returncode}); "
                               f"see {self.log_path}")
        return result.stdout.strip()

    def start(self):
        with REGISTRY.lock:
            REGISTRY.brokers.add(self)
        for node in self.nodes:
            node._enable_management()
        self.url = self._run("start")
        for node in self.nodes:
            node.url = node._run("url", "--dir", node.directory).stdout.strip()
            node.port = int(urllib.parse.urlsplit(node.url).port)
        return self.url

    def stop(self, quiet=False):
        try:
            self._run("stop", timeout=300)
        except Exception as error:  # noqa: BLE001 - clean-up must go on
            if not quiet:
                log(f"cluster stop failed: {error}")

    def kill(self):
        raise RuntimeError("a whole-broker fault on a cluster: use kill_node")

    def kill_node(self, node):
        node.kill()
        self.down.add(node)

    def start_node(self, node):
        node._run("start", "--dir", node.directory, "--port", "auto", timeout=240)
        self.down.discard(node)

    def up(self):
        return [node for node in self.nodes if node not in self.down]

    def name(self, node):
        return f"node{self.nodes.index(node) + 1}"

    def _first_up(self, call):
        error = None
        for node in self.up():
            try:
                return call(node)
            except Exception as failure:  # noqa: BLE001 - that node may be on its way down: ask the next
                error = failure
        raise error or RuntimeError("no node of the cluster is up")

    def management(self, method, path, body=None, timeout=10):
        return self._first_up(lambda node: node.management(method, path, body, timeout))

    def peek(self, vhost, queue, count=5):
        return self._first_up(lambda node: node.peek(vhost, queue, count))

    def ctl(self, *args, timeout=60, check=True):
        return self._first_up(lambda node: node.ctl(*args, timeout=timeout, check=check))

    def amqp_url(self, vhost):
        hosts = ",".join(f"127.0.0.1:{node.port}" for node in self.nodes)
        return f"amqp://guest:guest@{hosts}/{urllib.parse.quote(vhost, safe='')}"

    add_vhost = Broker.add_vhost
    delete_vhost = Broker.delete_vhost
    queues = Broker.queues

    def connections_per_node(self, vhost):
        """node number -> the vhost's client connections on it (management API; empty when it does not answer)."""
        try:
            path = f"/vhosts/{urllib.parse.quote(vhost, safe='')}/connections"
            status, connections = self.management("GET", path)
        except Exception:  # noqa: BLE001
            return {}
        counts = {}
        if status == 200 and isinstance(connections, list):
            for connection in connections:
                node = str(connection.get("node", ""))
                for index, member in enumerate(self.nodes, start=1):
                    if node.startswith(f"mostrador-{index}@"):
                        counts[index] = counts.get(index, 0) + 1
        return counts


# ---------------------------------------------------------------------- the services


class Service:
    """One service binary: own data folder, own public and operations ports (kept across restarts), log appended
    to `logs/<name>.log` across restarts with a line marking each start."""

    def __init__(self, name, bin_dir, run_dir, environment, instance=None):
        """`instance`: a second process of the same service on the same data folder (a standby relay)."""
        self.binary = os.path.join(bin_dir, f"mostrador-{name}")
        self.data_dir = os.path.join(run_dir, "data", name)
        self.name = name if instance is None else f"{name}-{instance}"
        self.log_path = os.path.join(run_dir, "logs", f"{self.name}.log")
        os.makedirs(self.data_dir, exist_ok=True)
        os.makedirs(os.path.dirname(self.log_path), exist_ok=True)
        self.port = free_port()
        self.ops_port = free_port()
        while self.ops_port == self.port:
            self.ops_port = free_port()
        self.environment = dict(environment)
        self.process = None
        self.starts = 0
        # Set while we mean the process to be down (killed, stopped): an exit then is no crash.
        self.expected_exit = False
        self.crashes = []
        self.lock = threading.Lock()

    @property
    def url(self):
        return f"http://127.0.0.1:{self.port}"

    @property
    def ops_url(self):
        return f"http://127.0.0.1:{self.ops_port}"

    @property
    def pid(self):
        return self.process.pid if self.process else None

    def start(self):
        with self.lock:
            env = dict(os.environ)
            env.update(self.environment)
            env.update({
                "MOSTRADOR_DATA_DIR": self.data_dir,
                "MOSTRADOR_HTTP_PORT": str(self.port),
                "MOSTRADOR_OPS_PORT": str(self.ops_port),
                "MOSTRADOR_HTTP_HOST": "127.0.0.1",
            })
            self.starts += 1
            with open(self.log_path, "a") as out:
                out.write(f"\n===== chaos: start #{self.starts} of mostrador-{self.name} at "
                          f"{time.strftime('%H:%M:%S')} ({time.time():.3f}) =====\n")
                out.flush()
                self.process = subprocess.Popen(
                    [self.binary], env=env, stdout=out, stderr=subprocess.STDOUT, stdin=subprocess.DEVNULL,
                    start_new_session=True)
            REGISTRY.add_process(self.process)
            self.expected_exit = False

    def ready(self):
        try:
            status, _, _ = http_request("GET", f"{self.ops_url}/health/ready", timeout=2)
            return status == 200
        except (OSError, http.client.HTTPException):
            return False

    def wait_ready(self, timeout=60.0):
        deadline = time.monotonic() + timeout
        while time.monotonic() < deadline:
            if self.process and self.process.poll() is not None and not self.expected_exit:
                return False
            if self.ready():
                return True
            time.sleep(0.1)
        return False

    def alive(self):
        return self.process is not None and self.process.poll() is None

    def signal(self, signum):
        if self.process is not None:
            _signal(self.process, signum)

    def kill(self):
        """SIGKILL, waited for."""
        with self.lock:
            self.expected_exit = True
            process = self.process
        if process and process.poll() is None:
            _signal(process, signal.SIGCONT)
            _signal(process, signal.SIGKILL)
            process.wait(timeout=30)
        self._mark(f"SIGKILL at {time.time():.3f}")

    def terminate(self, timeout=30.0):
        """SIGTERM and wait; SIGKILL after `timeout`. Returns (seconds it took, whether it had to be killed,
        exit code)."""
        with self.lock:
            self.expected_exit = True
            process = self.process
        if process is None or process.poll() is not None:
            return 0.0, False, process.returncode if process else None
        started = time.monotonic()
        self._mark(f"SIGTERM at {time.strftime('%H:%M:%S')} ({time.time():.3f})")
        _signal(process, signal.SIGCONT)
        _signal(process, signal.SIGTERM)
        try:
            code = process.wait(timeout=timeout)
            return time.monotonic() - started, False, code
        except subprocess.TimeoutExpired:
            _signal(process, signal.SIGKILL)
            process.wait(timeout=30)
            self._mark(f"did not stop within {timeout:.0f} s of SIGTERM: SIGKILL")
            return time.monotonic() - started, True, process.returncode

    def _mark(self, text):
        with open(self.log_path, "a") as out:
            out.write(f"===== chaos: {text} =====\n")


def _signal(process, signum):
    """Signals a child of ours by its PID, unless it has already been reaped."""
    if process.poll() is None:
        try:
            os.kill(process.pid, signum)
        except ProcessLookupError:
            pass


class Supervisor(threading.Thread):
    """Restarts a service that exits without being asked to (as systemd's Restart=always would), recording the
    exit as a crash: a crash is a finding in itself."""

    def __init__(self, services, on_crash):
        super().__init__(daemon=True)
        self.services = services
        self.on_crash = on_crash
        self.stopping = threading.Event()

    def run(self):
        while not self.stopping.wait(0.25):
            for service in self.services:
                with service.lock:
                    process = service.process
                    crashed = (process is not None and process.poll() is not None and not service.expected_exit)
                    if crashed:
                        service.expected_exit = True
                if crashed:
                    code = process.returncode
                    service.crashes.append((time.time(), code))
                    service._mark(f"exited by itself with status {code}: restarting")
                    self.on_crash(service, code)
                    time.sleep(1.0)
                    if not self.stopping.is_set():
                        service.start()

    def stop(self):
        self.stopping.set()
        self.join(timeout=5)
