"""No credential in any output of a verbose send, for every provider (issue 8, item 8).

Each case runs the real ``voxpipe -vv send`` in a subprocess against the
provider's simulator: httpx, httpcore, urllib3 and botocore log at DEBUG, and
every byte of stdout and stderr is searched for each secret (also URL- and
form-encoded). Before the log filter, httpx's request line printed Wawp's
``instance_id`` and ``access_token`` from the query string.
"""

from __future__ import annotations

import json
from pathlib import Path
from urllib.parse import quote, quote_plus

import pytest

from tests.cli import voxpipe
from tests.simulators import AlphaSmsSim, MediaServer, MessageBirdSim, NineBitsSim, WawpSim, make_audio

# Long, distinct values, so that a hit is certainly a leak.
NINEBITS_TOKEN = "nb-token-5f1c0e7d9a2b4c68"
MB_KEY = "mb-live-key-8d3e2a91c7f04b56"
WAWP_INSTANCE = "wawp-instance-31e7c2d8a9"
WAWP_TOKEN = "wawp-access-token-b7c9e1d3f5a2"
ALPHA_KEY = "alpha-api-key-4e8a1c6b9d2f7053"


def _forms(secret: str) -> set[str]:
    return {secret, quote(secret, safe=""), quote_plus(secret)}


def assert_clean(proc, secrets: list[str]) -> None:
    output = proc.stdout + proc.stderr
    for secret in secrets:
        for form in _forms(secret):
            assert form not in output, f"{form!r} leaked:\n{output[-3000:]}"
    assert "Traceback" not in output


@pytest.fixture(scope="module")
def media():
    with MediaServer() as server:
        yield {
            "mp3": server.add("/hello.mp3", make_audio("mp3", 1.0), "audio/mpeg"),
            "ogg": server.add("/hello.ogg", make_audio("ogg_opus", 1.0), "audio/ogg; codecs=opus"),
        }


def hook_secret_url(journal: Path, provider: str) -> tuple[str, str]:
    """(callback URL, its secret) from `voxpipe hooks`, as a user would set it up."""
    proc = voxpipe("hooks", "--public-url", "http://127.0.0.1:9", "--journal", str(journal), "--json")
    assert proc.returncode == 0, proc.stderr
    url = next(h["url"] for h in json.loads(proc.stdout) if h["provider"] == provider)
    return url, url.rsplit("/", 1)[1]


def _send(sim_cls, sim_kwargs: dict, env: dict, args: list[str], journal: Path, dry: bool):
    with sim_cls(**sim_kwargs) as sim:
        proc = voxpipe(
            "-vv",
            "send",
            "--api-url",
            sim.base_url,
            *args,
            "--journal",
            str(journal),
            *(["--dry-run"] if dry else []),
            env=env,
        )
        accepted = sum(sim.accepted_counts().values())
    return proc, accepted


@pytest.mark.parametrize("dry", [False, True], ids=["send", "dry-run"])
def test_ninebits_verbose_send_shows_no_token(tmp_path: Path, media, dry: bool) -> None:
    proc, accepted = _send(
        NineBitsSim,
        {"token": NINEBITS_TOKEN},
        {"VOXPIPE_9BITS_TOKEN": NINEBITS_TOKEN},
        ["-P", "9bits", "--media-url", media["mp3"], "--to", "+2348020000001"],
        tmp_path / "j.db",
        dry,
    )
    assert proc.returncode == 0, proc.stderr
    assert accepted == (0 if dry else 1)
    if not dry:
        assert "HTTP Request: POST" in proc.stderr  # the verbose log really ran
    assert_clean(proc, [NINEBITS_TOKEN])


@pytest.mark.parametrize("dry", [False, True], ids=["send", "dry-run"])
def test_messagebird_verbose_send_shows_no_key_and_no_hook_secret(tmp_path: Path, dry: bool) -> None:
    journal = tmp_path / "j.db"
    report_url, hook_secret = hook_secret_url(journal, "messagebird")
    proc, accepted = _send(
        MessageBirdSim,
        {"access_key": MB_KEY},
        {"VOXPIPE_MESSAGEBIRD_KEY": MB_KEY},
        [
            "-P",
            "messagebird",
            "--text",
            "Your code is 4 8 3 9.",
            "--to",
            "+447911123456",
            "-O",
            f"report_url={report_url}",
        ],
        journal,
        dry,
    )
    assert proc.returncode == 0, proc.stderr
    assert accepted == (0 if dry else 1)
    if not dry:
        assert "HTTP Request: POST" in proc.stderr
    assert_clean(proc, [MB_KEY, hook_secret])


@pytest.mark.parametrize("dry", [False, True], ids=["send", "dry-run"])
def test_wawp_verbose_send_shows_no_instance_id_or_token(tmp_path: Path, media, dry: bool) -> None:
    env = {"VOXPIPE_WAWP_INSTANCE_ID": WAWP_INSTANCE, "VOXPIPE_WAWP_ACCESS_TOKEN": WAWP_TOKEN}
    proc, accepted = _send(
        WawpSim,
        {"instance_id": WAWP_INSTANCE, "access_token": WAWP_TOKEN},
        env,
        ["-P", "wawp", "--media-url", media["ogg"], "--to", "+201012345678"],
        tmp_path / "j.db",
        dry,
    )
    assert proc.returncode == 0, proc.stderr
    assert accepted == (0 if dry else 1)
    if not dry:
        # The line that used to carry both credentials in its query string is still logged, without it.
        assert [ln for ln in proc.stderr.splitlines() if "HTTP Request: POST" in ln and "/v2/send/voice?…" in ln]
    assert_clean(proc, [WAWP_INSTANCE, WAWP_TOKEN])


def test_wawp_credentials_given_as_flags_are_redacted_too(tmp_path: Path, media) -> None:
    proc, accepted = _send(
        WawpSim,
        {"instance_id": WAWP_INSTANCE, "access_token": WAWP_TOKEN},
        {},
        [
            "-P",
            "wawp",
            "--media-url",
            media["ogg"],
            "--to",
            "+201012345678",
            "-O",
            f"instance_id={WAWP_INSTANCE}",
            "-O",
            f"access_token={WAWP_TOKEN}",
        ],
        tmp_path / "j.db",
        False,
    )
    assert proc.returncode == 0, proc.stderr
    assert accepted == 1
    assert_clean(proc, [WAWP_INSTANCE, WAWP_TOKEN])


@pytest.mark.parametrize("dry", [False, True], ids=["send", "dry-run"])
@pytest.mark.parametrize(
    "message", [["--text", "Your code is 4 8 3 9."], ["--audio", "AUDIO", "--mode", "media"]], ids=["tts", "upload"]
)
def test_alphasms_verbose_send_shows_no_key(tmp_path: Path, dry: bool, message: list[str]) -> None:
    journal = tmp_path / "j.db"
    args = ["-P", "alphasms", "--to", "+380971234567", "--out", str(tmp_path / "out")]
    secrets = [ALPHA_KEY]
    if "--audio" in message:
        source = tmp_path / "note.wav"
        source.write_bytes(make_audio("wav", 1.0))
        message = ["--audio", str(source), "--mode", "media"]
        report_url, hook_secret = hook_secret_url(journal, "alphasms")
        args += ["-O", f"report_url={report_url}"]
        secrets.append(hook_secret)
    proc, accepted = _send(
        AlphaSmsSim, {"key": ALPHA_KEY}, {"VOXPIPE_ALPHASMS_KEY": ALPHA_KEY}, args + message, journal, dry
    )
    assert proc.returncode == 0, proc.stderr
    assert accepted == (0 if dry else 1)
    assert_clean(proc, secrets)


def test_s3_upload_log_shows_no_signature_or_secret_key(tmp_path: Path, s3_server) -> None:
    """botocore (headers, signatures) and urllib3 at DEBUG, with a presigned URL verified over httpx."""
    env = s3_server.env()
    assert (
        voxpipe("storage", "init", "s3://voice-logs/p", "--endpoint-url", s3_server.endpoint, env=env).returncode == 0
    )
    proc = voxpipe(
        "-vv",
        "prepare",
        "--text",
        "Hi.",
        "-p",
        "wav",
        "--out",
        str(tmp_path / "out"),
        "--json",
        "--store",
        "s3://voice-logs/p",
        "--endpoint-url",
        s3_server.endpoint,
        "--url-mode",
        "presigned",
        "--expires",
        "600",
        "--verify-url",
        env=env,
    )
    assert proc.returncode == 0, proc.stderr
    media_url = json.loads(proc.stdout)["items"][0]["artifacts"][0]["media_url"]
    signature = media_url.split("X-Amz-Signature=", 1)[1].split("&", 1)[0]
    assert "botocore" in proc.stderr and "urllib3" in proc.stderr and "'Authorization': b'***'" in proc.stderr
    for secret in (env["AWS_SECRET_ACCESS_KEY"], signature):
        assert secret not in proc.stderr
    assert "Traceback" not in proc.stderr
