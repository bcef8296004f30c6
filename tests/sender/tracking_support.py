"""Shared pieces of the delivery-tracking tests: sends through each provider's
simulator into a journal, and ``voxpipe serve``'s app (media and hooks) under a real uvicorn."""

from __future__ import annotations

import os
import re
import signal
import subprocess
import sys
from dataclasses import dataclass
from pathlib import Path

import httpx
from sqlalchemy import text

from tests.appserver import AppServer
from tests.cli import REPO
from voxpipe.pipeline.markup import parse
from voxpipe.pipeline.retry import RetryPolicy
from voxpipe.sender.dispatch import SendSettings, http_client, send
from voxpipe.sender.hooks import hook_url
from voxpipe.sender.journal import Journal, RecipientRow
from voxpipe.sender.message import Message
from voxpipe.sender.providers import Mode, Payload, Provider
from voxpipe.sender.providers.alphasms import AlphaSms
from voxpipe.sender.providers.messagebird import MessageBird
from voxpipe.sender.providers.ninebits import NineBits
from voxpipe.sender.providers.wawp import Wawp
from voxpipe.sender.recipients import Recipient
from voxpipe.serve import create_app

FAST = SendSettings(retry=RetryPolicy(attempts=3, base_s=0.01, max_s=0.1), timeout_s=5)
KEYS = {"9bits": {"token": "tok-9b"}, "messagebird": {"key": "mb-Secret+Key"},
        "wawp": {"instance_id": "INST1", "access_token": "wawp-token"}, "alphasms": {"key": "alpha-Secret/Key"}}  # fmt: skip
MEDIA_URL = "http://127.0.0.1:9/voice"  # the simulators are told not to fetch it; no suffix: any provider takes it


def provider(cls: type[Provider], base_url: str, **options: str) -> Provider:
    return cls(base_url=base_url, credentials=KEYS[cls.name], options=options)


def nine(base_url: str) -> NineBits:
    return provider(NineBits, base_url)  # type: ignore[return-value]


def bird(base_url: str, **options: str) -> MessageBird:
    return provider(MessageBird, base_url, **options)  # type: ignore[return-value]


def wawp(base_url: str) -> Wawp:
    return provider(Wawp, base_url)  # type: ignore[return-value]


def alpha(base_url: str, **options: str) -> AlphaSms:
    return provider(AlphaSms, base_url, **options)  # type: ignore[return-value]


def send_to(
    p: Provider, recipients: list[str], journal: Journal, campaign: str = "camp", *, wav: Path | None = None
) -> dict[str, RecipientRow]:
    """Send a short message through ``p`` (TTS, media URL or upload as it takes) and return the rows by address."""
    people = [Recipient(r) for r in recipients]
    if wav is not None:
        message, payload = Message(audio=str(wav)), Payload(Mode.MEDIA, media_path=wav, mime="audio/wav")
    elif Mode.TTS in p.modes:
        message, payload = Message(text="Hello there."), Payload(Mode.TTS, script=parse("Hello there."))
    else:
        message, payload = Message(media_url=MEDIA_URL), Payload(Mode.MEDIA, media_url=MEDIA_URL)
    with http_client(FAST) as client:
        events = list(send(p, message, payload, people, [], journal, client, FAST, campaign))
    rows = {row.address: row for row in events[-1].rows}
    assert {r.status for r in rows.values()} == {"accepted"}, rows
    return rows


def rows(journal: Journal, campaign: str = "camp") -> dict[str, RecipientRow]:
    return {r.address: r for r in journal.rows(campaign)}


def statuses(journal: Journal, campaign: str = "camp") -> dict[str, str]:
    return {a: r.status for a, r in rows(journal, campaign).items()}


def events(journal: Journal) -> list[tuple[str | None, str | None, str, str]]:
    """Every recorded event (matched or not), as the journal's table holds it."""
    with journal.transaction() as db:
        rows = db.execute(text("SELECT campaign, address, source, payload FROM events ORDER BY id")).all()
    return [tuple(r) for r in rows]


@dataclass
class Hooks:
    """The app serving ``root`` and receiving callbacks into ``journal``, under uvicorn on a free port."""

    server: AppServer
    journal: Journal
    root: Path

    @property
    def base(self) -> str:
        return self.server.url

    def url(self, provider: str) -> str:
        return hook_url(self.base, provider, self.journal.hook_secret())

    def close(self) -> None:
        self.server.close()
        self.journal.close()


def start_hooks(root: Path, journal_at: str | Path) -> Hooks:
    root.mkdir(parents=True, exist_ok=True)
    journal = Journal(journal_at)
    server = AppServer(create_app(root, journal))
    server.start()
    return Hooks(server, journal, root)


def start_serve(media: Path, *args: str, cwd: Path = REPO) -> tuple[subprocess.Popen[str], str]:
    """The real ``voxpipe serve MEDIA --port 0 ARGS`` in a subprocess; (process, its base URL)."""
    env = {k: v for k, v in os.environ.items() if k != "VOXPIPE_JOURNAL"}
    proc = subprocess.Popen([sys.executable, "-m", "voxpipe", "serve", str(media), "--port", "0", *args],
                            cwd=cwd, env=env, stderr=subprocess.PIPE, text=True)  # fmt: skip
    assert proc.stderr is not None
    line = proc.stderr.readline()
    found = re.search(r" at (http://127\.0\.0\.1:\d+)", line)
    assert found, line
    return proc, found.group(1)


def stop_serve(proc: subprocess.Popen[str]) -> str:
    """Stop it as Ctrl-C would; what it logged."""
    proc.send_signal(signal.SIGINT)
    proc.wait(10)
    assert proc.stderr is not None
    return proc.stderr.read()


def get(url: str, **kw: object) -> httpx.Response:
    return httpx.get(url, timeout=5, **kw)  # type: ignore[arg-type]


def post(url: str, **kw: object) -> httpx.Response:
    return httpx.post(url, timeout=5, **kw)  # type: ignore[arg-type]
