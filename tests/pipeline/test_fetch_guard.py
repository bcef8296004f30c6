"""URL fetches: resolve once, check every address, connect to exactly that one
(also after redirects), TLS still verified against the name, a total deadline,
and one line (no password) for every malformed URL."""

from __future__ import annotations

import socket
import ssl
from pathlib import Path

import httpx
import pytest

from tests.httpd import Answer
from tests.pipeline.netservers import LoopbackServer, TrickleServer, self_signed, server_context
from voxpipe.pipeline.errors import AudioInputError
from voxpipe.pipeline.load import FetchSettings, load_audio, read_source

PUBLIC = "93.184.216.34"  # a global address; the test network below maps it to 127.0.0.2
STAND_IN = "127.0.0.2"


class FlippingResolver:
    """Answers a name with a public address the first time and loopback after (DNS rebinding)."""

    def __init__(self, first: list[str], then: list[str]) -> None:
        self.first, self.then = first, then
        self.calls: list[str] = []

    def __call__(self, host: str, port: int) -> list[str]:
        self.calls.append(host)
        return self.first if self.calls.count(host) == 1 else self.then


class TestNetwork(httpx.BaseTransport):
    """Connects for real: PUBLIC goes to the stand-in on 127.0.0.2; a name is looked
    up again with the resolver, as an operating system would if handed the name."""

    __test__ = False

    def __init__(self, resolver: FlippingResolver) -> None:
        self.resolver = resolver
        self.real = httpx.HTTPTransport()
        self.hosts: list[str] = []

    def handle_request(self, request: httpx.Request) -> httpx.Response:
        host = request.url.host
        self.hosts.append(host)
        if host == PUBLIC:
            host = STAND_IN
        elif not host.replace(".", "").isdigit():
            host = self.resolver(host, request.url.port or 80)[0]
        if host == PUBLIC:
            host = STAND_IN
        return self.real.handle_request(
            httpx.Request(
                request.method, request.url.copy_with(host=host), headers=request.headers, extensions=request.extensions
            )
        )


@pytest.fixture()
def two_servers(speech_wav: Path):
    """An internal service on 127.0.0.1:P and the 'public' host's stand-in on 127.0.0.2:P."""
    wav = speech_wav.read_bytes()
    internal = LoopbackServer(lambda s: Answer(200, b"internal secrets"))
    with internal:
        public = LoopbackServer(
            lambda s: (
                Answer(302, b"", {"Location": f"http://next.test:{internal.port}/speech.wav"})
                if s.path == "/hop"
                else Answer(200, wav, {"Content-Type": "audio/wav"})
            ),
            host=STAND_IN,
            port=internal.port,
        )
        with public:
            yield internal, public


def test_rebinding_name_is_fetched_from_the_checked_address_only(two_servers) -> None:
    internal, public = two_servers
    resolver = FlippingResolver([PUBLIC], ["127.0.0.1"])
    network = TestNetwork(resolver)
    audio = load_audio(f"http://media.test:{internal.port}/speech.wav", resolver=resolver, transport=network)
    assert audio.duration > 3
    assert resolver.calls == ["media.test"]  # resolved once, for the check and the connection
    assert network.hosts == [PUBLIC]
    assert [s.path for s in public.seen] == ["/speech.wav"]
    assert public.seen[0].headers["Host"] == f"media.test:{internal.port}"
    assert internal.seen == []


def test_rebinding_name_behind_a_redirect_is_pinned_too(two_servers) -> None:
    internal, public = two_servers
    resolver = FlippingResolver([PUBLIC], ["127.0.0.1"])
    network = TestNetwork(resolver)
    audio = load_audio(f"http://media.test:{internal.port}/hop", resolver=resolver, transport=network)
    assert audio.duration > 3
    assert resolver.calls == ["media.test", "next.test"]
    assert network.hosts == [PUBLIC, PUBLIC]
    assert [s.path for s in public.seen] == ["/hop", "/speech.wav"]
    assert internal.seen == []


def test_every_address_of_an_answer_is_checked(two_servers) -> None:
    internal, public = two_servers
    resolver = FlippingResolver([PUBLIC, "127.0.0.1"], [PUBLIC, "127.0.0.1"])
    url = f"http://media.test:{internal.port}/speech.wav"
    with pytest.raises(AudioInputError) as err:
        load_audio(url, resolver=resolver, transport=TestNetwork(resolver))
    assert (
        str(err.value)
        == f"{url}: refusing to fetch from the non-public address 127.0.0.1 (allow it with --allow-private-urls)"
    )
    assert public.seen == [] and internal.seen == []


def test_redirect_to_a_name_on_loopback_is_refused(two_servers) -> None:
    internal, public = two_servers
    resolver = FlippingResolver([PUBLIC], [PUBLIC])
    answers = {"media.test": [PUBLIC], "next.test": ["127.0.0.1"]}

    def resolve(host: str, port: int) -> list[str]:
        return answers[host]

    with pytest.raises(
        AudioInputError, match=r"next\.test:\d+/speech\.wav: refusing to fetch from the non-public address 127\.0\.0\.1"
    ):
        load_audio(f"http://media.test:{internal.port}/hop", resolver=resolve, transport=TestNetwork(resolver))
    assert [s.path for s in public.seen] == ["/hop"]
    assert internal.seen == []


def test_https_is_verified_against_the_name_not_the_pinned_address(tmp_path: Path, speech_wav: Path) -> None:
    cert, key = self_signed(tmp_path, "media.test")
    wav = speech_wav.read_bytes()

    def resolve(host: str, port: int) -> list[str]:
        return ["127.0.0.1"]

    with LoopbackServer(lambda s: Answer(200, wav), tls=server_context(cert, key)) as srv:
        url = f"https://media.test:{srv.port}/speech.wav"
        allowed = FetchSettings(allow_private=True, timeout_s=5)
        # Not trusted: one line, and no request was ever sent over the unverified connection.
        with pytest.raises(AudioInputError) as err:
            read_source(url, allowed, resolver=resolve)
        line = str(err.value)
        assert line.startswith(f"{url}: fetch failed: ConnectError: ") and "CERTIFICATE_VERIFY_FAILED" in line
        assert "\n" not in line and srv.seen == []
        # Trusted, the certificate (made for the name only, no IP) verifies: SNI and check use the name.
        trusting = httpx.HTTPTransport(verify=ssl.create_default_context(cafile=str(cert)))
        assert read_source(url, allowed, resolver=resolve, transport=trusting) == wav
        assert srv.seen[0].headers["Host"] == f"media.test:{srv.port}"
        # Trusted certificate, other name at the same address: refused, not connected.
        other = f"https://other.test:{srv.port}/speech.wav"
        with pytest.raises(
            AudioInputError,
            match=r"fetch failed: ConnectError: .*(Hostname mismatch|doesn't match|CERTIFICATE_VERIFY_FAILED)",
        ):
            read_source(other, allowed, resolver=resolve, transport=trusting)
        assert len(srv.seen) == 1


@pytest.mark.parametrize("trickle_head", [False, True], ids=["body", "headers"])
def test_trickling_server_stops_at_the_total_deadline(trickle_head: bool) -> None:
    with TrickleServer(every_s=0.5, limit=200, trickle_head=trickle_head) as srv:
        url = f"http://127.0.0.1:{srv.port}/slow.wav"
        settings = FetchSettings(allow_private=True, timeout_s=5, deadline_s=1.5)
        with pytest.raises(AudioInputError) as err:
            read_source(url, settings)
    assert str(err.value) == f"{url}: the download took longer than the 1.5 s limit"
    assert srv.sent < 100  # stopped long before the server ran out of bytes to trickle


def test_deadline_defaults_to_a_minute() -> None:
    assert FetchSettings().deadline_s == 60.0


def _no_dns(host: str, port: int) -> list[str]:
    raise socket.gaierror(socket.EAI_NONAME, "Name or service not known")


@pytest.mark.parametrize(
    "url, reason",
    [
        ("http://h:99999/a.wav", "not a valid URL (Port out of range 0-65535)"),
        ("http://[::1/a.wav", "not a valid URL (Invalid IPv6 URL)"),
        (
            "http://[fe80::1%eth0]/a.wav",
            "refusing to fetch from the non-public address fe80::1%eth0 (allow it with --allow-private-urls)",
        ),
        ("http://xn--/a.wav", "not a valid URL ("),
        ("http://\u2603\u2603.com/a.wav", "not a valid URL (Invalid IDNA hostname"),
        ("http:///a.wav", "no host in the URL"),
        ("http://h:0/a.wav", "not a valid URL (port 0)"),
        ("http://exa mple.com/a.wav", "cannot resolve host"),
        ("http://" + "a" * 70 + ".com/a.wav", "cannot resolve host"),
        ("gopher://h/a.wav", "only http and https URLs can be fetched"),
    ],
)
def test_malformed_urls_get_one_line(url: str, reason: str) -> None:
    with pytest.raises(AudioInputError) as err:
        read_source(url, resolver=_no_dns)
    line = str(err.value)
    assert reason in line and "\n" not in line and "Traceback" not in line


@pytest.mark.parametrize(
    "url",
    [
        "https://user:s3cr3t@h:99999/a.wav",
        "http://user:s3cr3t@127.0.0.1/a.wav",
        "http://user:s3cr3t@media.test/a.wav",
        "http://user:s3cr3t@[::1/a.wav",
    ],
)
def test_url_passwords_never_appear_in_errors(url: str) -> None:
    with pytest.raises(AudioInputError) as err:
        read_source(url, resolver=_no_dns)
    assert "s3cr3t" not in str(err.value) and "user:***@" in str(err.value)


def test_url_password_not_in_fetch_failure() -> None:
    with LoopbackServer(lambda s: Answer()) as srv:
        port = srv.port
    url = f"http://user:s3cr3t@127.0.0.1:{port}/a.wav"
    with pytest.raises(AudioInputError, match=r"fetch failed: ConnectError") as err:
        read_source(url, FetchSettings(allow_private=True, timeout_s=2))
    assert "s3cr3t" not in str(err.value)
