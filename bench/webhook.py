"""Webhook benchmark: Bastion executions per second beside a bare Starlette echo, same run.

    .venv/bin/python bench/webhook.py [--duration 10] [--concurrency 1,16,64] [--pin|--no-pin]

What it does, all on 127.0.0.1 and bounded in time:

1. a fresh temporary data directory: ``bastion init``, then bench/automations/bench.yaml
   applied to the local store (scripts/bootstrap.py);
2. ``bastion serve`` on a free port (pinned to CPU 0 with ``taskset`` when pinning);
   waits until ``POST /hooks/bench`` answers 200 with the contract's body;
3. a short warm-up, then one closed-loop load run per concurrency level from a separate
   process (``wrk`` + bench/wrk_post.lua when ``wrk`` is on PATH, else bench/loadgen.py),
   pinned to CPU 1; records requests/s, p50/p99 latency and errors;
4. stops Bastion, counts the executions persisted in its SQLite file and verifies the
   audit chain;
5. the same load against bench/echo.py under uvicorn (uvloop + httptools, 1 worker);
6. prints both side by side with the ratio Bastion/echo, and writes the whole record to
   bench/results/webhook-<timestamp>.json.

Every Bastion control stays on: the execution, its step runs and audit events are
written, sealed and chained exactly as in production use (default settings).
"""

from __future__ import annotations

import argparse
import contextlib
import json
import os
import platform
import re
import shutil
import signal
import socket
import sqlite3
import subprocess
import sys
import tempfile
import time
import urllib.error
import urllib.request
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

BENCH = Path(__file__).resolve().parent
ROOT = BENCH.parent
BODY_FILE = BENCH / "body.json"
AUTOMATIONS = BENCH / "automations"
RESULTS = BENCH / "results"
HOST = "127.0.0.1"
READY_TIMEOUT = 60.0  # seconds for a server to answer its first POST with 200
STOP_TIMEOUT = 20.0  # seconds between SIGTERM and SIGKILL
REQUEST_TIMEOUT = 10  # seconds, per request, in the load generators


class HardTimeout(Exception):
    """The whole run exceeded its time budget."""


@dataclass
class Tools:
    pin: bool
    taskset: str | None
    loadgen: str  # "wrk" or "python"
    wrk: str | None

    def server_prefix(self) -> list[str]:
        return [self.taskset, "-c", "0"] if self.pin and self.taskset else []

    def client_prefix(self) -> list[str]:
        return [self.taskset, "-c", "1"] if self.pin and self.taskset else []


@dataclass
class Server:
    name: str
    url: str
    proc: subprocess.Popen[bytes]
    log_path: Path
    answered_ok: int = 0  # 200 responses seen (readiness probes and load runs)
    rows: list[dict[str, Any]] = field(default_factory=list)


# -- arguments and tools -------------------------------------------------------


def parse_args(argv: list[str] | None) -> argparse.Namespace:
    p = argparse.ArgumentParser(
        description="Bastion webhook executions/s and latency beside a bare Starlette echo."
    )
    p.add_argument("--duration", type=float, default=10.0, help="seconds per level (default 10)")
    p.add_argument(
        "--concurrency",
        default="1,16,64",
        help="levels, comma or space separated (default 1,16,64)",
    )
    p.add_argument("--warmup", type=float, default=3.0, help="seconds at c=16 before measuring")
    p.add_argument(
        "--pin",
        action=argparse.BooleanOptionalAction,
        default=None,
        help="server on CPU 0, load generator on CPU 1 (default: on when nproc >= 2)",
    )
    p.add_argument(
        "--loadgen",
        choices=["auto", "wrk", "python"],
        default="auto",
        help="default: wrk if on PATH",
    )
    p.add_argument("--keep-data", action="store_true", help="keep the temporary data directory")
    p.add_argument("--no-baseline", action="store_true", help="skip the Starlette echo baseline")
    args = p.parse_args(argv)
    args.levels = [int(x) for x in re.split(r"[,\s]+", args.concurrency.strip()) if x]
    if not args.levels or min(args.levels) < 1 or args.duration <= 0:
        p.error("--concurrency needs positive integers and --duration a positive number")
    return args


def pick_tools(args: argparse.Namespace) -> Tools:
    taskset = shutil.which("taskset")
    cpus = os.cpu_count() or 1
    pin = (cpus >= 2) if args.pin is None else args.pin
    if pin and (taskset is None or cpus < 2):
        print("note: pinning needs taskset and 2 CPUs; running unpinned", file=sys.stderr)
        pin = False
    wrk = shutil.which("wrk")
    loadgen = args.loadgen
    if loadgen == "auto":
        loadgen = "wrk" if wrk else "python"
    if loadgen == "wrk" and wrk is None:
        raise SystemExit("--loadgen wrk: wrk is not on PATH (apt-get install -y wrk)")
    return Tools(pin=pin, taskset=taskset, loadgen=loadgen, wrk=wrk)


def bastion_exe() -> str:
    beside = Path(sys.executable).parent / "bastion"
    found = str(beside) if beside.exists() else shutil.which("bastion")
    if not found:
        raise SystemExit("the `bastion` command is not installed (make install)")
    return found


def clean_env(**extra: str) -> dict[str, str]:
    """The caller's environment minus BASTION_* (a stray BASTION_DATABASE_URL must not leak in)."""
    env = {k: v for k, v in os.environ.items() if not k.startswith("BASTION_")}
    env.update(extra)
    return env


# -- servers --------------------------------------------------------------------


def free_port() -> int:
    with socket.socket(socket.AF_INET, socket.SOCK_STREAM) as s:
        s.bind((HOST, 0))
        return int(s.getsockname()[1])


def start_server(
    name: str, cmd: list[str], url: str, env: dict[str, str], log_path: Path
) -> Server:
    with log_path.open("wb") as log:
        proc = subprocess.Popen(
            cmd, env=env, cwd=ROOT, stdin=subprocess.DEVNULL, stdout=log, stderr=subprocess.STDOUT,
            start_new_session=True,  # its own process group: stopped as a whole, by id
        )  # fmt: skip
    return Server(name, url, proc, log_path)


def stop_server(server: Server) -> None:
    proc = server.proc
    if proc.poll() is not None:
        return
    with contextlib.suppress(ProcessLookupError):
        os.killpg(proc.pid, signal.SIGTERM)
    try:
        proc.wait(STOP_TIMEOUT)
    except subprocess.TimeoutExpired:
        with contextlib.suppress(ProcessLookupError):
            os.killpg(proc.pid, signal.SIGKILL)
        proc.wait(5)


def log_tail(server: Server, lines: int = 20) -> str:
    try:
        return "\n".join(server.log_path.read_text(errors="replace").splitlines()[-lines:])
    except OSError:
        return ""


def post_once(url: str, body: bytes, timeout: float = 5.0) -> tuple[int, bytes]:
    req = urllib.request.Request(
        url, data=body, method="POST", headers={"Content-Type": "application/json"}
    )
    try:
        with urllib.request.urlopen(req, timeout=timeout) as resp:
            return resp.status, resp.read()
    except urllib.error.HTTPError as exc:
        return exc.code, exc.read()


def wait_ready(server: Server, body: bytes) -> None:
    """Until a POST answers 200 with exactly the contract's body; fails fast if the server dies."""
    expected = {"body": json.loads(body), "processed": True}
    end = time.monotonic() + READY_TIMEOUT
    last = "no answer"
    while time.monotonic() < end:
        if server.proc.poll() is not None:
            raise RuntimeError(
                f"{server.name} exited ({server.proc.returncode}):\n{log_tail(server)}"
            )
        try:
            status, answer = post_once(server.url, body)
        except OSError as exc:
            last = str(exc)
        else:
            if status == 200:
                server.answered_ok += 1
                if json.loads(answer) != expected:
                    raise RuntimeError(f"{server.name} broke the contract: {answer[:300]!r}")
                return
            last = f"HTTP {status}: {answer[:200]!r}"
        time.sleep(0.3)
    raise RuntimeError(
        f"{server.name} not ready after {READY_TIMEOUT:.0f}s ({last}):\n{log_tail(server)}"
    )


def rss_mb(pid: int) -> float | None:
    try:
        for line in Path(f"/proc/{pid}/status").read_text().splitlines():
            if line.startswith("VmRSS:"):
                return round(int(line.split()[1]) / 1024, 1)
    except OSError:
        pass
    return None


# -- load -----------------------------------------------------------------------


def load(tools: Tools, url: str, concurrency: int, duration: float) -> dict[str, Any]:
    """One bounded closed-loop run from a separate process; the parsed BENCHJSON line."""
    secs = max(1, round(duration))
    if tools.loadgen == "wrk":
        assert tools.wrk is not None
        cmd = [
            tools.wrk, "-t1", f"-c{concurrency}", f"-d{secs}s", f"--timeout={REQUEST_TIMEOUT}s",
            "--latency", "-s", str(BENCH / "wrk_post.lua"), url,
        ]  # fmt: skip
    else:
        cmd = [
            sys.executable, str(BENCH / "loadgen.py"), url, "--body", str(BODY_FILE),
            "--concurrency", str(concurrency), "--duration", str(secs),
            "--timeout", str(REQUEST_TIMEOUT),
        ]  # fmt: skip
    env = {**os.environ, "BENCH_BODY": str(BODY_FILE)}
    proc = subprocess.run(
        tools.client_prefix() + cmd, env=env, capture_output=True, text=True, timeout=secs + 30
    )
    for line in proc.stdout.splitlines():
        if line.startswith("BENCHJSON "):
            result: dict[str, Any] = json.loads(line[len("BENCHJSON ") :])
            result["errors_total"] = sum(result["errors"].values())
            return result
    raise RuntimeError(
        f"{tools.loadgen} gave no result (exit {proc.returncode}):\n{proc.stdout}{proc.stderr}"
    )


def measure(server: Server, tools: Tools, args: argparse.Namespace) -> None:
    if args.warmup > 0:
        print(f"  {server.name}: warm-up {args.warmup:g}s at c=16", flush=True)
        warm = load(tools, server.url, 16, args.warmup)
        server.answered_ok += warm["requests"] - warm["errors"]["status"]
    for c in args.levels:
        row = load(tools, server.url, c, args.duration)
        row["concurrency"] = c
        row["rss_mb"] = rss_mb(server.proc.pid)
        server.answered_ok += row["requests"] - row["errors"]["status"]
        server.rows.append(row)
        print(
            f"  {server.name}: c={c:<3} {row['rps']:>9.1f} req/s  p50 {row['p50_ms']:.2f} ms  "
            f"p99 {row['p99_ms']:.2f} ms  errors {row['errors_total']}",
            flush=True,
        )
        if server.proc.poll() is not None:
            raise RuntimeError(f"{server.name} died during the run:\n{log_tail(server)}")


# -- Bastion --------------------------------------------------------------------


def prepare_bastion(data_dir: Path) -> dict[str, str]:
    env = clean_env(BASTION_DATA_DIR=str(data_dir))
    steps = [
        [bastion_exe(), "init"],
        [sys.executable, str(ROOT / "scripts" / "bootstrap.py"), str(AUTOMATIONS)],
    ]
    for cmd in steps:
        done = subprocess.run(cmd, env=env, cwd=ROOT, capture_output=True, text=True, timeout=120)
        if done.returncode != 0:
            raise RuntimeError(f"{' '.join(cmd)} failed:\n{done.stdout}{done.stderr}")
    return env


def persisted(db_path: Path) -> dict[str, Any]:
    """What the run left in Bastion's SQLite file (read-only, after the server stopped)."""
    with contextlib.closing(sqlite3.connect(f"file:{db_path}?mode=ro", uri=True)) as db:
        states = dict(
            db.execute("SELECT state, COUNT(*) FROM executions GROUP BY state").fetchall()
        )
        sealed = db.execute(
            "SELECT COUNT(*) FROM executions WHERE state = 'succeeded' "
            "AND input LIKE 'v1:%' AND output LIKE 'v1:%'"
        ).fetchone()[0]
        steps = dict(db.execute("SELECT state, COUNT(*) FROM step_runs GROUP BY state").fetchall())
        audit = db.execute("SELECT COUNT(*) FROM audit_events").fetchone()[0]
    return {
        "executions_by_state": states,
        "executions_succeeded": states.get("succeeded", 0),
        "succeeded_with_sealed_input_and_output": sealed,
        "step_runs_by_state": steps,
        "audit_events": audit,
    }


def verify_audit(env: dict[str, str]) -> str:
    try:
        done = subprocess.run(
            [bastion_exe(), "audit", "verify"], env=env, cwd=ROOT, capture_output=True,
            text=True, timeout=300,
        )  # fmt: skip
    except subprocess.TimeoutExpired:
        return "not verified (took more than 300 s)"
    text = " ".join((done.stdout + done.stderr).split())
    return text if done.returncode == 0 else f"FAILED (exit {done.returncode}): {text}"


def run_bastion(
    work: Path, tools: Tools, args: argparse.Namespace, servers: list[Server]
) -> dict[str, Any]:
    data_dir = work / "data"
    env = prepare_bastion(data_dir)
    port = free_port()
    cmd = [*tools.server_prefix(), bastion_exe(), "serve", "--host", HOST, "--port", str(port)]
    server = start_server(
        "bastion", cmd, f"http://{HOST}:{port}/hooks/bench", env, work / "bastion.log"
    )
    servers.append(server)
    wait_ready(server, BODY_FILE.read_bytes())
    measure(server, tools, args)
    stop_server(server)  # before counting: every write the server accepted is committed by then
    record = persisted(data_dir / "bastion.db")
    record["responses_200"] = server.answered_ok
    print("  bastion: verifying the audit chain ...", flush=True)
    record["audit_verify"] = verify_audit(env)
    return {"rows": server.rows, "persisted": record}


def run_echo(
    work: Path, tools: Tools, args: argparse.Namespace, servers: list[Server]
) -> dict[str, Any]:
    port = free_port()
    cmd = [
        *tools.server_prefix(), sys.executable, "-m", "uvicorn", "echo:app",
        "--app-dir", str(BENCH), "--host", HOST,
        "--port", str(port), "--workers", "1", "--loop", "uvloop", "--http", "httptools",
        "--no-access-log", "--log-level", "warning",
    ]  # fmt: skip
    server = start_server(
        "echo", cmd, f"http://{HOST}:{port}/bench", clean_env(), work / "echo.log"
    )
    servers.append(server)
    wait_ready(server, BODY_FILE.read_bytes())
    measure(server, tools, args)
    stop_server(server)
    return {"rows": server.rows}


# -- report ---------------------------------------------------------------------


def table(bastion: list[dict[str, Any]], echo: list[dict[str, Any]]) -> str:
    by_c = {r["concurrency"]: r for r in echo}
    out = [
        "| conc | Bastion req/s | p50 ms | p99 ms | err | echo req/s | p50 ms | p99 ms | err "
        "| Bastion/echo req/s |",
        "|---:|---:|---:|---:|---:|---:|---:|---:|---:|---:|",
    ]
    for b in bastion:
        e = by_c.get(b["concurrency"])
        left = (
            f"| {b['concurrency']} | {b['rps']:.0f} | {b['p50_ms']:.2f} | {b['p99_ms']:.2f} "
            f"| {b['errors_total']} "
        )
        if e is None:
            out.append(left + "| - | - | - | - | - |")
            continue
        ratio = b["rps"] / e["rps"] if e["rps"] else 0.0
        out.append(
            left
            + f"| {e['rps']:.0f} | {e['p50_ms']:.2f} | {e['p99_ms']:.2f} | {e['errors_total']} "
            f"| {ratio:.2f} ({ratio * 100:.0f}%) |"
        )
    return "\n".join(out)


def git_revision() -> str:
    try:
        rev = subprocess.run(
            ["git", "-C", str(ROOT), "describe", "--always", "--dirty"],
            capture_output=True, text=True, timeout=10,
        ).stdout.strip()  # fmt: skip
    except (OSError, subprocess.TimeoutExpired):
        rev = ""
    return rev or "unknown"


def save(record: dict[str, Any]) -> Path:
    RESULTS.mkdir(exist_ok=True)
    path = RESULTS / f"webhook-{time.strftime('%Y%m%d-%H%M%S')}.json"
    path.write_text(json.dumps(record, indent=2) + "\n")
    return path


def report(record: dict[str, Any]) -> None:
    p = record["bastion"]["persisted"]
    print()
    print(
        f"duration {record['duration_s']:g}s per level, load generator {record['loadgen']}, "
        f"{'server on CPU 0, load on CPU 1' if record['pinned'] else 'unpinned'}, "
        f"{record['cpus']} CPUs, {record['git']}"
    )
    print(table(record["bastion"]["rows"], record.get("echo", {}).get("rows", [])))
    print()
    print(
        f"Bastion persisted: {p['executions_succeeded']} executions succeeded "
        f"({p['succeeded_with_sealed_input_and_output']} with sealed input and output; "
        f"all states {p['executions_by_state']}); {p['responses_200']} responses 200 seen by the "
        f"clients (in-flight requests cut at the end of a run are not counted there)"
    )
    print(f"  step runs {p['step_runs_by_state']}, audit events {p['audit_events']}")
    print(f"  audit chain: {p['audit_verify']}")


# -- main -----------------------------------------------------------------------


def _raise_timeout(_sig: int, _frame: Any) -> None:
    raise HardTimeout("the benchmark exceeded its time budget")


def _raise_interrupt(_sig: int, _frame: Any) -> None:
    raise KeyboardInterrupt


def run(
    args: argparse.Namespace, tools: Tools, work: Path, servers: list[Server]
) -> dict[str, Any]:
    record: dict[str, Any] = {
        "date": time.strftime("%Y-%m-%dT%H:%M:%S%z"), "git": git_revision(),
        "cpus": os.cpu_count(), "pinned": tools.pin, "loadgen": tools.loadgen,
        "duration_s": args.duration, "warmup_s": args.warmup, "concurrency": args.levels,
        "python": platform.python_version(), "machine": platform.machine(),
        "load_average": os.getloadavg(),
    }  # fmt: skip
    print(f"bastion ({tools.loadgen}, {'pinned' if tools.pin else 'unpinned'}):", flush=True)
    record["bastion"] = run_bastion(work, tools, args, servers)
    if not args.no_baseline:
        print("echo baseline (Starlette, uvicorn uvloop+httptools, 1 worker):", flush=True)
        record["echo"] = run_echo(work, tools, args, servers)
    return record


def main(argv: list[str] | None = None) -> int:
    args = parse_args(argv)
    tools = pick_tools(args)
    runs = len(args.levels) * (2 - args.no_baseline)
    budget = int(runs * (args.duration + 45) + 2 * (args.warmup + 45) + 2 * READY_TIMEOUT + 420)
    signal.signal(signal.SIGALRM, _raise_timeout)
    signal.signal(signal.SIGTERM, _raise_interrupt)
    signal.alarm(budget)
    work = Path(tempfile.mkdtemp(prefix="bastion-bench-"))
    servers: list[Server] = []
    try:
        record = run(args, tools, work, servers)
        report(record)
        print(f"\nsaved {save(record).relative_to(ROOT)}")
        return 0
    except KeyboardInterrupt:
        print("interrupted; stopping the servers", file=sys.stderr)
        return 130
    except (RuntimeError, HardTimeout, subprocess.TimeoutExpired) as exc:
        print(f"benchmark failed: {exc}", file=sys.stderr)
        return 1
    finally:
        signal.alarm(0)
        for server in servers:
            stop_server(server)
        if args.keep_data:
            print(f"data kept in {work}", file=sys.stderr)
        else:
            shutil.rmtree(work, ignore_errors=True)


if __name__ == "__main__":
    sys.exit(main())
