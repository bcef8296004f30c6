"""The media routes of ``voxpipe.serve``: in process through Starlette's TestClient, and over real
HTTP from uvicorn where the exact bytes on the wire matter.

Path-traversal attempts go through http.client, which sends the request
target exactly as written (httpx would normalise ``..`` away before the
server ever saw it), to the app under a real uvicorn on a free port.
"""

from __future__ import annotations

import logging
import os
import socket
from collections.abc import Iterator
from http.client import HTTPConnection
from pathlib import Path

import httpx
import pytest
from starlette.applications import Starlette
from starlette.responses import PlainTextResponse
from starlette.routing import Mount, Route
from starlette.testclient import TestClient

from tests.appserver import AppServer
from voxpipe.pipeline.errors import StoreError
from voxpipe.pipeline.store import CACHE_CONTROL, LocalStore, StoreSettings
from voxpipe.serve import create_app
from voxpipe.serve.media import parse_range, resolve_media

ACCESS = "voxpipe.serve.access"


@pytest.fixture
def media_dir(tmp_path: Path) -> Path:
    root = tmp_path / "media"
    root.mkdir()
    return root


@pytest.fixture
def web(media_dir: Path) -> Iterator[TestClient]:
    with TestClient(create_app(media_dir)) as client:
        yield client


@pytest.fixture
def served(media_dir: Path) -> Iterator[AppServer]:
    with AppServer(create_app(media_dir)) as server:
        yield server


def raw_status(port: int, target: str, method: str = "GET") -> int:
    conn = HTTPConnection("127.0.0.1", port, timeout=5)
    try:
        conn.putrequest(method, target, skip_host=False, skip_accept_encoding=True)
        conn.endheaders()
        resp = conn.getresponse()
        resp.read()
        return resp.status
    finally:
        conn.close()


def raw_exchange(port: int, request: bytes) -> bytes:
    """Send bytes as they are and return the start of the answer."""
    with socket.create_connection(("127.0.0.1", port), timeout=5) as sock:
        sock.sendall(request)
        data = b""
        while len(data) < 200:
            chunk = sock.recv(4096)
            if not chunk:
                break
            data += chunk
    return data


def test_get_and_head(media_dir, web, make_artifact):
    art = make_artifact("mp3")
    hosted = LocalStore(media_dir, StoreSettings(base_url=str(web.base_url))).put(art)
    data = art.path.read_bytes()

    got = web.get(hosted.media_url)
    assert got.status_code == 200
    assert got.content == data
    assert got.headers["content-type"] == "audio/mpeg"
    assert got.headers["content-length"] == str(len(data))
    assert got.headers["accept-ranges"] == "bytes"
    assert got.headers["cache-control"] == CACHE_CONTROL == "public, max-age=31536000, immutable"
    assert got.headers["etag"].startswith('"') and got.headers["etag"].endswith('"')
    assert "last-modified" in got.headers

    head = web.head(hosted.media_url)
    assert head.status_code == 200
    assert head.content == b""
    assert head.headers["content-length"] == str(len(data))
    assert head.headers["etag"] == got.headers["etag"]


def test_get_and_head_over_real_http(media_dir, served, make_artifact):
    """The same through uvicorn: files larger than one piece arrive whole, with the server's own headers."""
    art = make_artifact("wav", seconds=20.0, directory=media_dir)  # ~640 KB: three pieces of 256 KiB
    data = art.path.read_bytes()
    with httpx.Client(timeout=5) as client:
        got = client.get(f"{served.url}/{art.path.name}")
        assert (got.status_code, got.content) == (200, data)
        assert got.headers["server"] == "voxpipe" and "date" in got.headers
        head = client.head(f"{served.url}/{art.path.name}")
        assert (head.status_code, head.content, head.headers["content-length"]) == (200, b"", str(len(data)))
        part = client.get(f"{served.url}/{art.path.name}", headers={"Range": "bytes=300000-"})
        assert (part.status_code, part.content) == (206, data[300000:])


@pytest.mark.parametrize(
    ("ext", "mime"),
    [("mp3", "audio/mpeg"), ("ogg", "audio/ogg; codecs=opus"), ("wav", "audio/wav")],
)
def test_content_type_by_extension(media_dir, web, make_artifact, ext, mime):
    art = make_artifact(ext, seconds=0.3, directory=media_dir)
    assert web.head(f"/{art.path.name}").headers["content-type"] == mime


def test_ranges(media_dir, web, make_artifact):
    art = make_artifact("wav", directory=media_dir)
    data = art.path.read_bytes()
    size = len(data)
    url = f"/{art.path.name}"

    def get(rng: str) -> httpx.Response:
        return web.get(url, headers={"Range": rng})

    r = get("bytes=0-99")
    assert (r.status_code, r.content, r.headers["content-range"]) == (206, data[:100], f"bytes 0-99/{size}")
    assert r.headers["content-length"] == "100"
    r = get("bytes=100-")
    assert (r.status_code, r.content) == (206, data[100:])
    r = get("bytes=-10")
    assert (r.status_code, r.content, r.headers["content-range"]) == (
        206,
        data[-10:],
        f"bytes {size - 10}-{size - 1}/{size}",
    )
    r = get(f"bytes=-{size * 2}")  # suffix longer than the file: the whole file
    assert (r.status_code, r.content) == (206, data)
    r = get(f"bytes={size - 5}-{size + 100}")  # end past the file is clipped
    assert (r.status_code, r.content) == (206, data[-5:])
    r = get(f"bytes={size}-")
    assert r.status_code == 416 and r.headers["content-range"] == f"bytes */{size}"
    assert get("bytes=-0").status_code == 416
    r = get("bytes=0-1,5-6")  # several ranges: answered with the whole file
    assert (r.status_code, r.content) == (200, data)
    assert get("bytes=9-2").status_code == 200  # invalid: ignored
    assert get("items=0-1").status_code == 200
    r = web.head(url, headers={"Range": "bytes=0-0"})
    assert (r.status_code, r.headers["content-length"], r.content) == (206, "1", b"")
    etag = r.headers["etag"]
    assert get("bytes=0-0").status_code == 206
    r = web.get(url, headers={"Range": "bytes=0-0", "If-Range": etag})
    assert r.status_code == 206
    r = web.get(url, headers={"Range": "bytes=0-0", "If-Range": '"stale"'})
    assert (r.status_code, r.content) == (200, data)
    r = web.get(url, headers={"Range": "bytes=0-0", "If-Range": r.headers["last-modified"]})
    assert r.status_code == 206


def test_parse_range_unit():
    assert parse_range("bytes=0-0", 10) == (0, 0)
    assert parse_range("bytes=-3", 10) == (7, 9)
    assert parse_range("bytes=3-", 10) == (3, 9)
    assert parse_range("bytes=0-", 0) is False
    assert parse_range("bytes=-", 10) is None
    assert parse_range("bytes=a-b", 10) is None
    # Numbers past any file are not converted (int() refuses 4,300 digits): a start beyond the end, an end clipped.
    assert parse_range("bytes=" + "9" * 5000 + "-", 10) is False
    assert parse_range("bytes=2-" + "9" * 5000, 10) == (2, 9)
    assert parse_range("bytes=-" + "9" * 5000, 10) == (0, 9)


def test_etag_if_none_match_304(media_dir, web, make_artifact):
    art = make_artifact("ogg", directory=media_dir)
    url = f"/{art.path.name}"
    etag = web.head(url).headers["etag"]
    for value in (etag, f'"nope", {etag}', f"W/{etag}", "*"):
        r = web.get(url, headers={"If-None-Match": value})
        assert r.status_code == 304, value
        assert r.content == b""
        assert r.headers["etag"] == etag and r.headers["cache-control"] == CACHE_CONTROL
    assert web.get(url, headers={"If-None-Match": '"other"'}).status_code == 200


def test_keep_alive_survives_a_304(media_dir, served, make_artifact):
    art = make_artifact("ogg", directory=media_dir)
    url = f"{served.url}/{art.path.name}"
    with httpx.Client(timeout=5) as client:
        etag = client.head(url).headers["etag"]
        assert client.get(url, headers={"If-None-Match": etag}).status_code == 304
        assert client.get(url).status_code == 200  # no body was announced: the connection goes on


def test_no_listing_no_other_files(media_dir, web, make_artifact):
    art = make_artifact("mp3", directory=media_dir)
    (media_dir / (art.path.name + ".json")).write_text("{}")
    (media_dir / "notes.txt").write_text("secret")
    (media_dir / ".hidden.mp3").write_bytes(b"x")
    (media_dir / "sub").mkdir()
    (media_dir / "sub" / "inner.mp3").write_bytes(b"x")
    for path in (
        "/",
        "",
        "/sub",
        "/sub/",
        "/sub/inner.mp3",
        f"/{art.path.name}.json",
        "/notes.txt",
        "/.hidden.mp3",
        "/missing.mp3",
        f"/{art.path.name}/",
        "/healthz/",
        "/hooks",
    ):
        assert web.get(path).status_code == 404, path


TRAVERSALS = [
    "/../etc/passwd",
    "/../../../../etc/passwd",
    "/%2e%2e/%2e%2e/etc/passwd",
    "/%2E%2E%2F%2E%2E%2Fetc%2Fpasswd",
    "/%2fetc%2fpasswd",
    "//etc/passwd",
    "/..\\..\\etc\\passwd",
    "/..%5c..%5cetc%5cpasswd",
    "/etc/passwd",
    "/%00.mp3",
    "/x.mp3%00",
    "http://127.0.0.1/../etc/passwd",
    "/outside.mp3",
    "/../outside.mp3",
    "/%2e%2e/outside.mp3",
    "/link_out.mp3",
    "/link_dir/secret.mp3",
]


@pytest.mark.parametrize("target", TRAVERSALS)
def test_traversal_attempts_are_404(tmp_path, media_dir, served, target):
    (tmp_path / "outside.mp3").write_bytes(b"ID3 secret")
    (media_dir / "link_out.mp3").symlink_to(tmp_path / "outside.mp3")
    (media_dir / "link_dir").symlink_to(tmp_path)
    assert raw_status(served.port, target) == 404


def test_symlink_inside_the_root_is_served(media_dir, web, make_artifact):
    art = make_artifact("mp3", directory=media_dir)
    (media_dir / "alias.mp3").symlink_to(art.path.name)
    assert web.get("/alias.mp3").content == art.path.read_bytes()


def test_raw_nul_and_garbage_request_lines(served, caplog):
    with caplog.at_level(logging.DEBUG):
        # A NUL in the target, a line that does not parse, an HTTP version that is not served: 400 or 505, one line.
        assert raw_exchange(served.port, b"GET /\x00.mp3 HTTP/1.1\r\nHost: x\r\nConnection: close\r\n\r\n").startswith(
            b"HTTP/1.1 400 "
        )
        assert raw_exchange(served.port, b"GARBAGE?token=topsecret\r\n\r\n").startswith(b"HTTP/1.1 400 ")
        assert raw_exchange(served.port, b"GET /x.mp3?token=topsecret HTTP/7.0\r\n\r\n").startswith(b"HTTP/1.1 400 ")
        assert raw_exchange(served.port, b"GET /x.mp3?token=topsecret HTTP/2.0\r\nHost: x\r\n\r\n").startswith(
            b"HTTP/1.1 505 "
        )
    assert not any("topsecret" in r.getMessage() for r in caplog.records)
    refused = [r.getMessage() for r in caplog.records if r.name == ACCESS]
    assert len(refused) == 4 and all('"- -" 400 - (malformed request' in m or " 505 " in m for m in refused)


def test_other_methods_are_405(media_dir, web, served, make_artifact):
    art = make_artifact("mp3", directory=media_dir)
    url = f"/{art.path.name}"
    for method in ("POST", "PUT", "DELETE", "PATCH", "OPTIONS"):
        r = web.request(method, url, content=b"x" if method in ("POST", "PUT") else None)
        assert r.status_code == 405, method
        assert r.headers["allow"] == "GET, HEAD"
    assert raw_status(served.port, "/" + art.path.name, method="PROPFIND") == 405
    assert art.path.exists()


def test_log_lines_have_no_query_string(media_dir, web, make_artifact, caplog):
    art = make_artifact("mp3", directory=media_dir)
    with caplog.at_level(logging.INFO, logger=ACCESS):
        web.get(f"/{art.path.name}?X-Amz-Signature=topsecret&token=abc")
        web.get("/nothing.mp3?token=topsecret")
    lines = [r.getMessage() for r in caplog.records if r.name == ACCESS]
    assert len(lines) == 2
    assert f'GET /{art.path.name}" 200' in lines[0]
    assert "404" in lines[1]
    assert not any("topsecret" in line or "token" in line for line in lines)


def test_serve_missing_root_is_a_store_error(tmp_path):
    with pytest.raises(StoreError, match="media directory does not exist"):
        create_app(tmp_path / "nope")


def test_resolve_media_rejects_names_outside_the_root(tmp_path):
    assert resolve_media(tmp_path, "/../x.mp3") is None
    (tmp_path / "a.mp3").write_bytes(b"x")
    assert resolve_media(tmp_path, "/a.mp3") == ((tmp_path / "a.mp3").resolve(), "audio/mpeg")
    assert resolve_media(tmp_path, "/A.MP3") is None or os.path.exists(tmp_path / "A.MP3")


def test_the_app_mounted_below_a_prefix_of_another_app(media_dir, make_artifact):
    """A user's own Starlette service with voxpipe under /voice: routes are decided below the prefix."""
    art = make_artifact("mp3", directory=media_dir)
    outer = Starlette(
        routes=[Route("/", lambda request: PlainTextResponse("home")), Mount("/voice", create_app(media_dir))]
    )
    with TestClient(outer) as client:
        assert client.get("/").text == "home"
        got = client.get(f"/voice/{art.path.name}", headers={"Range": "bytes=0-3"})
        assert (got.status_code, got.content) == (206, art.path.read_bytes()[:4])
        assert client.get("/voice/healthz").json() == {"status": "ok", "media": "ok"}
        assert client.get("/voice/%2e%2e/etc/passwd").status_code == 404
