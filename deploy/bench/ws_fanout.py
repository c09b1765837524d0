#!/usr/bin/env python3
"""WebSocket fan-out benchmark: N clients in one room; a webhook message must reach all of them.

Latency is measured from just before the webhook POST to the arrival of `mensaje_recibido` at each client
(so it includes the client's own handling of 1,000 sockets on one Python thread: an upper bound). Then K idle
sockets are opened and the api's resident memory growth per connection is reported.
"""
import argparse, asyncio, json, os, statistics, time, urllib.request, uuid

import websockets


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


async def main():
    parser = argparse.ArgumentParser()
    parser.add_argument("--api", default="http://127.0.0.1:18080")
    parser.add_argument("--webhook-token", default="bench-webhook")
    parser.add_argument("--username", default="admin")
    parser.add_argument("--password", default="bench-password")
    parser.add_argument("--clients", type=int, default=1000)
    parser.add_argument("--messages", type=int, default=20)
    parser.add_argument("--idle", type=int, default=10000)
    parser.add_argument("--api-pid", type=int)
    args = parser.parse_args()

    phone = f"52155{uuid.uuid4().int % 10**8:08d}"
    ticket = post(f"{args.api}/webhook", {"remitente": phone, "contenido": "bench", "nombre": "Bench"}, f"Bearer {args.webhook_token}")["ticket_id"]
    token = post(f"{args.api}/api/auth/login/", {"username": args.username, "password": args.password})["token"]
    url = args.api.replace("http://", "ws://") + f"/ws/soporte/ticket/{ticket}/?token={token}"

    arrivals = {}
    ready = []
    stop = asyncio.Event()

    async def client(collect):
        async with websockets.connect(url, max_size=2**24, open_timeout=120, ping_interval=None) as ws:
            first = await ws.recv()
            if '"connection_established"' in first:
                ready.append(1)
            while not stop.is_set():
                try:
                    text = await asyncio.wait_for(ws.recv(), timeout=1)
                except asyncio.TimeoutError:
                    continue
                if collect and '"mensaje_recibido"' in text:
                    now = time.perf_counter()
                    start = text.find('"contenido":"bench-')
                    if start >= 0:
                        key = text[start + 13:text.find('"', start + 13)]
                        arrivals.setdefault(key, []).append(now)

    print(f"fan-out: {args.clients} WebSocket clients in one room, {args.messages} webhook messages")
    started = time.perf_counter()
    tasks = [asyncio.create_task(client(True)) for _ in range(args.clients)]
    while len(ready) < args.clients:
        await asyncio.sleep(0.05)
        if time.perf_counter() - started > 120:
            raise SystemExit(f"only {len(ready)} of {args.clients} connected")
    print(f"  all connected in {time.perf_counter() - started:.1f} s")
    await asyncio.sleep(0.5)

    sent = {}
    for index in range(args.messages):
        key = f"bench-{index}-{uuid.uuid4().hex[:8]}"
        sent[key] = time.perf_counter()
        await asyncio.to_thread(post, f"{args.api}/webhook", {"remitente": phone, "contenido": key}, f"Bearer {args.webhook_token}")
        await asyncio.sleep(0.3)
    deadline = time.perf_counter() + 60
    while any(len(arrivals.get(key, [])) < args.clients for key in sent) and time.perf_counter() < deadline:
        await asyncio.sleep(0.05)
    latencies = sorted((arrival - sent[key]) * 1000 for key in sent for arrival in arrivals.get(key, []))
    expected = args.clients * args.messages
    def pct(p):
        return latencies[min(len(latencies) - 1, int(len(latencies) * p))]
    print(f"  deliveries: {len(latencies)} of {expected}   p50 {pct(0.5):.1f} ms   p90 {pct(0.9):.1f} ms   "
          f"p99 {pct(0.99):.1f} ms   max {latencies[-1]:.1f} ms")
    stop.set()
    await asyncio.gather(*tasks, return_exceptions=True)

    if args.idle and args.api_pid:
        before = rss_kb(args.api_pid)
        print(f"idle: opening {args.idle} WebSocket connections (api RSS before: {before // 1024} MB)")
        ready.clear()
        stop.clear()
        idle_tasks = []
        for start in range(0, args.idle, 500):
            idle_tasks += [asyncio.create_task(client(False)) for _ in range(min(500, args.idle - start))]
            while len(ready) < min(start + 500, args.idle):
                await asyncio.sleep(0.05)
        await asyncio.sleep(3)
        after = rss_kb(args.api_pid)
        print(f"  {len(ready)} open; api RSS after: {after // 1024} MB; {(after - before) / args.idle:.1f} KB per idle connection")
        stop.set()
        await asyncio.gather(*idle_tasks, return_exceptions=True)


if __name__ == "__main__":
    asyncio.run(main())
