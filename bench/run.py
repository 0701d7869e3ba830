"""``make bench``: this provider, served by ``make serve`` (one worker pinned to one core), and
node-oidc-provider (the peer, ``bench/peer.js``, pinned to the same core) measured in the same
run by one load generator (``bench/load.js``, undici, pinned to the other core).

Scenarios: discovery, JWKS, the password login flow (authorize → login page → POST → code →
token, a random user among many, the login throttle lifted through its setting), refresh with
rotation, userinfo, introspection. For each: ops/s, ops per server CPU-second (from
/proc/<pid>/stat), p50/p95/p99, errors; the median of ``--repeat`` runs, provider and peer
interleaved; and the ratio provider/peer of ops per CPU-second. Loopback only, bounded in time.

Usage: ``make bench`` or ``make bench BENCH_ARGS="--engine postgresql --repeat 5"``. PostgreSQL
needs ``--database-url`` (or ``IDP_BENCH_POSTGRES_URL``): a scratch database, emptied first.
"""

from __future__ import annotations

import argparse
import json
import os
import shutil
import signal
import statistics
import subprocess
import sys
import tempfile
import time
import urllib.request
from dataclasses import dataclass
from datetime import UTC
from datetime import datetime
from pathlib import Path
from typing import Any

ROOT = Path(__file__).resolve().parent.parent
BENCH = ROOT / "bench"
BIN = Path(sys.executable).parent
PASSWORD = "Zonnepaneel-2026!"
SECRET = "bench-customer-space-secret"
SCENARIOS = ("discovery", "jwks", "login", "refresh", "userinfo", "introspection")
GOALS = {"discovery": 1.0, "jwks": 1.0, "login": 0.8, "refresh": 0.5, "userinfo": 0.5}


@dataclass
class Served:
    """A server under test: its name, base URL and process group."""

    name: str
    url: str
    process: subprocess.Popen[bytes]

    def pids(self) -> list[int]:
        """The process and all its descendants (server workers included)."""
        return [self.process.pid, *descendants(self.process.pid)]

    def stop(self) -> None:
        """Stop the process group this run started (and only it)."""
        if self.process.poll() is None:
            os.killpg(self.process.pid, signal.SIGTERM)
            try:
                self.process.wait(15)
            except subprocess.TimeoutExpired:
                os.killpg(self.process.pid, signal.SIGKILL)
                self.process.wait(5)


def descendants(pid: int) -> list[int]:
    """Every process whose ancestry reaches ``pid``."""
    parents: dict[int, int] = {}
    for entry in Path("/proc").iterdir():
        if entry.name.isdigit():
            try:
                stat = (entry / "stat").read_text()
            except OSError:
                continue
            parents[int(entry.name)] = int(stat[stat.rindex(")") + 2 :].split()[1])
    found: list[int] = []
    frontier = [pid]
    while frontier:
        parent = frontier.pop()
        children = [p for p, pp in parents.items() if pp == parent]
        found += children
        frontier += children
    return found


def rss_mib(pid: int) -> float:
    """Resident set size of one process, MiB."""
    for line in Path(f"/proc/{pid}/status").read_text().splitlines():
        if line.startswith("VmRSS:"):
            return int(line.split()[1]) / 1024
    return 0.0


def cmdline(pid: int) -> str:
    """The command line of a process, shortened."""
    raw = Path(f"/proc/{pid}/cmdline").read_bytes().replace(b"\0", b" ").decode().strip()
    return raw if len(raw) < 70 else raw[:67] + "..."


def pinned(core: int) -> list[str]:
    """``taskset -c core`` when the machine has two cores and taskset, else nothing."""
    if shutil.which("taskset") and (os.cpu_count() or 1) >= 2:
        return ["taskset", "-c", str(core)]
    return []


def wait_until_up(url: str, process: subprocess.Popen[bytes], log: Path) -> None:
    """Poll the discovery document until it answers; stop with the log if the server died."""
    for _ in range(300):
        if process.poll() is not None:
            raise SystemExit(f"server exited:\n{log.read_text()[-3000:]}")
        try:
            with urllib.request.urlopen(f"{url}/.well-known/openid-configuration", timeout=1):
                return
        except OSError:
            time.sleep(0.1)
    raise SystemExit(f"server did not answer at {url}:\n{log.read_text()[-3000:]}")


def provider_env(tmp: Path, port: int, database_url: str) -> dict[str, str]:
    """The provider's settings: development mode (plain-HTTP loopback issuer), throttle lifted."""
    keep = {k: v for k, v in os.environ.items() if not k.startswith("IDP_")}
    return {
        **keep,
        "IDP_ENV": "development",
        "IDP_ISSUER": f"http://127.0.0.1:{port}",
        "IDP_DATABASE_URL": database_url,
        "IDP_KEYS_DIR": str(tmp / "keys"),
        "IDP_MAIL_OUTBOX_DIR": str(tmp / "mail"),
        "IDP_CLIENT_SECRET__CUSTOMER_SPACE": SECRET,
        "IDP_LOGIN_RATE_LIMIT": "1000000/minute",
        "IDP_LOG_LEVEL": "WARNING",
    }


def start_provider(tmp: Path, port: int, database_url: str, users: int, reset: bool) -> Served:
    """Prepare the database (migrations, keys, clients, N users) and run ``make serve``."""
    env = provider_env(tmp, port, database_url)
    flask = [str(BIN / "flask"), "--app", "wsgi"]
    steps = [[str(BIN / "python"), "-m", "bench.seed", "reset"]] if reset else []
    steps += [
        flask + ["db", "upgrade"],
        flask + ["idp", "keys", "generate"],
        flask + ["idp", "clients", "sync"],
        [str(BIN / "python"), "-m", "bench.seed", "users", str(users), PASSWORD],
    ]
    for step in steps:
        subprocess.run(step, cwd=ROOT, env=env, check=True, capture_output=True)
    log = tmp / "provider.log"
    command = [
        *pinned(0),
        "make",
        "--no-print-directory",
        "serve",
        "WORKERS=1",
        f"BIND=127.0.0.1:{port}",
        f"VENV={BIN.parent}",
    ]
    with log.open("wb") as out:
        process = subprocess.Popen(
            command, cwd=ROOT, env=env, stdout=out, stderr=out, start_new_session=True
        )
    served = Served("provider", f"http://127.0.0.1:{port}", process)
    wait_until_up(served.url, process, log)
    return served


def start_peer(tmp: Path, port: int, users: int) -> Served:
    """node-oidc-provider on the provider's core."""
    log = tmp / "peer.log"
    command = [*pinned(0), "node", str(BENCH / "peer.js"), "--port", str(port)]
    command += ["--users", str(users), "--password", PASSWORD, "--secret", SECRET]
    with log.open("wb") as out:
        process = subprocess.Popen(
            command, cwd=BENCH, stdout=out, stderr=out, start_new_session=True
        )
    served = Served("peer", f"http://127.0.0.1:{port}", process)
    wait_until_up(served.url, process, log)
    return served


def measure(target: Served, scenario: str, args: argparse.Namespace) -> dict[str, Any]:
    """One timed run of one scenario against one server (the generator on core 1)."""
    command = [*pinned(1), "node", str(BENCH / "load.js"), "--issuer", target.url]
    command += ["--scenario", scenario, "--seconds", str(args.seconds)]
    command += ["--concurrency", str(args.concurrency), "--users", str(args.users)]
    command += ["--password", PASSWORD, "--secret", SECRET]
    command += ["--pids", ",".join(map(str, target.pids()))]
    done = subprocess.run(command, cwd=BENCH, capture_output=True, text=True, timeout=300)
    if done.returncode != 0:
        raise SystemExit(f"load generator failed on {target.name} {scenario}:\n{done.stderr}")
    result: dict[str, Any] = json.loads(done.stdout.strip().splitlines()[-1])
    result["load_average"] = os.getloadavg()[0]
    return result


def median_of(runs: list[dict[str, Any]]) -> dict[str, Any]:
    """The median of every figure over repeated runs; errors are summed."""
    keys = ("ops_per_second", "ops_per_cpu_second", "p50_ms", "p95_ms", "p99_ms")
    merged: dict[str, Any] = {k: statistics.median(r[k] or 0 for r in runs) for k in keys}
    merged["errors"] = sum(r["errors"] for r in runs)
    merged["ops"] = sum(r["ops"] for r in runs)
    merged["first_error"] = next((r["first_error"] for r in runs if r["first_error"]), None)
    return merged


def table(results: dict[str, dict[str, dict[str, Any]]], with_peer: bool) -> str:
    """The Markdown table of medians (and ratios when the peer ran)."""
    head = "| scenario | server | ops/s | ops/CPU-s | p50 ms | p95 ms | p99 ms | errors |"
    lines = [head, "|---|---|---|---|---|---|---|---|"]
    for scenario, by_server in results.items():
        for name, m in by_server.items():
            lines.append(
                f"| {scenario} | {name} | {m['ops_per_second']:.1f} | "
                f"{m['ops_per_cpu_second']:.1f} | {m['p50_ms']:.2f} | {m['p95_ms']:.2f} | "
                f"{m['p99_ms']:.2f} | {m['errors']} |"
            )
    if with_peer:
        lines += ["", "| scenario | ratio ops/CPU-s | ratio ops/s | goal |", "|---|---|---|---|"]
        for scenario, by_server in results.items():
            ours, peer = by_server["provider"], by_server["peer"]
            cpu = ours["ops_per_cpu_second"] / peer["ops_per_cpu_second"]
            wall = ours["ops_per_second"] / peer["ops_per_second"]
            goal = GOALS.get(scenario)
            lines.append(
                f"| {scenario} | {cpu:.2f} | {wall:.2f} | {f'>= {goal}' if goal else '-'} |"
            )
    return "\n".join(lines)


def parse_args() -> argparse.Namespace:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--engine", choices=("sqlite", "postgresql"), default="sqlite")
    parser.add_argument(
        "--database-url",
        default=os.environ.get("IDP_BENCH_POSTGRES_URL", ""),
        help="PostgreSQL: a scratch database (its tables are dropped first)",
    )
    parser.add_argument("--seconds", type=float, default=4.0, help="per timed run")
    parser.add_argument("--repeat", type=int, default=3, help="runs per scenario and server")
    parser.add_argument("--concurrency", type=int, default=16)
    parser.add_argument("--users", type=int, default=200, help="accounts to log in as")
    parser.add_argument("--scenarios", default=",".join(SCENARIOS))
    parser.add_argument("--port", type=int, default=5140)
    parser.add_argument("--peer-port", type=int, default=5150)
    parser.add_argument("--no-peer", action="store_true", help="measure this provider only")
    parser.add_argument("--out", default=str(ROOT / "bench-results"))
    return parser.parse_args()


def main() -> None:
    args = parse_args()
    scenarios = [s for s in args.scenarios.split(",") if s]
    unknown = set(scenarios) - set(SCENARIOS)
    if unknown:
        raise SystemExit(f"unknown scenarios: {', '.join(sorted(unknown))}")
    if args.engine == "postgresql" and not args.database_url.startswith("postgresql"):
        raise SystemExit("--engine postgresql needs --database-url (or IDP_BENCH_POSTGRES_URL)")
    load_before = os.getloadavg()
    with tempfile.TemporaryDirectory(prefix="idp-bench-") as scratch:
        tmp = Path(scratch)
        url = args.database_url if args.engine == "postgresql" else f"sqlite:///{tmp / 'b.db'}"
        servers = [start_provider(tmp, args.port, url, args.users, args.engine == "postgresql")]
        try:
            if not args.no_peer:
                servers.append(start_peer(tmp, args.peer_port, args.users))
            runs: dict[str, dict[str, list[dict[str, Any]]]] = {
                s: {srv.name: [] for srv in servers} for s in scenarios
            }
            for round_ in range(args.repeat):
                order = servers if round_ % 2 == 0 else servers[::-1]
                for scenario in scenarios:
                    for server in order:
                        result = measure(server, scenario, args)
                        runs[scenario][server.name].append(result)
                        print(
                            f"  round {round_ + 1} {scenario:13} {server.name:8} "
                            f"{result['ops_per_second']:9.1f} ops/s "
                            f"{result['ops_per_cpu_second'] or 0:9.1f} ops/CPU-s "
                            f"errors {result['errors']}  load {result['load_average']:.2f}",
                            flush=True,
                        )
            memory = {
                srv.name: [(pid, cmdline(pid), rss_mib(pid)) for pid in srv.pids()]
                for srv in servers
            }
        finally:
            for server in servers:
                server.stop()
    results = {s: {n: median_of(r) for n, r in by.items()} for s, by in runs.items()}
    report = render(args, results, memory, load_before, os.getloadavg())
    print("\n" + report)
    out = Path(args.out)
    out.mkdir(exist_ok=True)
    stamp = datetime.now(UTC).strftime("%Y%m%dT%H%M%SZ")
    (out / f"{stamp}-{args.engine}.md").write_text(report + "\n")
    (out / f"{stamp}-{args.engine}.json").write_text(
        json.dumps({"args": vars(args), "runs": runs, "medians": results}, indent=1)
    )
    errors = sum(m["errors"] for by in results.values() for m in by.values())
    if errors:
        first = next(
            m["first_error"] for by in results.values() for m in by.values() if m["errors"]
        )
        raise SystemExit(f"{errors} errors; first: {first}")


def render(
    args: argparse.Namespace,
    results: dict[str, dict[str, dict[str, Any]]],
    memory: dict[str, list[tuple[int, str, float]]],
    load_before: tuple[float, float, float],
    load_after: tuple[float, float, float],
) -> str:
    """The report: settings, the table of medians, ratios and resident memory."""
    lines = [
        f"engine {args.engine}; {args.repeat} runs of {args.seconds:g} s per scenario and "
        f"server (medians); concurrency {args.concurrency}; {args.users} users; "
        f"load average {load_before[0]:.2f} before, {load_after[0]:.2f} after",
        "",
        table(results, with_peer=not args.no_peer),
        "",
        "Resident memory after the whole run (MiB):",
    ]
    for name, processes in memory.items():
        for pid, command, rss in processes:
            if rss:
                lines.append(f"- {name} pid {pid}: {rss:.0f} MiB  ({command})")
    return "\n".join(lines)


if __name__ == "__main__":
    main()
