#!/usr/bin/env python3
"""Helpers of bench/compare (standard library only).

  compare.py run --json OUT [--pooler PID,...] [--pg PID,...] --log-prefix PREFIX -- pgbench ARGS...
      Runs pgbench (its output passes through), samples the CPU time (utime+stime, children included) of the
      pooler's and of the PostgreSQL servers' process trees once every --interval seconds, then reads pgbench's
      per-transaction logs (PREFIX.*, removed afterwards unless --keep-logs) and writes OUT (JSON): TPS as pgbench
      reports it (without connection time), transactions, average and p99 latency, and CPU microseconds per
      transaction. Latency and CPU cover the steady window only: from the first CPU sample after every client has
      finished a transaction (all clients connected) to the last sample before the last transaction; runs too
      short for such a window fall back to the whole run.
  compare.py hold --port P [--host H] --user U --password PW --db D --clients N --ready FILE
      Opens N connections, logs each one in (SCRAM-SHA-256, MD5 or cleartext) and holds them idle; writes
      "<connected> <failed>" to FILE once every login has finished, then waits until it is terminated.
  compare.py tree-rss PID
      Prints the VmRSS (kB) summed over the process tree of PID.
  compare.py report --csv RUNS.csv --mem-csv MEM.csv --meta META --out RESULTS.md
      Writes the Markdown report: medians per cell, ratios against PgBouncer and against direct.
"""
import asyncio
import base64
import csv
import glob
import hashlib
import hmac
import json
import os
import re
import signal
import statistics
import struct
import subprocess
import sys
import threading
import time

HZ = os.sysconf("SC_CLK_TCK")


# ---------------------------------------------------------------------------------------------- /proc helpers
def proc_table():
    """pid -> (ppid, own CPU ticks utime+stime, reaped children's ticks cutime+cstime, threads)"""
    t = {}
    for d in os.listdir("/proc"):
        if not d.isdigit():
            continue
        try:
            with open(f"/proc/{d}/stat") as f:
                s = f.read()
        except OSError:
            continue
        rest = s[s.rfind(")") + 2:].split()
        # rest[0] state, rest[1] ppid, rest[11..14] utime stime cutime cstime, rest[17] num_threads
        t[int(d)] = (int(rest[1]), int(rest[11]) + int(rest[12]), int(rest[13]) + int(rest[14]), int(rest[17]))
    return t


def tree(t, roots):
    kids = {}
    for pid, v in t.items():
        kids.setdefault(v[0], []).append(pid)
    seen, todo = set(), [r for r in roots if r in t]
    while todo:
        p = todo.pop()
        if p not in seen:
            seen.add(p)
            todo.extend(kids.get(p, []))
    return seen


def sched_s(pid, threads):
    """CPU seconds of a process's live threads from schedstat (nanoseconds, where stat has 10 ms ticks)"""
    paths = [f"/proc/{pid}/schedstat"] if threads == 1 else glob.glob(f"/proc/{pid}/task/*/schedstat")
    total = 0
    for path in paths:
        try:
            with open(path) as f:
                total += int(f.read().split()[0])
        except (OSError, ValueError, IndexError):
            pass
    return total / 1e9


def cpu_of(t, roots):
    """CPU seconds of the process trees rooted at roots. /proc/PID/stat counts in 10 ms ticks, rounded down per
    process: a thousand PostgreSQL backends or Pgpool-II children with a few ms each would read as nothing. So each
    live process counts its threads' schedstat time (ns), or its stat ticks when larger (threads that exited), plus
    its reaped children's cutime+cstime."""
    total = 0.0
    for p in (tree(t, roots) if roots else ()):
        _, own, kids, threads = t[p]
        total += max(own / HZ, sched_s(p, threads)) + kids / HZ
    return total


def pids(arg):
    return [int(x) for x in (arg or "").split(",") if x.strip().isdigit()]


# ---------------------------------------------------------------------------------------------- run
def cmd_run(argv):
    cut = argv.index("--")
    opts, cmd = argv[:cut], argv[cut + 1:]
    o = {"--json": None, "--pooler": "", "--pg": "", "--pg-standbys": "", "--log-prefix": None, "--interval": "0.5", "--keep-logs": None}
    i = 0
    while i < len(opts):
        if opts[i] == "--keep-logs":
            o["--keep-logs"] = True
            i += 1
            continue
        o[opts[i]] = opts[i + 1]
        i += 2
    pooler, pg, interval = pids(o["--pooler"]), pids(o["--pg"]), float(o["--interval"])
    standbys = pids(o["--pg-standbys"])
    samples = []  # (time.time(), pooler cpu s, PostgreSQL cpu s (primary + standbys), standbys' cpu s)

    def sample():
        t = proc_table()
        sb = cpu_of(t, standbys)
        samples.append((time.time(), cpu_of(t, pooler), cpu_of(t, pg) + sb, sb))

    with open("/proc/loadavg") as f:
        load1 = float(f.read().split()[0])
    sample()
    out_lines = []
    p = subprocess.Popen(cmd, stdout=subprocess.PIPE, stderr=subprocess.STDOUT, text=True)

    def pump():
        for line in p.stdout:
            out_lines.append(line)
            sys.stdout.write(line)
        sys.stdout.flush()

    th = threading.Thread(target=pump, daemon=True)
    th.start()
    while p.poll() is None:
        time.sleep(interval)
        sample()
    th.join()
    time.sleep(0.3)  # let the servers' backends of a direct run exit and be reaped
    sample()
    rc = p.returncode
    text = "".join(out_lines)

    def grab(rx, conv=float):
        m = re.search(rx, text, re.M)
        return conv(m.group(1)) if m else None

    res = {"rc": rc, "load1": load1,
           "tps": grab(r"^tps = ([0-9.]+) \(without initial connection time\)"),
           "xacts": grab(r"^number of transactions actually processed: (\d+)", int),
           "failed": grab(r"^number of failed transactions: (\d+)", int),
           "pgbench_lat_ms": grab(r"^latency average = ([0-9.]+) ms"),
           "conn_ms": grab(r"^initial connection time = ([0-9.]+) ms")}
    errs = [ln.strip() for ln in out_lines if re.search(r"error|aborted|FATAL|could not", ln, re.I)]
    res["error"] = errs[0][:300] if errs else ""
    if not res["error"] and rc == 0 and not res["xacts"]:
        # pgbench counts the clients' connecting inside -T: many clients on a slow machine can take all of it.
        res["error"] = ("no transaction completed: connecting the clients took the whole run (-T); "
                        "raise BIG_EXTRA (runs with >= 500 clients) or DURATION")

    # per-transaction logs: client_id transaction_no time(us) script_no epoch_s epoch_us
    first, done, lat = {}, [], []
    files = sorted(glob.glob(glob.escape(o["--log-prefix"]) + ".*")) if o["--log-prefix"] else []
    for fn in files:
        with open(fn) as f:
            for line in f:
                a = line.split()
                if len(a) < 6 or not a[2].isdigit():
                    continue
                end = int(a[4]) + int(a[5]) / 1e6
                c = int(a[0])
                if c not in first or end < first[c]:
                    first[c] = end
                done.append(end)
                lat.append((end, int(a[2])))
        if not o["--keep-logs"]:
            os.unlink(fn)
    res["window"] = "none"
    if done:
        t_ready, t_last = max(first.values()), max(done)
        s0 = next((s for s in samples if s[0] >= t_ready), None)
        s1 = next((s for s in reversed(samples) if s[0] <= t_last), None)
        if s0 and s1 and s1[0] - s0[0] >= 1.0:
            n = sum(1 for e in done if s0[0] < e <= s1[0])
            ls = sorted(v for e, v in lat if s0[0] < e <= s1[0])
            res.update(window="steady", window_s=round(s1[0] - s0[0], 2), pooler_cpu_s=round(s1[1] - s0[1], 3),
                       pg_cpu_s=round(s1[2] - s0[2], 3), pg_standbys_cpu_s=round(s1[3] - s0[3], 3))
        else:  # whole run
            n = len(done)
            ls = sorted(v for _, v in lat)
            res.update(window="whole", window_s=round(samples[-1][0] - samples[0][0], 2),
                       pooler_cpu_s=round(samples[-1][1] - samples[0][1], 3),
                       pg_cpu_s=round(samples[-1][2] - samples[0][2], 3),
                       pg_standbys_cpu_s=round(samples[-1][3] - samples[0][3], 3))
        res["window_xacts"] = n
        if ls:
            res["lat_avg_ms"] = round(sum(ls) / len(ls) / 1000, 3)
            res["lat_p99_ms"] = round(ls[min(len(ls) - 1, int(0.99 * len(ls)))] / 1000, 3)
        if n:
            res["pooler_us_per_tx"] = round(res["pooler_cpu_s"] * 1e6 / n, 2) if pooler else None
            res["pg_us_per_tx"] = round(res["pg_cpu_s"] * 1e6 / n, 2) if pg else None
        if res["pg_cpu_s"] > 0:
            res["standbys_share"] = round(res["pg_standbys_cpu_s"] / res["pg_cpu_s"], 3)
    res["samples"] = [[round(v, 3) for v in x] for x in samples]
    with open(o["--json"], "w") as f:
        json.dump(res, f)
    return rc


# ---------------------------------------------------------------------------------------------- hold
class LoginError(Exception):
    pass


_salted_cache = {}


async def login(host, port, user, password, db):
    reader, writer = await asyncio.open_connection(host, port)
    params = b"".join(k.encode() + b"\0" + v.encode() + b"\0"
                      for k, v in (("user", user), ("database", db), ("application_name", "compare-hold")))
    body = struct.pack("!I", 196608) + params + b"\0"
    writer.write(struct.pack("!I", len(body) + 4) + body)

    async def msg():
        head = await reader.readexactly(5)
        n = struct.unpack("!I", head[1:])[0]
        return head[:1], await reader.readexactly(n - 4)

    def send(kind, payload):
        writer.write(kind + struct.pack("!I", len(payload) + 4) + payload)

    nonce = client_first_bare = None
    while True:
        kind, data = await msg()
        if kind == b"E":
            raise LoginError(data.replace(b"\0", b" ").decode(errors="replace").strip())
        if kind == b"Z":
            return writer
        if kind != b"R":
            continue
        code = struct.unpack("!I", data[:4])[0]
        if code == 0:
            continue
        if code == 3:
            send(b"p", password.encode() + b"\0")
        elif code == 5:
            inner = hashlib.md5(password.encode() + user.encode()).hexdigest().encode()
            send(b"p", b"md5" + hashlib.md5(inner + data[4:8]).hexdigest().encode() + b"\0")
        elif code == 10:
            nonce = base64.b64encode(os.urandom(18)).decode()
            client_first_bare = f"n=,r={nonce}"
            first = ("n,," + client_first_bare).encode()
            send(b"p", b"SCRAM-SHA-256\0" + struct.pack("!I", len(first)) + first)
        elif code == 11:
            server_first = data[4:].decode()
            f = dict(kv.split("=", 1) for kv in server_first.split(","))
            if not f["r"].startswith(nonce):
                raise LoginError("bad SCRAM nonce")
            salt, iters = base64.b64decode(f["s"]), int(f["i"])
            key = (password, salt, iters)
            if key not in _salted_cache:
                _salted_cache[key] = hashlib.pbkdf2_hmac("sha256", password.encode(), salt, iters)
            salted = _salted_cache[key]
            client_key = hmac.new(salted, b"Client Key", hashlib.sha256).digest()
            stored = hashlib.sha256(client_key).digest()
            final_wo_proof = f"c=biws,r={f['r']}"
            auth_msg = f"{client_first_bare},{server_first},{final_wo_proof}".encode()
            sig = hmac.new(stored, auth_msg, hashlib.sha256).digest()
            proof = bytes(a ^ b for a, b in zip(client_key, sig))
            send(b"p", f"{final_wo_proof},p={base64.b64encode(proof).decode()}".encode())
        elif code == 12:
            pass
        else:
            raise LoginError(f"unsupported authentication request {code}")


async def hold(o):
    n = int(o["--clients"])
    sem = asyncio.Semaphore(int(o.get("--parallel", "64")))
    conns, errors = [], []

    async def one():
        async with sem:
            for attempt in range(3):
                try:
                    w = await asyncio.wait_for(
                        login(o.get("--host", "127.0.0.1"), int(o["--port"]), o["--user"], o["--password"],
                              o["--db"]), 60)
                    conns.append(w)
                    return
                except (OSError, asyncio.TimeoutError, asyncio.IncompleteReadError, LoginError) as e:
                    if attempt == 2:
                        errors.append(repr(e))
                    await asyncio.sleep(0.2)

    await asyncio.gather(*(one() for _ in range(n)))
    with open(o["--ready"] + ".tmp", "w") as f:
        f.write(f"{len(conns)} {len(errors)} {errors[0] if errors else ''}\n")
    os.replace(o["--ready"] + ".tmp", o["--ready"])
    stop = asyncio.Event()
    loop = asyncio.get_running_loop()
    for s in (signal.SIGTERM, signal.SIGINT):
        loop.add_signal_handler(s, stop.set)
    await stop.wait()
    for w in conns:
        w.close()


def cmd_hold(argv):
    o = dict(zip(argv[::2], argv[1::2]))
    asyncio.run(hold(o))
    return 0


def cmd_tree_rss(argv):
    t = proc_table()
    total = 0
    for p in tree(t, pids(argv[0])):
        try:
            with open(f"/proc/{p}/status") as f:
                for line in f:
                    if line.startswith("VmRSS:"):
                        total += int(line.split()[1])
        except OSError:
            pass
    print(total)
    return 0


# ---------------------------------------------------------------------------------------------- report
TARGETS = ["direct", "pgrelay", "pgbouncer", "pgpool"]
NAMES = {"direct": "direct", "pgrelay": "pgrelay", "pgbouncer": "PgBouncer", "pgpool": "Pgpool-II"}
WORKLOADS = {"simple": "select-only -M simple", "extended": "select-only -M extended",
             "prepared": "select-only -M prepared", "tpcb": "tpcb-like -M simple",
             "rwmix": "9 SELECTs : 1 UPDATE -M simple"}


def num(x):
    try:
        return float(x)
    except (TypeError, ValueError):
        return None


def med(vs):
    vs = [v for v in vs if v is not None]
    return statistics.median(vs) if vs else None


def fmt(v, nd=0):
    return "—" if v is None else f"{v:,.{nd}f}"


def ratio(a, b):
    return "—" if not a or not b else f"{a / b:.2f}"


def targets_section(order, m, mem):
    """issue 9's targets, each checked against this run's medians"""
    out = ["## Against the targets (issue 9)\n", "| target | cell | measured | met |", "|---|---|---|---|"]

    def yes(b):
        return "—" if b is None else ("yes" if b else "**no**")

    for k in order:
        tls, wl, c = k
        pr, pb = m(k, "pgrelay", "tps"), m(k, "pgbouncer", "tps")
        if wl in ("simple", "extended", "prepared") and c == 100:
            out.append(f"| select-only at 100 clients: pgrelay TPS >= PgBouncer's | TLS {tls}, -M {wl} | "
                       f"{fmt(pr)} vs {fmt(pb)} | {yes(None if not (pr and pb) else pr >= pb)} |")
            qr, qb = m(k, "pgrelay", "lat_p99_ms"), m(k, "pgbouncer", "lat_p99_ms")
            out.append(f"| select-only at 100 clients: pgrelay p99 <= PgBouncer's | TLS {tls}, -M {wl} | "
                       f"{fmt(qr, 2)} vs {fmt(qb, 2)} ms | {yes(None if not (qr and qb) else qr <= qb)} |")
        cr, cb = m(k, "pgrelay", "pooler_us_per_tx"), m(k, "pgbouncer", "pooler_us_per_tx")
        if cr and cb:
            out.append(f"| pooler CPU per transaction <= PgBouncer's | TLS {tls}, {WORKLOADS.get(wl, wl)}, {c} clients | "
                       f"{fmt(cr, 1)} vs {fmt(cb, 1)} µs | {yes(cr <= cb)} |")
        if wl == "rwmix":
            pd = m(k, "direct", "tps")
            out.append(f"| read/write mix: pgrelay TPS > direct-to-primary | TLS {tls}, {c} clients | "
                       f"{fmt(pr)} vs {fmt(pd)} | {yes(None if not (pr and pd) else pr > pd)} |")
    for r in mem:
        if r["target"] == "pgrelay" and r["clients"] == "10000":
            base, full, n = num(r["rss_idle_kb"]), num(r["rss_kb"]), num(r["connected"])
            per = (full - base) / n if base is not None and full is not None and n else None
            out.append(f"| 10,000 idle clients: <= 10 KB of pgrelay RSS per client above idle | {r['connected']} "
                       f"logged in | {fmt(per, 1)} KB | {yes(None if per is None else per <= 10)} |")
    out.append("")
    return out if len(out) > 4 else []


def cmd_report(argv):
    o = dict(zip(argv[::2], argv[1::2]))
    rows = list(csv.DictReader(open(o["--csv"])))
    mem = list(csv.DictReader(open(o["--mem-csv"]))) if os.path.exists(o.get("--mem-csv", "")) else []
    meta = open(o["--meta"]).read() if o.get("--meta") else ""
    cells, order = {}, []
    for r in rows:
        k = (r["tls"], r["workload"], int(r["clients"]))
        if k not in order:
            order.append(k)
        cells.setdefault(k + (r["target"],), []).append(r)
    order.sort(key=lambda k: (k[0] != "off", list(WORKLOADS).index(k[1]) if k[1] in WORKLOADS else 99, k[2]))
    targets = [t for t in TARGETS if any(k + (t,) in cells for k in order)]

    def ok(k, t):
        return [r for r in cells.get(k + (t,), []) if r["status"] == "ok"]

    def m(k, t, col):
        return med([num(r[col]) for r in ok(k, t)])

    def cell(k, t, col, nd=0):
        rs = cells.get(k + (t,), [])
        if not rs:
            return "not run"
        good = ok(k, t)
        if not good:
            return "**failed**"
        v = fmt(m(k, t, col), nd)
        return v if len(good) == len(rs) else f"{v} ({len(rs) - len(good)}/{len(rs)} failed)"

    out = [meta.rstrip()]
    loads = sorted(v for v in (num(r.get("load1")) for r in rows) if v is not None)
    if loads:
        out.append(f"- Load average (1 min) just before each pgbench run: min {loads[0]:.1f}, median "
                   f"{statistics.median(loads):.1f}, max {loads[-1]:.1f} (this run's own work included; "
                   f"{os.cpu_count()} is a full machine of {os.cpu_count()} CPUs).")
    out.append("")
    out += targets_section(order, m, mem)
    out.append("## Throughput (TPS, median of the repeats)\n")
    hdr = ["TLS", "workload", "clients"] + [NAMES[t] for t in targets]
    extra = []
    if "pgrelay" in targets and "pgbouncer" in targets:
        extra.append(("pgrelay", "pgbouncer"))
    for t in targets:
        if t != "direct" and "direct" in targets:
            extra.append((t, "direct"))
    hdr += [f"{NAMES[a]} / {NAMES[b]}" for a, b in extra]
    out += ["| " + " | ".join(hdr) + " |", "|" + "---|" * len(hdr)]
    for k in order:
        line = [k[0], WORKLOADS.get(k[1], k[1]), str(k[2])] + [cell(k, t, "tps") for t in targets]
        line += [ratio(m(k, a, "tps"), m(k, b, "tps")) for a, b in extra]
        out.append("| " + " | ".join(line) + " |")
    out.append("")

    out.append("## Latency (ms, medians of the runs' average and p99, steady state)\n")
    hdr = ["TLS", "workload", "clients"]
    for t in targets:
        hdr += [f"{NAMES[t]} avg", f"{NAMES[t]} p99"]
    if "pgrelay" in targets and "pgbouncer" in targets:
        hdr += ["p99 pgrelay / PgBouncer"]
    out += ["| " + " | ".join(hdr) + " |", "|" + "---|" * len(hdr)]
    for k in order:
        line = [k[0], WORKLOADS.get(k[1], k[1]), str(k[2])]
        for t in targets:
            line += [cell(k, t, "lat_avg_ms", 2), cell(k, t, "lat_p99_ms", 2)]
        if "pgrelay" in targets and "pgbouncer" in targets:
            line.append(ratio(m(k, "pgrelay", "lat_p99_ms"), m(k, "pgbouncer", "lat_p99_ms")))
        out.append("| " + " | ".join(line) + " |")
    out.append("")

    poolers = [t for t in targets if t != "direct"]
    out.append("## CPU per transaction (µs, medians, steady state)\n")
    out.append("Pooler: utime+stime of the pooler's process (Pgpool-II: its whole process tree, children included). "
               "PostgreSQL: the three servers' process trees.\n")
    hdr = ["TLS", "workload", "clients"] + [f"{NAMES[t]}" for t in poolers]
    if "pgrelay" in poolers and "pgbouncer" in poolers:
        hdr.append("pgrelay / PgBouncer")
    hdr += [f"PostgreSQL via {NAMES[t]}" for t in targets]
    out += ["| " + " | ".join(hdr) + " |", "|" + "---|" * len(hdr)]
    for k in order:
        line = [k[0], WORKLOADS.get(k[1], k[1]), str(k[2])] + [cell(k, t, "pooler_us_per_tx", 1) for t in poolers]
        if "pgrelay" in poolers and "pgbouncer" in poolers:
            line.append(ratio(m(k, "pgrelay", "pooler_us_per_tx"), m(k, "pgbouncer", "pooler_us_per_tx")))
        line += [cell(k, t, "pg_us_per_tx", 1) for t in targets]
        out.append("| " + " | ".join(line) + " |")
    out.append("")

    def share(k, t):
        vs = []
        for r in ok(k, t):
            a, b = num(r.get("pg_cpu_s")), num(r.get("pg_standbys_cpu_s"))
            if a and b is not None:
                vs.append(100 * b / a)
        return fmt(med(vs)) + " %" if vs else "—"

    if any(r.get("pg_standbys_cpu_s") not in (None, "") for r in rows):
        out.append("## Where the work ran (the standbys' share of the three servers' CPU, median)\n")
        out.append("Steady window, as above. With writes, the standbys replaying WAL take a share even when no "
                   "query reaches them (see direct).\n")
        out += ["| TLS | workload | clients | " + " | ".join(NAMES[t] for t in targets) + " |",
                "|---|---|---|" + "---|" * len(targets)]
        for k in order:
            out.append(f"| {k[0]} | {WORKLOADS.get(k[1], k[1])} | {k[2]} | " +
                       " | ".join(share(k, t) for t in targets) + " |")
        out.append("")

    if mem:
        out.append("## Memory with idle clients (RSS, kB)\n")
        out.append("Each pooler freshly started, RSS read with no client (baseline), then with N clients logged in "
                   "and idle (held by `compare.py hold`), a few seconds after the last login.\n")
        out += ["| pooler | clients wanted | logged in | RSS idle | RSS with clients | kB per client above baseline |",
                "|---|---|---|---|---|---|"]
        for r in mem:
            base, full, n = num(r["rss_idle_kb"]), num(r["rss_kb"]), num(r["connected"])
            per = (full - base) / n if base is not None and full is not None and n else None
            out.append(f"| {NAMES.get(r['target'], r['target'])} | {r['clients']} | {r['connected']} | "
                       f"{fmt(base)} | {fmt(full)} | {fmt(per, 1)} |")
        out.append("")

    bad = [r for r in rows if r["status"] != "ok"]
    out.append("## Failed runs\n")
    if bad:
        seen = {}
        for r in bad:
            key = (r["tls"], r["workload"], r["clients"], r["target"])
            seen.setdefault(key, [0, r["error"] or f"pgbench exit code {r['rc']}"])[0] += 1
        out += ["| TLS | workload | clients | target | runs failed | reason (first error) |", "|---|---|---|---|---|---|"]
        for (tls, wl, c, t), (n, why) in seen.items():
            why = why.replace("|", "\\|")
            out.append(f"| {tls} | {WORKLOADS.get(wl, wl)} | {c} | {NAMES.get(t, t)} | {n} | {why} |")
    else:
        out.append("None.")
    out.append("")

    out.append("## Every run (TPS)\n")
    out += ["| TLS | workload | clients | " + " | ".join(NAMES[t] for t in targets) + " |",
            "|---|---|---|" + "---|" * len(targets)]
    for k in order:
        vals = []
        for t in targets:
            vals.append(" / ".join(fmt(num(r["tps"])) if r["status"] == "ok" else "failed"
                                   for r in cells.get(k + (t,), [])) or "not run")
        out.append(f"| {k[0]} | {WORKLOADS.get(k[1], k[1])} | {k[2]} | " + " | ".join(vals) + " |")
    out.append("")
    if o.get("--notes") and os.path.exists(o["--notes"]):
        out.append(open(o["--notes"]).read().rstrip())
        out.append("")
    with open(o["--out"], "w") as f:
        f.write("\n".join(out))
    return 0


def main():
    if len(sys.argv) < 2:
        sys.exit(__doc__)
    cmd, argv = sys.argv[1], sys.argv[2:]
    fn = {"run": cmd_run, "hold": cmd_hold, "tree-rss": cmd_tree_rss, "report": cmd_report}.get(cmd)
    if not fn:
        sys.exit(__doc__)
    sys.exit(fn(argv))


if __name__ == "__main__":
    main()
