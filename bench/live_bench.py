"""Live stream: publish → SSE latency and fan-out, publish → /realtime and /overview, and
the API's memory with clients that never read.

    PYTHONPATH=src:. .venv/bin/python bench/live_bench.py [--rate 5000] [--subscribers 50]
        [--tenants 3] [--seconds 60] [--rss-seconds 600] [--rss-rate 1000] [--out FILE]

Runs `chanalytics run` (embedded chDB, bundled nats-server) in a process of its own and
drives it from three more, so each one's CPU shows apart (utime+stime from /proc):

- the publisher (`--role pub`): `message_sent` events to `pipeline.message.sent` with
  `js.publish_async`, at most `--in-flight` acks outstanding, paced to `--rate`/s. Event
  `n` goes to tenant `n % --tenants` and its id is `lb<n>.<epoch µs just before publish>`,
  so a subscriber computes the latency from the id alone (no clock but the machine's);
- the subscribers (`--role sub`): `--subscribers` raw-socket SSE clients spread round-robin
  over the tenants (a tenant may have at most 20 open streams, so 50 cannot share one),
  de-chunking HTTP/1.1 and pulling ids out of each chunk with one regex. Latency = the
  time the chunk holding the event was read minus the publish stamp. Each client counts
  every event id it gets (exactly once is checked against what the publisher sent) and
  the `dropped` notices;
- the prober (`--role probe`): one event at a time for a tenant of its own, then polls
  `/realtime` (`lastHour.sent`) and `/overview` (explicit startDate/endDate around the run,
  `summary.totalMessagesSent`) every `--poll-ms` until each counts it; first while the
  load runs, then `--quiet-probes` more once it is over.

With `--split` the service is `serve` (measured) beside `ingest`, `chanalytics
clickhouse-server` and nats-server, each its own process.

Phase 2 (`--rss-seconds`, 0 skips it) starts a fresh `run`, opens 10 clients on one tenant
that read their headers and never read again (SO_RCVBUF 4096, as tests' SlowClient) and
one client that reads everything, publishes `--rss-rate`/s, and samples the service's
VmRSS/RssAnon every 10 s. The results are appended to `--out` (bench/results/live.md).
"""

from __future__ import annotations

import argparse
import asyncio
import json
import os
import re
import shutil
import socket
import subprocess
import sys
import tempfile
import time
import urllib.request
from collections import deque
from datetime import UTC, datetime, timedelta
from pathlib import Path
from typing import Any

from bench.procs import memory_mb, stop

RESULTS = Path(__file__).parent / "results" / "live.md"
PROBE_TENANT = "tenant_probe"
PROBE_TOKEN = "probe-token"
MAX_MS = 120_000  # latency histogram: 1 ms buckets up to here, the last one holds the rest
ID_RE = re.compile(rb'"id":"lb(\d+)\.(\d+)"')
DROPPED_RE = re.compile(rb'event: dropped\ndata: \{"count":(\d+)\}')
TICK = os.sysconf("SC_CLK_TCK")


def tenant(k: int) -> str:
    return f"tenant_lb{k}"


def token(k: int) -> str:
    return f"lb-token-{k}"


def free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return int(s.getsockname()[1])


def cpu_seconds(pid: int) -> float:
    """utime + stime of a live process."""
    fields = Path(f"/proc/{pid}/stat").read_text().rsplit(")", 1)[1].split()
    return (int(fields[11]) + int(fields[12])) / TICK


def own_cpu() -> float:
    t = os.times()
    return t.user + t.system


def children(pid: int) -> list[int]:
    out: list[int] = []
    for task in Path(f"/proc/{pid}/task").iterdir():
        out += [int(p) for p in (task / "children").read_text().split()]
    return out


def percentile(hist: list[int], q: float) -> float:
    """The q-th percentile (ms) of a 1 ms histogram: the bucket's upper edge."""
    total = sum(hist)
    if not total:
        return float("nan")
    rank, seen = q / 100 * total, 0
    for ms, count in enumerate(hist):
        seen += count
        if seen >= rank:
            return float(ms + 1)
    return float(len(hist))


def quantile(values: list[float], q: float) -> float:
    if not values:
        return float("nan")
    ordered = sorted(values)
    return ordered[min(len(ordered) - 1, max(0, round(q / 100 * len(ordered) + 0.5) - 1))]


# --- the publisher -------------------------------------------------------------------

async def publish(cfg: dict[str, Any]) -> dict[str, Any]:
    import nats

    nc = await nats.connect(cfg["nats"])
    js = nc.jetstream()
    rate, total, tenants = cfg["rate"], cfg["total"], cfg["tenants"]
    names = [tenant(k).encode() for k in range(tenants)]
    pending: deque[asyncio.Future[Any]] = deque()
    behind_max, n, cpu0 = 0.0, 0, own_cpu()
    per_second: list[int] = []
    start = time.monotonic()
    while n < total:
        elapsed = time.monotonic() - start
        due = min(total, int(elapsed * rate) + 1)
        behind_max = max(behind_max, (due - n) / rate)
        while n < due:
            now = time.time()
            body = (b'{"id":"lb%d.%d","tenantId":"%s","timestamp":%d,"data":{"messageId":'
                    b'"m%d","channel":"email","contactId":"c%d"}}'
                    % (n, int(now * 1e6), names[n % tenants], int(now * 1000), n, n % 5000))
            pending.append(await js.publish_async("pipeline.message.sent", body))
            n += 1
            if len(pending) >= cfg["in_flight"]:
                await pending.popleft()
        while pending and pending[0].done():
            pending.popleft().result()
        second = int(time.monotonic() - start)
        while len(per_second) <= second:
            per_second.append(0)
        per_second[second] = n
        await asyncio.sleep(0.005)
    await asyncio.gather(*pending)
    elapsed = time.monotonic() - start
    await nc.close()
    return {"published": n, "seconds": elapsed, "rate": n / elapsed, "cpu": own_cpu() - cpu0,
            "behind_max_s": behind_max, "cumulative": per_second}


# --- the subscribers -----------------------------------------------------------------

class Stats:
    def __init__(self, size: int) -> None:
        self.hist = [0] * (MAX_MS + 1)
        self.size = size
        self.start_us = 0
        self.slot_max: dict[int, float] = {}  # publish second → worst latency (ms)


async def open_stream(port: int, bearer: str, rcvbuf: int | None = None
                      ) -> tuple[asyncio.StreamReader, asyncio.StreamWriter, bool]:
    sock = socket.socket()
    if rcvbuf:
        sock.setsockopt(socket.SOL_SOCKET, socket.SO_RCVBUF, rcvbuf)
    sock.setblocking(False)
    await asyncio.get_running_loop().sock_connect(sock, ("127.0.0.1", port))
    reader, writer = await asyncio.open_connection(sock=sock, limit=rcvbuf or 2**22)
    writer.write(f"GET /api/v1/analytics/live HTTP/1.1\r\nHost: 127.0.0.1\r\n"
                 f"Authorization: Bearer {bearer}\r\n\r\n".encode())
    await writer.drain()
    status = await reader.readline()
    if b" 200 " not in status:
        raise RuntimeError(f"/live answered {status!r}")
    chunked = False
    while (line := await reader.readline()) not in (b"\r\n", b""):
        chunked |= line.lower().startswith(b"transfer-encoding: chunked")
    return reader, writer, chunked


class Subscriber:
    def __init__(self, index: int, tenant_index: int, stats: Stats) -> None:
        self.index, self.tenant_index, self.stats = index, tenant_index, stats
        self.counts = bytearray(stats.size)
        self.received = self.dropped = self.keepalives = 0
        self.ready = asyncio.Event()
        self.error: str | None = None

    async def run(self, port: int) -> None:
        try:
            reader, _, chunked = await open_stream(port, token(self.tenant_index))
            await self._read(reader, chunked)
        except (OSError, RuntimeError, asyncio.IncompleteReadError, ValueError) as exc:
            self.error = repr(exc)
            self.ready.set()

    async def _read(self, reader: asyncio.StreamReader, chunked: bool) -> None:
        buffer = b""
        counts, hist, stats = self.counts, self.stats.hist, self.stats
        while True:
            if chunked:
                size = int((await reader.readline()).strip() or b"0", 16)
                if size == 0:
                    return
                data = (await reader.readexactly(size + 2))[:-2]
            else:
                data = await reader.read(2**20)
                if not data:
                    return
            now_us = time.time() * 1e6
            buffer += data
            cut = buffer.rfind(b"\n\n")
            if cut < 0:
                continue
            block, buffer = buffer[:cut + 2], buffer[cut + 2:]
            found = ID_RE.findall(block)
            for n, stamp in found:
                i = int(n)
                if i < len(counts) and counts[i] < 255:
                    counts[i] += 1
                us = now_us - int(stamp)
                ms = int(us / 1000)
                hist[ms if ms < MAX_MS else MAX_MS] += 1
                if not stats.start_us:
                    stats.start_us = int(stamp)  # about when publishing began
                slot = int((int(stamp) - stats.start_us) / 1e6)
                if us / 1000 > stats.slot_max.get(slot, 0.0):
                    stats.slot_max[slot] = us / 1000
            self.received += len(found)
            self.dropped += sum(int(c) for c in DROPPED_RE.findall(block))
            self.keepalives += block.count(b": keep-alive")
            if not self.ready.is_set() and b"event: snapshot" in block:
                self.ready.set()

    def expected(self, total: int, tenants: int) -> int:
        return (total - self.tenant_index + tenants - 1) // tenants

    def check(self, total: int, tenants: int) -> dict[str, int]:
        mine = self.counts[self.tenant_index:total:tenants]
        missing = mine.count(0)
        duplicates = sum(c - 1 for c in mine if c > 1)
        return {"index": self.index, "tenant": self.tenant_index, "received": self.received,
                "expected": len(mine), "missing": missing, "duplicates": duplicates,
                "dropped": self.dropped, "keepalives": self.keepalives}


async def subscribe(cfg: dict[str, Any]) -> dict[str, Any]:
    work = Path(cfg["work"])
    stats = Stats(cfg["size"])
    subs = [Subscriber(i, i % cfg["tenants"], stats)
            for i in range(cfg["first"], cfg["subscribers"], cfg["step"])]
    tasks = [asyncio.create_task(s.run(cfg["port"])) for s in subs]
    slow: list[tuple[asyncio.StreamReader, asyncio.StreamWriter]] = []
    slow_errors: list[str] = []
    for _ in range(cfg["slow"]):  # headers read, then never another recv
        try:
            reader, writer, _ = await open_stream(cfg["port"], token(0), rcvbuf=4096)
            slow.append((reader, writer))
        except (OSError, RuntimeError) as exc:
            slow_errors.append(repr(exc))
    await asyncio.wait_for(asyncio.gather(*(s.ready.wait() for s in subs)), 120)
    (work / f"{cfg['name']}.ready").write_text("")
    cpu0 = own_cpu()

    async def progress() -> None:  # for the orchestrator's timeline
        path = work / f"{cfg['name']}.progress"
        while True:
            path.write_text(json.dumps({"received": sum(s.received for s in subs),
                                        "dropped": sum(s.dropped for s in subs)}))
            await asyncio.sleep(1)

    tasks.append(asyncio.create_task(progress()))
    done = work / "done.json"
    while not done.exists():  # noqa: ASYNC110 - another process writes it
        await asyncio.sleep(0.2)
    final = json.loads(done.read_text())
    total, tenants = final["total"], cfg["tenants"]
    deadline = time.monotonic() + cfg["drain"]
    while time.monotonic() < deadline and any(  # noqa: ASYNC110 - polled
            s.received + s.dropped < s.expected(total, tenants) for s in subs if not s.error):
        await asyncio.sleep(0.2)
    cpu = own_cpu() - cpu0
    drained = all(s.received + s.dropped >= s.expected(total, tenants)
                  for s in subs if not s.error)
    slow_alive = sum(1 for _, w in slow if not w.is_closing())
    for task in tasks:
        task.cancel()
    for _, writer in slow:
        writer.close()
    return {"subscribers": [s.check(total, tenants) | {"error": s.error} for s in subs],
            "drained": drained, "hist": stats.hist, "slot_max": sorted(stats.slot_max.items()),
            "cpu": cpu,
            "slow_open": len(slow), "slow_alive": slow_alive, "slow_errors": slow_errors}


# --- the prober ----------------------------------------------------------------------

async def probe(cfg: dict[str, Any]) -> dict[str, Any]:
    import httpx
    import nats

    nc = await nats.connect(cfg["nats"])
    js = nc.jetstream()
    base = f"http://127.0.0.1:{cfg['port']}/api/v1/analytics"
    headers = {"Authorization": f"Bearer {PROBE_TOKEN}"}
    window = {"startDate": cfg["start_date"], "endDate": cfg["end_date"]}
    done = Path(cfg["work"]) / "done.json"
    quiet = Path(cfg["work"]) / "quiet"
    results: list[dict[str, Any]] = []
    cpu0 = own_cpu()

    async with httpx.AsyncClient(timeout=30, headers=headers) as client:
        async def realtime() -> int:
            r = await client.get(f"{base}/realtime")
            r.raise_for_status()
            return int(r.json()["data"]["lastHour"]["sent"])

        async def overview() -> int:
            r = await client.get(f"{base}/overview", params=window)
            r.raise_for_status()
            return int(r.json()["data"]["summary"]["totalMessagesSent"])

        async def seen(read: Any, before: int, t0: float) -> float | None:
            while time.time() - t0 < cfg["probe_timeout"]:
                if await read() > before:
                    return time.time() - t0
                await asyncio.sleep(cfg["poll_ms"] / 1000)
            return None

        n, quiet_after = 0, None
        while True:
            phase = "quiet" if quiet.exists() else "drain" if done.exists() else "load"
            if phase == "quiet":
                quiet_after = n if quiet_after is None else quiet_after
                if n - quiet_after >= cfg["quiet_probes"]:
                    break
            started = time.monotonic()
            before_rt, before_ov = await asyncio.gather(realtime(), overview())
            t0 = time.time()
            body = json.dumps({"id": f"probe-{n}-{int(t0 * 1e6)}", "tenantId": PROBE_TENANT,
                               "timestamp": int(t0 * 1000),
                               "data": {"messageId": f"pm{n}", "channel": "email",
                                        "contactId": f"pc{n}"}}).encode()
            await js.publish("pipeline.message.sent", body)
            ack = time.time() - t0
            rt, ov = await asyncio.gather(seen(realtime, before_rt, t0),
                                          seen(overview, before_ov, t0))
            results.append({"phase": phase, "ack": ack, "realtime": rt, "overview": ov})
            n += 1
            await asyncio.sleep(max(0.0, cfg["probe_interval"] - (time.monotonic() - started)))
    await nc.close()
    return {"probes": results, "cpu": own_cpu() - cpu0}


def role_main(role: str, config: str) -> None:
    cfg = json.loads(config)
    try:
        import uvloop
        uvloop.install()
    except ImportError:
        pass
    run = {"pub": publish, "sub": subscribe, "probe": probe}[role]
    result = asyncio.run(run(cfg))
    Path(cfg["out"]).write_text(json.dumps(result))


# --- the orchestrator ----------------------------------------------------------------

class Bench:
    def __init__(self, args: argparse.Namespace, work: Path) -> None:
        self.args, self.work = args, work
        self.procs: list[subprocess.Popen[bytes]] = []
        self.metrics_port = 0  # where the ingest counter is read
        self.service_procs: list[subprocess.Popen[bytes]] = []  # the service's, serve last

    def spawn(self, name: str, cmd: list[str], env: dict[str, str] | None = None
              ) -> subprocess.Popen[bytes]:
        with (self.work / f"{name}.log").open("ab") as log:
            proc = subprocess.Popen(cmd, env=env or os.environ.copy(), stdout=log,
                                    stderr=subprocess.STDOUT)
        self.procs.append(proc)
        return proc

    def role(self, name: str, role: str, **cfg: Any) -> tuple[subprocess.Popen[bytes], Path]:
        out = self.work / f"{name}.json"
        cfg |= {"out": str(out), "work": str(self.work), "name": name}
        return self.spawn(name, [sys.executable, __file__, "--role", role,
                                 "--config", json.dumps(cfg)]), out

    def service(self, name: str, tenants: int) -> tuple[subprocess.Popen[bytes], int, str]:
        """The service under test, its API port and NATS URL: `chanalytics run`, or with
        `--split` a ClickHouse server, a nats-server, `ingest` and `serve` apart (the
        returned process is then `serve`, the API alone)."""
        port, nats_port = free_port(), free_port()
        keys = ",".join([f"{token(k)}={tenant(k)}" for k in range(tenants)]
                        + [f"{PROBE_TOKEN}={PROBE_TENANT}"])
        env = {**os.environ, "CHANALYTICS_DATA_DIR": str(self.work / name),
               "CHANALYTICS_API_KEYS": keys, "CHANALYTICS_LOG_LEVEL": "warning"}
        nats_url = f"nats://127.0.0.1:{nats_port}"
        if not self.args.split:
            proc = self.spawn(name, [sys.executable, "-m", "chanalytics", "run", "--port",
                                     str(port), "--nats-port", str(nats_port)], env)
            self.metrics_port = port
            self.service_procs = [proc]
            wait_ready(f"http://127.0.0.1:{port}/health/ready", proc, name, self.work)
            return proc, port, nats_url
        ch_port, self.metrics_port = free_port(), free_port()
        from chanalytics.nats.server import find_binary

        nats = self.spawn(f"{name}-nats", [find_binary(), "-js",
                                    "-sd", str(self.work / name / "nats"), "-a", "127.0.0.1",
                                    "-p", str(nats_port)])
        ch = self.spawn(f"{name}-clickhouse", [
            sys.executable, "-m", "chanalytics", "clickhouse-server", "--data-dir",
            str(self.work / name / "ch"), "--http-port", str(ch_port), "--tcp-port",
            str(free_port())], env)
        wait_ready(f"http://127.0.0.1:{ch_port}/ping", ch, f"{name}-clickhouse", self.work)
        env |= {"CHANALYTICS_CLICKHOUSE_URL": f"http://127.0.0.1:{ch_port}",
                "CHANALYTICS_NATS_URL": nats_url}
        migrate = subprocess.run([sys.executable, "-m", "chanalytics", "migrate"], env=env,
                                 capture_output=True, text=True, check=False)
        if migrate.returncode:
            raise SystemExit(f"migrate failed: {migrate.stderr[-2000:]}")
        ingest = self.spawn(f"{name}-ingest", [sys.executable, "-m", "chanalytics", "ingest"],
                            env | {"CHANALYTICS_INGEST_HTTP_PORT": str(self.metrics_port)})
        wait_ready(f"http://127.0.0.1:{self.metrics_port}/health/ready", ingest,
                   f"{name}-ingest", self.work)
        proc = self.spawn(name, [sys.executable, "-m", "chanalytics", "serve", "--port",
                                 str(port)], env)
        self.service_procs = [nats, ch, ingest, proc]
        wait_ready(f"http://127.0.0.1:{port}/health/ready", proc, name, self.work)
        return proc, port, nats_url

    def stop_service(self) -> None:
        for proc in reversed(self.service_procs):
            stop(proc)

    def wait_file(self, path: Path, proc: subprocess.Popen[bytes], seconds: float) -> None:
        deadline = time.monotonic() + seconds
        while not path.exists():
            if proc.poll() is not None or time.monotonic() > deadline:
                raise SystemExit(f"{path.name} missing; see the logs in {self.work}")
            time.sleep(0.2)

    def finish(self, proc: subprocess.Popen[bytes], out: Path, seconds: float) -> Any:
        try:
            proc.wait(seconds)
        except subprocess.TimeoutExpired:
            stop(proc)
        if not out.exists():
            raise SystemExit(f"{out.name} missing; see the logs in {self.work}")
        return json.loads(out.read_text())

    def close(self) -> None:
        for proc in reversed(self.procs):
            stop(proc)

    def fanout(self) -> dict[str, Any]:
        """Phase 1: latency and exactly-once to every subscriber, and the probes."""
        a = self.args
        total = int(a.rate * a.seconds)
        svc, port, nats_url = self.service("fanout-run", a.tenants)
        nats_pid = children(svc.pid)
        now = datetime.now(UTC)
        subs = [self.role(f"sub{i}", "sub", port=port, tenants=a.tenants, size=total,
                          subscribers=a.subscribers, first=i, step=a.sub_procs, slow=0,
                          drain=a.drain)
                for i in range(a.sub_procs)]  # clients i, i+P, … of P processes
        for i, (proc, _) in enumerate(subs):
            self.wait_file(self.work / f"sub{i}.ready", proc, 150)
        prober, probe_out = self.role(
            "probe", "probe", port=port, nats=nats_url,
            start_date=(now - timedelta(hours=1)).isoformat(),
            end_date=(now + timedelta(days=1)).isoformat(), poll_ms=a.poll_ms,
            probe_interval=a.probe_interval, probe_timeout=30, quiet_probes=a.quiet_probes)
        cpu0 = {"service": cpu_seconds(svc.pid),
                "nats-server": sum(cpu_seconds(p) for p in nats_pid)}
        load0 = os.getloadavg()
        t0 = time.monotonic()
        start_us = int(time.time() * 1e6)
        pub, pub_out = self.role("pub", "pub", nats=nats_url, rate=a.rate, total=total,
                                 tenants=a.tenants, in_flight=a.in_flight)
        rss: list[tuple[float, float, float]] = []
        timeline: list[tuple[float, int, int]] = []  # t, stored, SSE events received

        def sample() -> None:
            rss.append((time.monotonic() - t0, *memory_mb(svc.pid)))
            got = 0
            for i in range(a.sub_procs):
                path = self.work / f"sub{i}.progress"
                try:
                    got += json.loads(path.read_text())["received"] if path.exists() else 0
                except ValueError:  # caught mid-write
                    got += timeline[-1][2] // a.sub_procs if timeline else 0
            timeline.append((time.monotonic() - t0, stored(self.metrics_port), got))

        while pub.poll() is None:
            sample()
            time.sleep(max(0.0, t0 + len(timeline) - time.monotonic()))
        published = self.finish(pub, pub_out, 10)
        (self.work / "done.json").write_text(json.dumps(
            {"total": published["published"], "start_us": start_us}))
        while any(p.poll() is None for p, _ in subs) and (
                time.monotonic() - t0 < published["seconds"] + a.drain + 30):
            sample()
            time.sleep(max(0.0, t0 + len(timeline) - time.monotonic()))
        received = [self.finish(p, o, 30) for p, o in subs]
        (self.work / "quiet").write_text("")  # all delivered: the prober's quiet phase
        wall = time.monotonic() - t0
        cpu1 = {"service": cpu_seconds(svc.pid),
                "nats-server": sum(cpu_seconds(p) for p in nats_pid)}
        load1 = os.getloadavg()
        probes = self.finish(prober, probe_out, 120)
        self.stop_service()
        (self.work / "done.json").unlink()
        (self.work / "quiet").unlink()
        hist = [sum(h) for h in zip(*(r["hist"] for r in received), strict=True)]
        slot_max: dict[int, float] = {}
        for r in received:
            for slot, worst in r["slot_max"]:
                slot_max[slot] = max(slot_max.get(slot, 0.0), worst)
        return {"published": published, "subs": received, "hist": hist, "probes": probes,
                "wall": wall, "load": (load0, load1), "slot_max": slot_max, "rss": rss,
                "timeline": timeline,
                "cpu": {("serve (API)" if a.split else "service (ingest + API + chDB)"):
                        cpu1["service"] - cpu0["service"],
                        "nats-server": cpu1["nats-server"] - cpu0["nats-server"],
                        "publisher": published["cpu"],
                        **{f"subscribers {i}": r["cpu"] for i, r in enumerate(received)},
                        "prober": probes["cpu"]}}

    def memory(self) -> dict[str, Any]:
        """Phase 2: the service's memory with clients that never read."""
        a = self.args
        total = int(a.rss_rate * (a.rss_seconds + 15))
        svc, port, nats_url = self.service("rss-run", 1)
        sub, sub_out = self.role("rss-sub", "sub", port=port, tenants=1, size=total,
                                 subscribers=1, first=0, step=1, slow=a.slow,
                                 drain=a.drain)
        self.wait_file(self.work / "rss-sub.ready", sub, 150)
        load0 = os.getloadavg()
        t0 = time.monotonic()
        start_us = int(time.time() * 1e6)
        pub, pub_out = self.role("rss-pub", "pub", nats=nats_url, rate=a.rss_rate,
                                 total=total, tenants=1, in_flight=a.in_flight)
        samples: list[tuple[float, float, float]] = []
        for k in range(a.rss_seconds // 10 + 1):  # at 0, 10, …, rss_seconds
            time.sleep(max(0.0, t0 + k * 10 - time.monotonic()))
            if svc.poll() is not None:
                raise SystemExit(f"the service exited; see {self.work}/rss-run.log")
            samples.append((time.monotonic() - t0, *memory_mb(svc.pid)))
        load1 = os.getloadavg()
        published = self.finish(pub, pub_out, 60)
        (self.work / "done.json").write_text(json.dumps(
            {"total": published["published"], "start_us": start_us}))
        received = self.finish(sub, sub_out, a.drain + 30)
        self.stop_service()
        return {"samples": samples, "published": published, "sub": received,
                "load": (load0, load1)}


def wait_ready(url: str, proc: subprocess.Popen[bytes], name: str, work: Path) -> None:
    deadline = time.monotonic() + 180
    while True:
        try:
            urllib.request.urlopen(url, timeout=2).close()
            return
        except OSError:
            if proc.poll() is not None or time.monotonic() > deadline:
                raise SystemExit(f"{name} did not come up; see {work}/{name}.log") from None
            time.sleep(0.5)


def stored(port: int) -> int:
    """Events the service has stored (its ingest counter)."""
    with urllib.request.urlopen(f"http://127.0.0.1:{port}/metrics", timeout=10) as r:
        text = r.read().decode()
    return int(sum(float(v) for v in re.findall(
        r"^chanalytics_events_ingested_total\{[^}]*\} ([0-9.e+]+)$", text, re.M)))


def slope(points: list[tuple[float, float]]) -> float:
    """Least-squares MB per minute."""
    if len(points) < 2:
        return float("nan")
    n = len(points)
    mx = sum(x for x, _ in points) / n
    my = sum(y for _, y in points) / n
    den = sum((x - mx) ** 2 for x, _ in points)
    return 60 * sum((x - mx) * (y - my) for x, y in points) / den if den else float("nan")


def ms(value: float | None) -> str:
    return "—" if value is None else f"{value * 1000:.0f}"


def checkout() -> str:
    """The commit, `+dirty` when files other than bench/results/ differ."""
    def git(*args: str) -> str:
        return subprocess.run(["git", "-C", str(Path(__file__).parent), *args],
                              capture_output=True, text=True, check=False).stdout.strip()
    dirty = git("status", "--porcelain", "--", ".", ":!bench/results")
    return git("rev-parse", "--short", "HEAD") + ("+dirty" if dirty else "")


def report(args: argparse.Namespace, fan: dict[str, Any] | None,
           mem: dict[str, Any] | None) -> list[str]:
    cmd = " ".join(["bench/live_bench.py", *sys.argv[1:]])
    lines = [f"## {datetime.now(UTC):%Y-%m-%d %H:%M} UTC — `{cmd}`", "",
             f"- commit {args.commit}, {os.cpu_count()} cores, "
             f"Python {sys.version.split()[0]}",
             f"- load average at the start of the bench {args.load_at_start}"]
    if args.note:
        lines.append(f"- {args.note}")
    if fan is not None:
        pub = fan["published"]
        hist = fan["hist"]
        subs = [s for r in fan["subs"] for s in r["subscribers"]]
        lines += [
            f"- load average (1/5/15 min) at the start / end of phase 1: "
            f"{fan['load'][0][0]:.2f}/{fan['load'][0][1]:.2f}/{fan['load'][0][2]:.2f} / "
            f"{fan['load'][1][0]:.2f}/{fan['load'][1][1]:.2f}/{fan['load'][1][2]:.2f}",
            "", "### 1. publish → SSE receipt", "",
            f"{args.subscribers} subscribers spread round-robin over {args.tenants} tenants "
            f"(the hub allows 20 open streams per tenant), in {args.sub_procs} process(es); "
            f"event n goes to tenant n % {args.tenants}. Latency = the time the subscriber "
            "read the HTTP chunk holding the event minus the time just before "
            "`publish_async` (stamped in the event id), i.e. it includes the JetStream ack, "
            "ingest's batching (flush every 1 s by default), the chDB insert, the stored "
            "stream and the hub.", "",
            "| target rate | published | publish time | achieved rate | max behind schedule "
            "| events delivered (all subscribers) | p50 ms | p95 ms | p99 ms | max ms |",
            "|---:|---:|---:|---:|---:|---:|---:|---:|---:|---:|",
            f"| {args.rate:,}/s | {pub['published']:,} | {pub['seconds']:.1f} s | "
            f"{pub['rate']:,.0f}/s | {pub['behind_max_s']:.2f} s | {sum(hist):,} | "
            f"{percentile(hist, 50):.0f} | {percentile(hist, 95):.0f} | "
            f"{percentile(hist, 99):.0f} | "
            f"{max((i for i, c in enumerate(hist) if c), default=0) + 1} |", "",
            "| subscribers | expected each (min-max) | received each (min-max) | received (sum) "
            "| missing (sum) | duplicates (sum) | dropped (sum) | errors |",
            "|---:|---:|---:|---:|---:|---:|---:|---|",
            f"| {len(subs)} | {min(s['expected'] for s in subs):,}-"
            f"{max(s['expected'] for s in subs):,} | {min(s['received'] for s in subs):,}-"
            f"{max(s['received'] for s in subs):,} | {sum(s['received'] for s in subs):,} | "
            f"{sum(s['missing'] for s in subs):,} | {sum(s['duplicates'] for s in subs):,} | "
            f"{sum(s['dropped'] for s in subs):,} | "
            f"{'; '.join(sorted({s['error'] for s in subs if s['error']})) or 'none'} |", ""]
        if not all(r["drained"] for r in fan["subs"]):
            lines += [f"**The subscribers stopped waiting ({args.drain:.0f} s after the last "
                      "publish, `--drain`) before every event arrived: missing counts "
                      "include late events.**", ""]
        bad = [s for s in subs if s["missing"] or s["duplicates"] or s["dropped"]]
        if bad:
            lines += ["Subscribers that did not get every event exactly once:", "",
                      "| subscriber | tenant | expected | received | missing | duplicates "
                      "| dropped |", "|---:|---:|---:|---:|---:|---:|---:|"]
            lines += [f"| {s['index']} | {s['tenant']} | {s['expected']:,} | "
                      f"{s['received']:,} | {s['missing']:,} | {s['duplicates']:,} | "
                      f"{s['dropped']:,} |" for s in bad[:20]]
            lines.append("")
        slots = sorted(fan["slot_max"].items(), key=lambda kv: int(kv[0]))
        step = max(1, len(slots) // 12)
        lines += ["Worst latency by the second the event was published in (ms): " + ", ".join(
            f"{int(k)} s: {v:.0f}" for k, v in slots[::step]) + ".", "",
            f"CPU seconds over the phase ({fan['wall']:.0f} s wall, publishing to drained; "
            "2 cores = 200% at most):", "", "| process | CPU s | share of one core |",
            "|---|---:|---:|"]
        lines += [f"| {name} | {cpu:.2f} | {100 * cpu / fan['wall']:.0f}% |"
                  for name, cpu in fan["cpu"].items()]
        per_event = args.subscribers / args.tenants  # clients that get each event
        cumulative = pub["cumulative"]
        lines += ["", "Timeline (every 10 s from the publisher's start): published, stored "
                  "(the service's `chanalytics_events_ingested_total`, probes included) and "
                  f"delivered (SSE events received by all subscribers / {per_event:.1f}, the "
                  "clients per event), each in thousands of events:", "",
                  "| s | published | stored | delivered | stored - delivered |",
                  "|---:|---:|---:|---:|---:|"]
        timeline = fan["timeline"]
        rows = timeline[::10] + ([timeline[-1]] if (len(timeline) - 1) % 10 else [])
        for t, done_, got in rows:
            sent = max(cumulative[:int(t) + 1], default=0)  # seconds the loop skipped are 0
            lines.append(f"| {t:.0f} | {sent / 1000:.1f} | {done_ / 1000:.1f} | "
                         f"{got / per_event / 1000:.1f} | "
                         f"{(done_ - got / per_event) / 1000:.1f} |")
        rss = fan["rss"]
        if rss:
            lines += ["", f"Service VmRSS during publishing: {rss[0][1]:.0f} → {rss[-1][1]:.0f}"
                      f" MB (max {max(r[1] for r in rss):.0f}), RssAnon {rss[0][2]:.0f} → "
                      f"{rss[-1][2]:.0f} MB."]
        probes = fan["probes"]["probes"]
        lines += ["", "### 2. publish → visible in `/realtime` and `/overview`", "",
                  f"One `message_sent` of `{PROBE_TENANT}` at a time, published with "
                  "`js.publish` (acked); then `/realtime` (`lastHour.sent`) and `/overview` "
                  "(startDate = 1 h before the run, endDate = a day after, "
                  f"`summary.totalMessagesSent`) polled every {args.poll_ms} ms until the "
                  "count is above what it was just before publishing. Time from just before "
                  "publishing; a probe every "
                  f"{args.probe_interval} s at most: while publishing (load), while the "
                  "service catches up after the last publish (drain), then "
                  f"{args.quiet_probes} once every subscriber has every event (quiet).", "",
                  "| phase | endpoint | probes | seen | p50 ms | p95 ms | max ms | ≤ 2 s |",
                  "|---|---|---:|---:|---:|---:|---:|---:|"]
        for phase in ("load", "drain", "quiet"):
            for endpoint in ("realtime", "overview"):
                got = [p[endpoint] for p in probes if p["phase"] == phase]
                seen = [v for v in got if v is not None]
                within = sum(1 for v in seen if v <= 2.0)
                lines.append(f"| {phase} | /{endpoint} | {len(got)} | {len(seen)} | "
                             f"{ms(quantile(seen, 50)) if seen else '—'} | "
                             f"{ms(quantile(seen, 95)) if seen else '—'} | "
                             f"{ms(max(seen)) if seen else '—'} | {within}/{len(got)} |")
        acks = [p["ack"] for p in probes]
        if acks:
            lines += ["", f"Probe publish acks: p50 {ms(quantile(acks, 50))} ms, "
                      f"max {ms(max(acks))} ms."]
    if mem is not None:
        samples = mem["samples"]
        sub = mem["sub"]
        reader = sub["subscribers"][0]
        pub = mem["published"]
        lines += ["", "### 3. API process memory with clients that never read", "",
                  ("A fresh `chanalytics serve` (the API alone: `ingest`, a ClickHouse "
                   "server and nats-server run apart, `--split`); " if args.split else
                   "A fresh `chanalytics run` (ingest + API in one process, so its RSS "
                   "includes ingest and chDB); ") + f"{sub['slow_open']} clients on one tenant "
                  f"(SO_RCVBUF 4096) that read the response headers and never recv again "
                  f"({sub['slow_alive']} still open on the client side at the end"
                  f"{'; refused: ' + '; '.join(sub['slow_errors']) if sub['slow_errors'] else ''}"
                  f"), plus one client that reads everything; {args.rss_rate:,} events/s "
                  f"(achieved {pub['rate']:,.0f}/s); VmRSS sampled every 10 s for "
                  f"{args.rss_seconds} s.",
                  f"Load average at the start / end: {mem['load'][0][0]:.2f} / "
                  f"{mem['load'][1][0]:.2f}.", "",
                  "| samples | first MB | last MB | max MB | last - first | slope MB/min | "
                  "RssAnon first → last (max) MB | RssAnon slope MB/min | within ± 50 MB |",
                  "|---:|---:|---:|---:|---:|---:|---:|---:|---|"]
        rss = [s[1] for s in samples]
        anon = [s[2] for s in samples]
        flat = max(rss) - rss[0] <= 50 and rss[0] - min(rss) <= 50
        lines.append(
            f"| {len(samples)} | {rss[0]:.0f} | {rss[-1]:.0f} | {max(rss):.0f} | "
            f"{rss[-1] - rss[0]:+.0f} | {slope([(s[0], s[1]) for s in samples]):+.2f} | "
            f"{anon[0]:.0f} → {anon[-1]:.0f} ({max(anon):.0f}) | "
            f"{slope([(s[0], s[2]) for s in samples]):+.2f} | {'yes' if flat else 'no'} |")
        lines += ["", "Samples (s: VmRSS/RssAnon MB): " + ", ".join(
            f"{s[0]:.0f}: {s[1]:.0f}/{s[2]:.0f}" for s in samples) + ".", "",
            f"The reading client: expected {reader['expected']:,}, received "
            f"{reader['received']:,}, missing {reader['missing']:,}, duplicates "
            f"{reader['duplicates']:,}, dropped {reader['dropped']:,}"
            f"{', error ' + reader['error'] if reader['error'] else ''}."]
    return lines


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__,
                                     formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--role", choices=("pub", "sub", "probe"), help=argparse.SUPPRESS)
    parser.add_argument("--config", help=argparse.SUPPRESS)
    parser.add_argument("--rate", type=int, default=5000, help="events/s in phase 1")
    parser.add_argument("--subscribers", type=int, default=50)
    parser.add_argument("--tenants", type=int, default=3, help="the subscribers' tenants")
    parser.add_argument("--sub-procs", type=int, default=1, help="subscriber processes")
    parser.add_argument("--seconds", type=float, default=60, help="phase 1's publishing")
    parser.add_argument("--in-flight", type=int, default=2000, help="unacked publishes")
    parser.add_argument("--drain", type=float, default=120,
                        help="seconds subscribers wait for the last events")
    parser.add_argument("--poll-ms", type=int, default=50)
    parser.add_argument("--probe-interval", type=float, default=0.5)
    parser.add_argument("--quiet-probes", type=int, default=10)
    parser.add_argument("--rss-seconds", type=int, default=600, help="phase 2; 0 skips it")
    parser.add_argument("--rss-rate", type=int, default=1000)
    parser.add_argument("--slow", type=int, default=10, help="clients that never read")
    parser.add_argument("--skip-fanout", action="store_true")
    parser.add_argument("--split", action="store_true",
                        help="`serve`, `ingest`, a ClickHouse server and nats-server apart")
    parser.add_argument("--out", type=Path, default=RESULTS)
    parser.add_argument("--note", help="a line for the results (e.g. what differs)")
    args = parser.parse_args()
    if args.role:
        role_main(args.role, args.config)
        return
    load = os.getloadavg()
    args.commit = checkout()  # at the start: a commit made during the run is not this one's
    args.load_at_start = f"{load[0]:.2f}/{load[1]:.2f}/{load[2]:.2f} (1/5/15 min)"
    work = Path(tempfile.mkdtemp(prefix="livebench-"))
    bench = Bench(args, work)
    fan = mem = None
    try:
        if not args.skip_fanout:
            fan = bench.fanout()
            print("\n".join(report(args, fan, None)), flush=True)
        if args.rss_seconds:
            mem = bench.memory()
    finally:
        bench.close()
    lines = report(args, fan, mem)
    args.out.parent.mkdir(parents=True, exist_ok=True)
    previous = args.out.read_text() if args.out.exists() else (
        "# Live stream (`bench/live_bench.py`): publish → SSE, publish → numbers, memory\n")
    args.out.write_text(previous.rstrip() + "\n\n" + "\n".join(lines) + "\n")
    print("\n".join(lines))
    shutil.rmtree(work, ignore_errors=True)


if __name__ == "__main__":
    main()
