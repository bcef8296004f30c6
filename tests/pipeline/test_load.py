"""Source audio: every bad input gets one clear error naming it."""

from __future__ import annotations

from pathlib import Path

import pytest

from tests.httpd import Answer, ScriptedServer
from voxpipe.pipeline.errors import AudioInputError
from voxpipe.pipeline.load import FetchSettings, load_audio


@pytest.fixture(scope="module")
def wav_bytes(speech_wav: Path) -> bytes:
    return speech_wav.read_bytes()


def test_local_file_decodes_to_mono(speech_wav: Path) -> None:
    audio = load_audio(str(speech_wav))
    assert audio.rate == 22050 and 3 < audio.duration < 10


@pytest.mark.parametrize(
    "make, message",
    [
        (lambda d: None, "{p}: no such file"),
        (lambda d: d.write_bytes(b""), "{p}: the file is empty"),
        (lambda d: d.write_text("just some text, not audio\n" * 20), "{p}: not an audio file ffmpeg can decode"),
        (
            lambda d: d.write_bytes(b"ID3\x03\x00\x00\x00\x00\x00\x00" + bytes(range(256)) * 8),
            "{p}: not an audio file ffmpeg can decode",
        ),
    ],
)
def test_bad_local_files(tmp_path: Path, make, message: str) -> None:
    path = tmp_path / "input.mp3"
    make(path)
    with pytest.raises(AudioInputError) as err:
        load_audio(str(path))
    assert str(err.value) == message.format(p=path)


def test_too_long_is_refused(speech_wav: Path) -> None:
    with pytest.raises(AudioInputError, match=r"longer than the 2 s limit"):
        load_audio(str(speech_wav), FetchSettings(max_seconds=2))


def test_truncated_file_still_decodes_what_is_there(tmp_path: Path, speech_wav: Path) -> None:
    cut = tmp_path / "cut.wav"
    cut.write_bytes(speech_wav.read_bytes()[:20000])
    assert 0.3 < load_audio(str(cut)).duration < 0.6


@pytest.mark.parametrize(
    "url, message",
    [
        ("ftp://example.com/a.mp3", "ftp://example.com/a.mp3: only http and https URLs can be fetched"),
        ("file:///etc/passwd", "file:///etc/passwd: only http and https URLs can be fetched"),
        (
            "http://127.0.0.1:9/a.mp3",
            "http://127.0.0.1:9/a.mp3: refusing to fetch from the non-public address 127.0.0.1 (allow it with --allow-private-urls)",
        ),
        (
            "http://10.1.2.3/a.mp3",
            "http://10.1.2.3/a.mp3: refusing to fetch from the non-public address 10.1.2.3 (allow it with --allow-private-urls)",
        ),
        (
            "http://[::1]:9/a.mp3",
            "http://[::1]:9/a.mp3: refusing to fetch from the non-public address ::1 (allow it with --allow-private-urls)",
        ),
        (
            "http://169.254.169.254/latest/meta-data",
            "http://169.254.169.254/latest/meta-data: refusing to fetch from the non-public address 169.254.169.254 (allow it with --allow-private-urls)",
        ),
    ],
)
def test_urls_that_are_refused(url: str, message: str) -> None:
    with pytest.raises(AudioInputError) as err:
        load_audio(url)
    assert str(err.value) == message


def test_url_fetch_when_private_addresses_are_allowed(wav_bytes: bytes) -> None:
    with ScriptedServer(lambda s: Answer(200, wav_bytes, {"Content-Type": "audio/wav"})) as srv:
        audio = load_audio(f"{srv.url}/speech.wav", FetchSettings(allow_private=True))
    assert 3 < audio.duration < 10


def test_redirect_hops_are_checked_too(wav_bytes: bytes) -> None:
    def handler(seen):
        if seen.path == "/start":
            return Answer(302, b"", {"Location": "/speech.wav"})
        return Answer(200, wav_bytes)

    with ScriptedServer(handler) as srv:
        assert load_audio(f"{srv.url}/start", FetchSettings(allow_private=True)).duration > 3
        assert [s.path for s in srv.seen] == ["/start", "/speech.wav"]


@pytest.mark.parametrize(
    "answer, message",
    [
        (Answer(404, b"nope"), "HTTP 404"),
        (Answer(200, b"x" * 5000), "5000 bytes is over the 4096-byte limit"),
        (Answer(200, b"<html>not audio</html>"), "not an audio file ffmpeg can decode"),
    ],
)
def test_bad_url_answers(answer: Answer, message: str) -> None:
    with ScriptedServer(lambda s: answer) as srv:
        url = f"{srv.url}/a.mp3"
        with pytest.raises(AudioInputError) as err:
            load_audio(url, FetchSettings(allow_private=True, max_bytes=4096))
    assert str(err.value) == f"{url}: {message}"


def test_unreachable_url_names_the_url() -> None:
    with ScriptedServer(lambda s: Answer()) as srv:
        url = f"{srv.url}/a.mp3"
    with pytest.raises(AudioInputError, match=r"^http://127\.0\.0\.1:\d+/a\.mp3: fetch failed: ConnectError"):
        load_audio(url, FetchSettings(allow_private=True, timeout_s=2))


def test_nan_and_infinite_samples_are_refused(tmp_path: Path) -> None:
    import numpy as np
    import soundfile

    path = tmp_path / "nan.wav"
    soundfile.write(str(path), np.full(8000, np.nan, dtype=np.float32), 16000, subtype="FLOAT")
    with pytest.raises(AudioInputError, match=r"nan\.wav: contains NaN or infinite samples"):
        load_audio(str(path))
