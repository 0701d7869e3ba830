"""Time ``flask --app wsgi idp customers import`` on a generated billing file, as operators run it.

Phases, each a separate process (wall time and peak resident size of that process): the first
import into an empty database, the same file again (unchanged: nothing to write), a delta file
(``--delta-percent`` of the customers changed), and the full file with ``--full``. The times are
extrapolated linearly to ``--extrapolate`` customers. Not a test: numbers go in
docs/performance.md.

Usage: ``make bench-import`` (SQLite in a temporary directory), or
``python -m bench.import_bench --customers 100000 --database-url postgresql+psycopg://…``
(the database must be empty, or pass ``--reset`` to drop the provider's tables in it first).
"""

from __future__ import annotations

import argparse
import os
import subprocess
import sys
import tempfile
import time
from dataclasses import dataclass
from pathlib import Path

from sqlalchemy import create_engine
from sqlalchemy import inspect

from idp.models import Base

ROOT = Path(__file__).resolve().parent.parent
FLASK = [sys.executable, "-m", "flask", "--app", "wsgi"]
CHILD = [sys.executable, "-m", "bench.import_bench", "--child"]
HEADER = (
    "customer_number,activation_code,holder_name,language,contract_id,energy,"
    "contract_status,start_date,end_date"
)
LANGUAGES = ("fr", "nl", "en", "de")
STARTUP = "start-up (header-only file)"


@dataclass(frozen=True)
class Phase:
    """One timed command: its process's wall time, the import's own time, peak RSS."""

    name: str
    lines: int
    seconds: float
    import_seconds: float
    peak_rss_mib: float
    output: str


def write_file(path: Path, customers: int, *, changed_every: int = 0, only_changed: bool = False):
    """A billing file: every customer an electricity contract, every third also gas.

    With ``changed_every`` = n, every n-th customer gets a new holder name and a new code; with
    ``only_changed`` only those customers are written (a delta file). Returns the line count.
    """
    lines = 0
    with path.open("w", encoding="utf-8") as f:
        f.write(HEADER + "\n")
        for i in range(customers):
            changed = changed_every and i % changed_every == 0
            if only_changed and not changed:
                continue
            number = 2_000_000_000 + 100 + i
            code = f"{(7919 * i + (13 if changed else 0)) % 10**10:010d}"
            holder = f"Holder {i}{' (moved)' if changed else ''}"
            language = LANGUAGES[i % 4]
            f.write(
                f"{number},{code},{holder},{language},EL-{number},electricity,active,2024-01-01,\n"
            )
            lines += 1
            if i % 3 == 0:
                f.write(f"{number},{code},{holder},{language},GA-{number},gas,active,2025-03-01,\n")
                lines += 1
    return lines


def run(name: str, args: list[str], env: dict[str, str], lines: int) -> Phase:
    """Run ``idp customers import <args>`` in a new process: wall time, peak RSS of that
    process alone, and the command's own time (the process prints it last)."""
    start = time.perf_counter()
    process = subprocess.Popen(
        CHILD + args, cwd=ROOT, env=env, stdout=subprocess.PIPE, stderr=subprocess.STDOUT
    )
    assert process.stdout is not None
    output = process.stdout.read().decode().strip().splitlines()
    _pid, status, usage = os.wait4(process.pid, 0)
    seconds = time.perf_counter() - start
    if os.waitstatus_to_exitcode(status) != 0:
        raise SystemExit(f"{name} failed:\n" + "\n".join(output))
    command_seconds = float(output[-1])
    return Phase(name, lines, seconds, command_seconds, usage.ru_maxrss / 1024, output[-2])


def child(args: list[str]) -> None:
    """Build the provider from the environment and time the CLI command, as ``flask`` runs it."""
    from wsgi import app

    start = time.perf_counter()
    result = app.test_cli_runner().invoke(args=["idp", "customers", "import", *args])
    elapsed = time.perf_counter() - start
    print(result.output.strip())
    print(f"{elapsed:.3f}")
    raise SystemExit(result.exit_code)


def prepare_database(url: str, reset: bool) -> None:
    """Refuse a database that already holds the provider's tables, unless asked to drop them."""
    engine = create_engine(url)
    try:
        present = set(inspect(engine).get_table_names()) & set(Base.metadata.tables)
        if present and not reset:
            raise SystemExit(f"{url} is not empty ({len(present)} tables): pass --reset")
        Base.metadata.drop_all(engine)
        with engine.begin() as conn:
            conn.exec_driver_sql("DROP TABLE IF EXISTS alembic_version")
    finally:
        engine.dispose()


def main(argv: list[str] | None = None) -> None:
    argv = sys.argv[1:] if argv is None else argv
    if argv[:1] == ["--child"]:
        child(argv[1:])
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--customers", type=int, default=100_000)
    parser.add_argument("--database-url", default="", help="default: SQLite in a temp dir")
    parser.add_argument("--reset", action="store_true", help="drop the provider's tables first")
    parser.add_argument("--delta-percent", type=float, default=1.0)
    parser.add_argument("--extrapolate", type=int, default=1_000_000)
    options = parser.parse_args(argv)
    with tempfile.TemporaryDirectory(prefix="idp-bench-import-") as tmp:
        report(measure(Path(tmp), options), options)


def measure(tmp: Path, options: argparse.Namespace) -> list[Phase]:
    """Generate the files, set up an empty database and keys, run the phases."""
    url = options.database_url or f"sqlite:///{tmp / 'idp.sqlite3'}"
    prepare_database(url, options.reset)
    env = {
        **{k: v for k, v in os.environ.items() if not k.startswith("IDP_")},
        "IDP_ENV": "development",
        "IDP_DATABASE_URL": url,
        "IDP_KEYS_DIR": str(tmp / "keys"),
    }
    for command in (["db", "upgrade"], ["idp", "keys", "generate"]):
        subprocess.run(FLASK + command, cwd=ROOT, env=env, check=True, capture_output=True)
    empty, full, delta = tmp / "empty.csv", tmp / "full.csv", tmp / "delta.csv"
    every = max(1, round(100 / options.delta_percent))
    write_file(empty, 0)
    lines = write_file(full, options.customers)
    phases = [
        run(STARTUP, [str(empty)], env, 0),
        run("first import", [str(full)], env, lines),
        run("unchanged re-import", [str(full)], env, lines),
    ]
    delta_lines = write_file(delta, options.customers, changed_every=every, only_changed=True)
    phases.append(
        run(
            f"delta ({options.delta_percent:g}% changed)",
            [str(delta)],
            env,
            delta_lines,
        )
    )
    phases.append(run("unchanged --full", ["--full", str(full)], env, lines))
    return phases


def report(phases: list[Phase], options: argparse.Namespace) -> None:
    """Print each phase: process wall time, the command's own time, its extrapolation."""
    factor = options.extrapolate / options.customers
    database = options.database_url or "SQLite (temporary file)"
    print(f"customers import: {options.customers} customers, {database}")
    print(
        f"{'phase':28} {'lines':>9} {'process s':>9} {'import s':>9} {'lines/s':>8} "
        f"{'peak RSS':>9}  import extrapolated to {options.extrapolate} customers"
    )
    for p in phases:
        rate = f"{p.lines / max(p.import_seconds, 1e-3):8.0f}" if p.lines else f"{'':8}"
        scaled = f"~{p.import_seconds * factor / 60:.1f} min" if p.lines else ""
        print(
            f"{p.name:28} {p.lines:9d} {p.seconds:9.1f} {p.import_seconds:9.1f} {rate} "
            f"{p.peak_rss_mib:5.0f} MiB  {scaled}"
        )
        print(f"{'':30}{p.output}")


if __name__ == "__main__":
    main()
