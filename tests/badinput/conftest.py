"""Running the bad-input table.

All selected command-line cases run once per session, several at a time
(each is its own ``voxpipe`` process, as a user would start it); each test
then checks its own case's record. A recording HTTP server stands in for
every provider: any request that reaches it, under the case's own path
prefix, means the case sent something.
"""

from __future__ import annotations

import os
import subprocess
import sys
from collections.abc import Iterator
from concurrent.futures import ThreadPoolExecutor
from dataclasses import dataclass
from pathlib import Path

import pytest
import sqlalchemy as sa

from tests.httpd import Answer, ScriptedServer
from tests.pgserver import LOCKED_ROLE, PgServer
from voxpipe.sender.journal_db import make_engine, parse_location
from voxpipe.sender.journal_schema import upgrade

from . import workspace
from .cases import CASES, Case

CREDENTIALS = {
    "VOXPIPE_9BITS_TOKEN": "sekret-9bits-token",
    "VOXPIPE_MESSAGEBIRD_KEY": "sekret-messagebird-key",
    "VOXPIPE_WAWP_INSTANCE_ID": "sekret-wawp-instance",
    "VOXPIPE_WAWP_ACCESS_TOKEN": "sekret-wawp-access",
    "VOXPIPE_ALPHASMS_KEY": "sekret-alphasms-key",
}
SECRETS = (*CREDENTIALS.values(), "hunter2")
_CASE_TIMEOUT_S = 30


@dataclass(frozen=True)
class Ran:
    case: Case
    returncode: int | None
    """None: still running after the timeout (killed)."""
    stdout: str
    stderr: str
    folder: Path


@pytest.fixture(scope="session")
def bad_workspace(tmp_path_factory: pytest.TempPathFactory) -> Path:
    return workspace.build(tmp_path_factory.mktemp("badinput") / "ws")


@pytest.fixture(scope="session")
def recorder() -> Iterator[ScriptedServer]:
    with ScriptedServer(
        lambda seen: Answer(500, b'{"error": "recorder"}', {"Content-Type": "application/json"})
    ) as server:
        yield server


def _fill(text: str, values: dict[str, str]) -> str:
    for key, value in values.items():
        text = text.replace("{" + key + "}", value)
    return text


def _databases(case: Case, folder: Path, pg: PgServer | None) -> dict[str, str]:
    """The journals a case names by placeholder, made for it alone."""
    used = " ".join(case.args)
    values: dict[str, str] = {}
    if "{sqlite-newer}" in used:
        folder.mkdir(parents=True, exist_ok=True)
        values["sqlite-newer"] = _newer(str(folder / "newer.db"))
    if pg is None:
        return values
    if "{pg-empty}" in used:
        values["pg-empty"] = pg.url(pg.new_database("empty"))
    if "{pg-newer}" in used:
        values["pg-newer"] = _newer(pg.url(pg.new_database("newer")))
    if "{pg-wrong-password}" in used:
        name = pg.new_database("locked")
        upgrade(pg.url(name))
        pg.execute(f"GRANT ALL ON SCHEMA public TO {LOCKED_ROLE}", name)
        values["pg-wrong-password"] = pg.url(name, LOCKED_ROLE, "hunter2")
    return values


def _newer(location: str) -> str:
    """A journal at ``location`` whose schema a newer voxpipe (revision 0099) wrote."""
    upgrade(location)
    engine = make_engine(parse_location(location))
    with engine.begin() as conn:
        conn.execute(sa.text("UPDATE voxpipe_schema_version SET version_num = '0099'"))
    engine.dispose()
    return location


def _run(case: Case, ws: Path, root: Path, api: str, made: dict[str, str]) -> Ran:
    folder = root / case.id
    folder.mkdir(parents=True, exist_ok=True)
    values = {
        "ws": str(ws),
        "out": str(folder / "out"),
        "case": str(folder),
        "api": f"{api}/{case.id}",
        "journal": str(folder / "j.db"),
        **made,
    }
    args = [_fill(a, values) for a in case.args]
    env = {k: v for k, v in os.environ.items() if not k.startswith("VOXPIPE_")}
    env.update(CREDENTIALS)
    env.update({k: _fill(v, values) for k, v in case.env.items()})
    try:
        proc = subprocess.run(
            [sys.executable, "-m", "voxpipe", *args],
            capture_output=True, text=True, errors="replace", env=env, cwd=folder, timeout=_CASE_TIMEOUT_S, stdin=subprocess.DEVNULL,
        )  # fmt: skip
    except subprocess.TimeoutExpired as exc:
        out = exc.stdout.decode("utf-8", "replace") if isinstance(exc.stdout, bytes) else exc.stdout or ""
        err = exc.stderr.decode("utf-8", "replace") if isinstance(exc.stderr, bytes) else exc.stderr or ""
        return Ran(case, None, out, err, folder)
    return Ran(case, proc.returncode, proc.stdout, proc.stderr, folder)


@pytest.fixture(scope="session")
def cli_runs(
    request: pytest.FixtureRequest,
    bad_workspace: Path,
    recorder: ScriptedServer,
    tmp_path_factory: pytest.TempPathFactory,
) -> dict[str, Ran]:
    """Every selected case, run once, several processes at a time."""
    wanted = set()
    for item in request.session.items:
        callspec = getattr(item, "callspec", None)
        if callspec is not None and isinstance(callspec.params.get("case"), Case):
            wanted.add(callspec.params["case"].id)
    cases = [c for c in CASES if c.id in wanted] or CASES
    root = tmp_path_factory.mktemp("badinput-runs")
    # A PostgreSQL server only when a selected case names one of its databases.
    pg = request.getfixturevalue("pg_server") if any("{pg-" in " ".join(c.args) for c in cases) else None
    # Made one at a time, before the runs: Alembic's migration context is global to the process.
    made = {c.id: _databases(c, root / c.id, pg) for c in cases}
    with ThreadPoolExecutor(max_workers=4) as pool:
        runs = list(pool.map(lambda c: _run(c, bad_workspace, root, recorder.url, made[c.id]), cases))
    return {r.case.id: r for r in runs}


@pytest.fixture(scope="session")
def requests_by_case(cli_runs: dict[str, Ran], recorder: ScriptedServer) -> dict[str, int]:
    counts: dict[str, int] = {}
    for seen in recorder.seen:
        case_id = seen.path.lstrip("/").split("/", 1)[0]
        counts[case_id] = counts.get(case_id, 0) + 1
    return counts


def _files(folder: Path) -> list[Path]:
    return [p for p in folder.rglob("*") if p.is_file()] if folder.exists() else []


def check(ran: Ran, sent: int) -> None:
    """The contract every bad input must meet (see cases.py)."""
    import re

    case = ran.case
    shown = f"\n--- stdout\n{ran.stdout[-2000:]}\n--- stderr\n{ran.stderr[-2000:]}"
    assert ran.returncode is not None, f"{case.id}: still running after {_CASE_TIMEOUT_S} s (blocked or runaway){shown}"
    assert ran.returncode != 0, f"{case.id}: exit status 0{shown}"
    for stream in (ran.stdout, ran.stderr):
        assert "Traceback" not in stream, f"{case.id}: traceback{shown}"
        for secret in SECRETS:
            assert secret not in stream, f"{case.id}: a secret was printed{shown}"
    lines = [line for line in ran.stderr.splitlines() if line.strip()]
    if case.batch:
        errors = [line for line in lines if not re.match(r"^\d+ of \d+ ", line)]
        assert len(errors) == 1, f"{case.id}: want one error line (plus the summary), got {len(errors)}{shown}"
    else:
        assert len(lines) == 1, f"{case.id}: want exactly one line on stderr, got {len(lines)}{shown}"
        errors = lines
    assert re.search(case.says, errors[0], re.IGNORECASE), (
        f"{case.id}: the error line does not name the input ({case.says!r}){shown}"
    )
    assert sent == 0, f"{case.id}: {sent} request(s) reached the provider"
    written = [] if case.writes else _files(ran.folder / "out")
    assert not written, f"{case.id}: wrote {[str(p.relative_to(ran.folder)) for p in written]}"
    parts = [p for p in _files(ran.folder) if ".part" in p.name]
    assert not parts, f"{case.id}: left half-written files {parts}"
