"""gTTS engine against a local stand-in for Google's batchexecute endpoint.

The stand-in answers in the wire format gTTS parses (base64 MP3 inside the
RPC envelope) with real MP3 speech; no test reaches the network.
"""

from __future__ import annotations

import base64
import urllib.parse
from pathlib import Path

import pytest

from tests.audio_checks import run_ffmpeg
from tests.httpd import Answer, ScriptedServer
from voxpipe.pipeline.engines import VoiceSettings
from voxpipe.pipeline.engines.gtts_engine import GttsEngine
from voxpipe.pipeline.errors import SynthesisError
from voxpipe.pipeline.preparation import Item, PrepareSettings, prepare
from voxpipe.pipeline.retry import RetryPolicy

FAST = RetryPolicy(attempts=3, base_s=0.01, max_s=0.05)


@pytest.fixture(scope="module")
def mp3_speech(speech_wav: Path, tmp_path_factory: pytest.TempPathFactory) -> bytes:
    out = tmp_path_factory.mktemp("gtts") / "speech.mp3"
    run_ffmpeg(["-i", str(speech_wav), "-ar", "24000", "-c:a", "libmp3lame", "-b:a", "32k", "-y", str(out)])
    return out.read_bytes()


def envelope(mp3: bytes) -> bytes:
    b64 = base64.b64encode(mp3).decode()
    return f')]}}\'\n\n120\n[["wrb.fr","jQ1olc","[\\"{b64}\\"]",null,null,null,"generic"]]\n'.encode()


def spoken_texts(server: ScriptedServer) -> list[str]:
    texts = []
    for seen in server.seen:
        freq = urllib.parse.parse_qs(seen.body.decode())["f.req"][0]
        texts.append(freq)
    return texts


def test_synthesis_through_the_batchexecute_protocol(mp3_speech: bytes) -> None:
    with ScriptedServer(lambda s: Answer(200, envelope(mp3_speech))) as srv:
        engine = GttsEngine(VoiceSettings(language="en", tld="co.uk"), endpoint=srv.url, policy=FAST)
        audio = engine.synthesize("Hello from the test suite. " * 6)  # > 100 characters: several requests
    assert audio.rate == 24000 and audio.duration > 3
    assert len(srv.seen) >= 2 and all(s.path == "/_/TranslateWebserverUi/data/batchexecute" for s in srv.seen)
    assert all('\\"en\\"' in t for t in spoken_texts(srv))
    assert engine.identity()["tld"] == "co.uk"


def test_429_is_retried_with_backoff_then_succeeds(mp3_speech: bytes) -> None:
    answers = iter([Answer(429, b"", {"Retry-After": "0"}), Answer(503), Answer(200, envelope(mp3_speech))])
    with ScriptedServer(lambda s: next(answers)) as srv:
        audio = GttsEngine(endpoint=srv.url, policy=FAST).synthesize("Hello.")
    assert len(srv.seen) == 3 and audio.duration > 1


@pytest.mark.parametrize(
    "answer, message",
    [
        (
            Answer(429),
            "gtts: Google rate-limited the request (HTTP 429) after 3 attempts; wait and retry, or use the offline piper engine",
        ),
        (
            Answer(200, b")]}'\n[]"),
            "gtts: 127.0.0.1:{port} answered without audio; probable cause: upstream API change",
        ),
        (Answer(403), "gtts: 127.0.0.1:{port} answered HTTP 403; probable cause: bad token or upstream API change"),
    ],
)
def test_failures_become_one_clear_synthesis_error(answer: Answer, message: str) -> None:
    with ScriptedServer(lambda s: answer) as srv:
        port = srv.url.rsplit(":", 1)[1]
        with pytest.raises(SynthesisError) as err:
            GttsEngine(endpoint=srv.url, policy=FAST).synthesize("Hello.")
    assert str(err.value) == message.format(port=port)


def test_unreachable_service_is_a_synthesis_error() -> None:
    with ScriptedServer(lambda s: Answer()) as srv:
        url = srv.url
    with pytest.raises(SynthesisError, match=r"^gtts: cannot reach 127\.0\.0\.1:\d+ \(ConnectError\) after 3 attempts"):
        GttsEngine(endpoint=url, policy=FAST).synthesize("Hello.")


@pytest.mark.parametrize(
    "settings, message",
    [
        (VoiceSettings(language="xx"), "gtts: language 'xx' is not supported (see `voxpipe engines`)"),
        (
            VoiceSettings(tld="evil.example/"),
            "gtts: tld 'evil.example/' is not a Google domain suffix like com or co.uk",
        ),
    ],
)
def test_bad_settings(settings: VoiceSettings, message: str) -> None:
    with pytest.raises(SynthesisError) as err:
        GttsEngine(settings)
    assert str(err.value) == message


def test_prepare_with_gtts_engine(mp3_speech: bytes, tmp_path: Path, monkeypatch) -> None:
    with ScriptedServer(lambda s: Answer(200, envelope(mp3_speech))) as srv:
        monkeypatch.setenv("VOXPIPE_GTTS_ENDPOINT", srv.url)
        result = prepare(
            Item("g", text='Hola. <break time="500ms"/> Adios.', engine="gtts", language="es"),
            PrepareSettings(out_dir=tmp_path, profiles=("pstn",)),
        )
    assert result.ok, result.error
    assert all('\\"es\\"' in t for t in spoken_texts(srv)) and len(srv.seen) == 2
