"""A third-party provider, installed as a distribution of its own, works with no change to voxpipe.

The distribution is a package plus a ``*.dist-info`` with ``entry_points.txt``
on ``sys.path`` (what pip leaves behind), registering under
``voxpipe.providers``. It is listed by ``voxpipe providers`` and sends to a
real HTTP server on 127.0.0.1.
"""

from __future__ import annotations

import json
import os
import subprocess
import sys
from pathlib import Path

import pytest

from tests.cli import REPO
from tests.httpd import Answer, ScriptedServer

PLUGIN = '''
"""Acme Voice: speaks a text to up to 10 numbers per request (a made-up provider)."""

from typing import ClassVar

import httpx

from voxpipe.sender.dialects import plain_text
from voxpipe.sender.providers import Chunk, Credential, Mode, Outcome, Payload, Provider
from voxpipe.sender.providers.wire import json_object
from voxpipe.sender.statuses import Status


class AcmeVoice(Provider):
    name: ClassVar[str] = "acme"
    title: ClassVar[str] = "Acme Voice (a third-party plugin)"
    modes = frozenset({Mode.TTS})
    max_recipients: ClassVar[int] = 10
    default_base_url: ClassVar[str] = "https://api.acme.example"
    env_prefix: ClassVar[str] = "ACME"
    credentials = (Credential("token", "ACME_VOICE_TOKEN"),)

    def build(self, chunk: Chunk, payload: Payload) -> httpx.Request:
        text = plain_text(payload.script) if payload.script else ""
        return httpx.Request(
            "POST", f"{self.base_url}/calls", headers={"Authorization": f"Bearer {self.secrets['token']}"},
            json={"to": [r.digits for r in chunk.recipients], "say": text},
        )

    def parse(self, chunk: Chunk, response: httpx.Response) -> dict:
        body = json_object(response)
        if response.is_success and body.get("id"):
            return {r: Outcome(Status.ACCEPTED, ref=str(body["id"])) for r in chunk.recipients}
        return self.all_rejected(chunk, self.http_error(response))
'''


@pytest.fixture
def plugin_path(tmp_path: Path) -> Path:
    site = tmp_path / "site"
    (site / "acme_voice").mkdir(parents=True)
    (site / "acme_voice" / "__init__.py").write_text(PLUGIN)
    info = site / "acme_voice-1.0.dist-info"
    info.mkdir()
    (info / "METADATA").write_text("Metadata-Version: 2.1\nName: acme-voice\nVersion: 1.0\n")
    (info / "entry_points.txt").write_text("[voxpipe.providers]\nacme = acme_voice:AcmeVoice\n")
    return site


def _voxpipe(site: Path, *args: str, cwd: Path, **env: str) -> subprocess.CompletedProcess[str]:
    clean = {k: v for k, v in os.environ.items() if not k.startswith(("VOXPIPE_", "ACME_"))}
    clean["PYTHONPATH"] = os.pathsep.join([str(site), str(REPO)])
    return subprocess.run(
        [sys.executable, "-m", "voxpipe", *args], capture_output=True, text=True, cwd=cwd, env={**clean, **env},
        timeout=120,
    )  # fmt: skip


def test_a_plugin_provider_is_listed_and_sends(tmp_path: Path, plugin_path: Path) -> None:
    listed = _voxpipe(plugin_path, "providers", "--json", cwd=tmp_path)
    assert listed.returncode == 0, listed.stderr
    acme = {d["name"]: d for d in json.loads(listed.stdout)}["acme"]
    assert acme["title"] == "Acme Voice (a third-party plugin)" and acme["credentials"] == ["ACME_VOICE_TOKEN"]

    with ScriptedServer(lambda seen: Answer(200, b'{"id": "call-1"}', {"Content-Type": "application/json"})) as api:
        sent = _voxpipe(
            plugin_path, "send", "-P", "acme", "--api-url", api.url, "--to", "+447911123456", "--to", "+447911123457",
            "--text", 'Your code is <say-as interpret-as="digits">42</say-as>.', "--json", cwd=tmp_path,
            ACME_VOICE_TOKEN="acme-secret",
        )  # fmt: skip
        assert sent.returncode == 0, sent.stderr
        [request] = api.seen
    assert request.path == "/calls" and request.headers["Authorization"] == "Bearer acme-secret"
    assert json.loads(request.body) == {"to": ["447911123456", "447911123457"], "say": "Your code is four, two."}
    report = json.loads(sent.stdout)
    assert report["counts"] == {"accepted": 2} and {r["ref"] for r in report["recipients"]} == {"call-1"}
    assert "acme-secret" not in sent.stdout + sent.stderr


def test_a_broken_plugin_is_left_out_with_a_warning(tmp_path: Path, plugin_path: Path) -> None:
    (plugin_path / "acme_voice" / "__init__.py").write_text("raise ImportError('acme is broken')\n")
    listed = _voxpipe(plugin_path, "providers", "--json", cwd=tmp_path)
    assert listed.returncode == 0
    assert [d["name"] for d in json.loads(listed.stdout)] == ["9bits", "alphasms", "messagebird", "wawp"]
    assert "provider acme (acme_voice:AcmeVoice) cannot be loaded: ImportError: acme is broken" in listed.stderr
