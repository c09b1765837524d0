#!/usr/bin/env python3
"""WebSocket fan-out benchmark: N clients in one room; a webhook message must reach all of them.

The N clients are spread over W worker processes (each its own asyncio loop holding N/W sockets), so the load
client is not the bottleneck. Latency is measured from just before the webhook POST (parent) to the arrival of
`mensaje_recibido` at each client (workers); both use time.monotonic(), which on Linux is CLOCK_MONOTONIC and
comparable across processes. Then K idle sockets are opened (also over the W workers) and the api's resident
memory growth per connection is reported. Each phase ends with one machine-readable `RESULT ...` line.
"""
import argparse, asyncio, json, multiprocessing as mp, os, queue as queue_module, resource, threading, time
import urllib.request, uuid

import websockets

MARK = '"contenido":"bench-'   # the key of a benchmark message starts right after the 13 chars '"contenido":"'


def post(url, body, auth=None):
    headers = {"Content-Type": "application/json"}
    if auth:
        headers["Authorization"] = auth
    request = urllib.request.Request(url, data=json.dumps(body).encode(), headers=headers, method="POST")
    with urllib.request.urlopen(request, timeout=30) as response:
        return json.loads(response.read() or b"{}")


def rss_kb(pid):
    for line in open(f"/proc/{pid}/status"):
        if line.startswith("VmRSS:"):
            return int(line.split()[1])
    return 0


# ---------------------------------------------------------------------------------------------------- worker side

def worker(wid, url, count, step, expected, results, stop):
    """One process: open `count` sockets (`step` at a time), report ("ready", wid, opened, first_error), then, if
    `expected` (deliveries this worker should see) is non-zero, record arrivals until `stop` is set and report
    ("arrivals", wid, [(key, t), ...]). Idle workers (expected == 0) just hold their sockets until `stop`."""
    hard = resource.getrlimit(resource.RLIMIT_NOFILE)[1]
    resource.setrlimit(resource.RLIMIT_NOFILE, (hard, hard))
    asyncio.run(worker_loop(wid, url, count, step, expected, results, stop))


async def worker_loop(wid, url, count, step, expected, results, stop):
    arrivals = []   # (key, monotonic arrival time): one flat list per process, appended to by every reader

    async def open_one():
        ws = await websockets.connect(url, max_size=2**24, open_timeout=120, ping_interval=None, close_timeout=2)
        first = await ws.recv()
        if '"connection_established"' not in first:
            await ws.close()
            raise RuntimeError(f"unexpected first frame: {first[:200]}")
        return ws

    async def reader(ws):
        # The hot path: one monotonic() call, two C-level substring scans, one list append. Nothing else.
        append, monotonic = arrivals.append, time.monotonic
        try:
            async for text in ws:
                now = monotonic()
                if '"mensaje_recibido"' in text:
                    start = text.find(MARK)
                    if start >= 0:
                        append((text[start + 13:text.find('"', start + 13)], now))
                        if len(arrivals) == expected:
                            results.put(("done", wid))   # every socket of this worker got every message
        except websockets.ConnectionClosed:
            pass

    sockets, error = [], None
    for offset in range(0, count, step):
        opened = await asyncio.gather(*(open_one() for _ in range(min(step, count - offset))), return_exceptions=True)
        for item in opened:
            if isinstance(item, BaseException):
                error = error or repr(item)
            else:
                sockets.append(item)
    readers = [asyncio.create_task(reader(ws)) for ws in sockets] if expected else []
    results.put(("ready", wid, len(sockets), error))

    await asyncio.get_running_loop().run_in_executor(None, stop.wait)   # a helper thread blocks; the loop does not
    for task in readers:
        task.cancel()
    await asyncio.gather(*readers, return_exceptions=True)
    if expected:
        results.put(("arrivals", wid, arrivals))
    try:   # close handshakes, so the api sees orderly goodbyes; the process exit closes whatever is left
        await asyncio.wait_for(asyncio.gather(*(ws.close() for ws in sockets), return_exceptions=True), timeout=30)
    except asyncio.TimeoutError:
        pass


# ---------------------------------------------------------------------------------------------------- parent side

class Pool:
    """W worker processes sharing one result queue and one stop event; the `total` sockets are split evenly."""

    def __init__(self, ctx, workers, total, url, step, messages):
        self.results, self.stop = ctx.Queue(), ctx.Event()
        workers = max(1, min(workers, total))
        shares = [total // workers + (i < total % workers) for i in range(workers)]
        self.procs = [ctx.Process(target=worker, daemon=True,
                                  args=(i, url, share, step or share, share * messages, self.results, self.stop))
                      for i, share in enumerate(shares)]
        for proc in self.procs:
            proc.start()

    def collect(self, kind, timeout, until=None, got=None):
        """Gather one `kind` message per worker into `got` (a dict by worker id, may be passed in to resume);
        return early at `timeout` seconds or when `until()` is true."""
        got, deadline = {} if got is None else got, time.monotonic() + timeout
        while len(got) < len(self.procs) and time.monotonic() < deadline and not (until and until()):
            try:
                item = self.results.get(timeout=0.1)
            except queue_module.Empty:
                if any(p.exitcode not in (None, 0) for p in self.procs):
                    raise SystemExit(f"a worker process died (exit codes {[p.exitcode for p in self.procs]})")
                continue
            if item[0] == kind:
                got[item[1]] = item[2:]
        return got

    def close(self, collect_arrivals=False):
        self.stop.set()
        arrivals = self.collect("arrivals", 60) if collect_arrivals else {}
        for proc in self.procs:
            proc.join(timeout=40)
            if proc.is_alive():
                proc.terminate()
        return arrivals


def pct(values, p):
    return values[min(len(values) - 1, int(len(values) * p))] if values else float("nan")


def fanout(args, ctx, url, phone):
    print(f"fan-out: {args.clients} WebSocket clients in one room, {args.messages} webhook messages "
          f"({min(args.workers, args.clients)} client processes)")
    started = time.monotonic()
    pool = Pool(ctx, args.workers, args.clients, url, 0, args.messages)
    ready = pool.collect("ready", 150)
    connected = sum(opened for opened, _ in ready.values())
    if connected < args.clients:
        errors = {error for _, error in ready.values() if error}
        pool.close()
        raise SystemExit(f"only {connected} of {args.clients} connected {sorted(errors)[:3]}")
    print(f"  all connected in {time.monotonic() - started:.1f} s")
    time.sleep(0.5)

    sent = {}   # key -> monotonic send time, written by the poster thread

    def poster():
        for index in range(args.messages):
            key = f"bench-{index}-{uuid.uuid4().hex[:8]}"
            sent[key] = time.monotonic()
            post(f"{args.api}/webhook", {"remitente": phone, "contenido": key}, f"Bearer {args.webhook_token}")
            time.sleep(0.3)

    thread = threading.Thread(target=poster, daemon=True)
    thread.start()
    # Wait for every worker's "done" while the poster runs, then at most 60 s more after the last POST.
    done = pool.collect("done", 3600, until=lambda: not thread.is_alive())
    thread.join()
    pool.collect("done", 60, got=done)
    by_key = {}
    for (items,) in pool.close(collect_arrivals=True).values():
        for key, arrival in items:
            by_key.setdefault(key, []).append(arrival)

    latencies = sorted((arrival - sent[key]) * 1000 for key in sent for arrival in by_key.get(key, []))
    # "Last client": per message, the time until the latest client got it (the N-th, if all of them did).
    last = sorted((max(by_key[key]) - sent[key]) * 1000 for key in sent if key in by_key)
    complete = sum(len(by_key.get(key, [])) >= args.clients for key in sent)
    expected = args.clients * args.messages
    high = max(latencies, default=float("nan"))
    print(f"  deliveries: {len(latencies)} of {expected}   p50 {pct(latencies, 0.5):.1f} ms   "
          f"p90 {pct(latencies, 0.9):.1f} ms   p99 {pct(latencies, 0.99):.1f} ms   max {high:.1f} ms")
    print(f"  last client per message: p50 {pct(last, 0.5):.1f} ms   max {max(last, default=float('nan')):.1f} ms   "
          f"({complete} of {len(sent)} messages reached all {args.clients} clients)")
    # With fewer than 100 messages a 99th percentile of per-message figures is just their maximum.
    last_p99 = max(last, default=float("nan")) if len(last) < 100 else pct(last, 0.99)
    # last_* come first: a greedy `sed 's/.*p99_ms=.../'` (as in deploy/bench.sh) then still finds the plain p99_ms.
    print(f"RESULT fanout clients={args.clients} deliveries={len(latencies)} expected={expected} "
          f"last_p50_ms={pct(last, 0.5):.1f} last_p99_ms={last_p99:.1f} "
          f"p50_ms={pct(latencies, 0.5):.1f} p99_ms={pct(latencies, 0.99):.1f} max_ms={high:.1f}")


def idle(args, ctx, url, pid, label="api"):
    """Opens args.idle sockets at url and reports the RSS growth of process pid per socket."""
    before = rss_kb(pid)
    print(f"idle: opening {args.idle} WebSocket connections to the {label} (RSS before: {before // 1024} MB)")
    pool = Pool(ctx, args.workers, args.idle, url, 500, 0)
    ready = pool.collect("ready", 900)
    opened = sum(count for count, _ in ready.values())
    errors = sorted({error for _, error in ready.values() if error})
    time.sleep(3)
    after = rss_kb(pid)
    per_socket = (after - before) / args.idle
    print(f"  {opened} open; {label} RSS after: {after // 1024} MB; {per_socket:.1f} KB per idle connection"
          + (f"   (failures, e.g. {errors[0]})" if errors else ""))
    kind = "idle" if label == "api" else "idle_ceiling"
    print(f"RESULT {kind} sockets={opened} rss_before_kb={before} rss_after_kb={after} kb_per_socket={per_socket:.1f}")
    pool.close()


def main():
    parser = argparse.ArgumentParser()
    parser.add_argument("--api", default="http://127.0.0.1:18080")
    parser.add_argument("--webhook-token", default="bench-webhook")
    parser.add_argument("--username", default="admin")
    parser.add_argument("--password", default="bench-password")
    parser.add_argument("--clients", type=int, default=1000)
    parser.add_argument("--messages", type=int, default=20)
    parser.add_argument("--idle", type=int, default=10000)
    parser.add_argument("--api-pid", type=int)
    parser.add_argument("--ceiling-url", help="ws:// URL of a bare WebSocket server (mostrador-bench websocket): "
                        "the idle phase is repeated against it, as the memory ceiling")
    parser.add_argument("--ceiling-pid", type=int)
    parser.add_argument("--workers", type=int, default=min(8, (os.cpu_count() or 1) * 2),
                        help="client processes the sockets are split over (default: min(8, 2 x CPUs))")
    args = parser.parse_args()

    phone = f"52155{uuid.uuid4().int % 10**8:08d}"
    ticket = post(f"{args.api}/webhook", {"remitente": phone, "contenido": "bench", "nombre": "Bench"}, f"Bearer {args.webhook_token}")["ticket_id"]
    token = post(f"{args.api}/api/auth/login/", {"username": args.username, "password": args.password})["token"]
    url = args.api.replace("http://", "ws://") + f"/ws/soporte/ticket/{ticket}/?token={token}"

    ctx = mp.get_context("spawn")   # fresh interpreters: no inherited threads, locks or sockets
    fanout(args, ctx, url, phone)
    if args.idle and args.api_pid:
        idle(args, ctx, url, args.api_pid)
    if args.idle and args.ceiling_url and args.ceiling_pid:
        idle(args, ctx, args.ceiling_url, args.ceiling_pid, label="bare Hummingbird WebSocket server")


if __name__ == "__main__":
    main()
