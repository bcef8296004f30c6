"""LocalStore and MediaServer over real HTTP.

Normal requests go through httpx. Path-traversal attempts go through
http.client, which sends the request target exactly as written (httpx would
normalise ``..`` away before the server ever saw it).
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

from voxpipe.pipeline.errors import StoreError
from voxpipe.pipeline.store import (
    CACHE_CONTROL,
    Hosted,
    LocalStore,
    MediaServer,
    Request,
    Response,
    StoreSettings,
    open_store,
    put_many,
)
from voxpipe.pipeline.store.server import parse_range, resolve_media


@pytest.fixture
def media_dir(tmp_path: Path) -> Path:
    root = tmp_path / "media"
    root.mkdir()
    return root


@pytest.fixture
def server(media_dir: Path) -> Iterator[MediaServer]:
    with MediaServer(media_dir, "127.0.0.1", 0) as srv:
        yield srv


@pytest.fixture
def web() -> Iterator[httpx.Client]:
    with httpx.Client(timeout=5) as client:
        yield client


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


# -- LocalStore -----------------------------------------------------------------


def test_put_copies_atomically_and_builds_url(media_dir, make_artifact):
    art = make_artifact("mp3")
    store = LocalStore(media_dir, StoreSettings(base_url="https://media.example.org/voice/"))
    assert not store.exists(art)
    hosted = store.put(art)
    assert hosted == Hosted(f"https://media.example.org/voice/{art.path.name}", None, True, art.path.name)
    assert (media_dir / art.path.name).read_bytes() == art.path.read_bytes()
    assert store.exists(art)
    assert oct((media_dir / art.path.name).stat().st_mode & 0o777) == oct(0o644)
    assert [p.name for p in media_dir.iterdir()] == [art.path.name]  # no temp file left behind
    assert art.path.exists()  # the source is never touched

    again = store.put(art)
    assert again.uploaded is False and again.media_url == hosted.media_url


def test_put_of_a_file_already_in_the_root_does_not_copy(media_dir, make_artifact):
    art = make_artifact("ogg", directory=media_dir)
    before = art.path.stat().st_mtime_ns
    hosted = LocalStore(media_dir).put(art)
    assert hosted.uploaded is False
    assert hosted.media_url == f"http://127.0.0.1:8765/{art.path.name}"
    assert art.path.stat().st_mtime_ns == before


def test_url_is_quoted(media_dir):
    assert (
        LocalStore(media_dir, StoreSettings(base_url="http://h:1")).url_for("a b#.mp3").media_url
        == "http://h:1/a%20b%23.mp3"
    )


def test_missing_source_is_a_store_error_naming_the_store(media_dir, make_artifact):
    art = make_artifact("mp3")
    art.path.unlink()
    with pytest.raises(StoreError, match=rf"^{media_dir}: cannot read the artifact"):
        LocalStore(media_dir).put(art)


def test_open_store_settings(tmp_path):
    store = open_store(str(tmp_path / "m"), StoreSettings(base_url="https://x.example/a/", workers=3))
    assert isinstance(store, LocalStore)
    assert store.base_url == "https://x.example/a" and store.workers == 3
    with pytest.raises(StoreError, match="presigned URLs need an s3:// store"):
        open_store(str(tmp_path), StoreSettings(url_mode="presigned"))
    with pytest.raises(StoreError, match="unsupported scheme"):
        open_store("gs://bucket/x")
    with pytest.raises(StoreError, match="url_mode must be"):
        StoreSettings(url_mode="signed")  # type: ignore[arg-type]


def test_put_many_local_reports_each_item(media_dir, make_artifact):
    good = [make_artifact("mp3") for _ in range(3)]
    bad = make_artifact("wav")
    bad.path.unlink()
    results = {a.path.name: r for a, r in put_many(LocalStore(media_dir), [*good, bad], workers=4)}
    assert len(results) == 4
    assert isinstance(results[bad.path.name], StoreError)
    assert all(isinstance(results[a.path.name], Hosted) and results[a.path.name].uploaded for a in good)


def test_verify_url_against_the_running_server(media_dir, server, make_artifact):
    art = make_artifact("mp3")
    with LocalStore(media_dir, StoreSettings(base_url=server.url, verify_url=True)) as store:
        assert store.put(art).uploaded
    with LocalStore(media_dir, StoreSettings(base_url=server.url + "/wrong", verify_url=True)) as store:
        with pytest.raises(StoreError, match="media URL check failed: anonymous HEAD of .* answered HTTP 404"):
            store.put(make_artifact("mp3"))


# -- MediaServer: media ------------------------------------------------------------


def test_get_and_head(media_dir, server, web, make_artifact):
    art = make_artifact("mp3")
    hosted = LocalStore(media_dir, StoreSettings(base_url=server.url)).put(art)
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


@pytest.mark.parametrize(
    ("ext", "mime"),
    [("mp3", "audio/mpeg"), ("ogg", "audio/ogg; codecs=opus"), ("wav", "audio/wav")],
)
def test_content_type_by_extension(media_dir, server, web, make_artifact, ext, mime):
    art = make_artifact(ext, seconds=0.3, directory=media_dir)
    assert web.head(f"{server.url}/{art.path.name}").headers["content-type"] == mime


def test_ranges(media_dir, server, web, make_artifact):
    art = make_artifact("wav", directory=media_dir)
    data = art.path.read_bytes()
    size = len(data)
    url = f"{server.url}/{art.path.name}"

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


def test_parse_range_unit():
    assert parse_range("bytes=0-0", 10) == (0, 0)
    assert parse_range("bytes=-3", 10) == (7, 9)
    assert parse_range("bytes=3-", 10) == (3, 9)
    assert parse_range("bytes=0-", 0) is False
    assert parse_range("bytes=-", 10) is None
    assert parse_range("bytes=a-b", 10) is None


def test_etag_if_none_match_304(media_dir, server, web, make_artifact):
    art = make_artifact("ogg", directory=media_dir)
    url = f"{server.url}/{art.path.name}"
    etag = web.head(url).headers["etag"]
    for value in (etag, f'"nope", {etag}', f"W/{etag}", "*"):
        r = web.get(url, headers={"If-None-Match": value})
        assert r.status_code == 304, value
        assert r.content == b""
        assert r.headers["etag"] == etag and r.headers["cache-control"] == CACHE_CONTROL
    assert web.get(url, headers={"If-None-Match": '"other"'}).status_code == 200
    # keep-alive survives a 304 (no body was announced)
    assert web.get(url).status_code == 200


def test_no_listing_no_other_files(media_dir, server, web, make_artifact):
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
    ):
        assert web.get(server.url + path).status_code == 404, path


@pytest.mark.parametrize(
    "target",
    [
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
    ],
)
def test_traversal_attempts_are_404(tmp_path, media_dir, server, target):
    (tmp_path / "outside.mp3").write_bytes(b"ID3 secret")
    (media_dir / "link_out.mp3").symlink_to(tmp_path / "outside.mp3")
    (media_dir / "link_dir").symlink_to(tmp_path)
    assert raw_status(server.port, target) == 404


def test_symlink_inside_the_root_is_served(media_dir, server, web, make_artifact):
    art = make_artifact("mp3", directory=media_dir)
    (media_dir / "alias.mp3").symlink_to(art.path.name)
    assert web.get(f"{server.url}/alias.mp3").content == art.path.read_bytes()


def test_raw_nul_and_garbage_request_lines(server, caplog):
    assert raw_exchange(server.port, b"GET /\x00.mp3 HTTP/1.1\r\nHost: x\r\nConnection: close\r\n\r\n").startswith(
        b"HTTP/1.1 404 "
    )
    # Lines that do not parse get the stdlib's error page (no status line before HTTP/1.0 is known).
    with caplog.at_level(logging.DEBUG, logger="voxpipe.pipeline.store.server"):
        assert b"Error code: 400" in raw_exchange(server.port, b"GARBAGE?token=topsecret\r\n\r\n")
        assert b"Error code: 505" in raw_exchange(server.port, b"GET /x.mp3?token=topsecret HTTP/7.0\r\n\r\n")
    assert not any("topsecret" in r.getMessage() for r in caplog.records)


def test_other_methods_are_405(media_dir, server, web, make_artifact):
    art = make_artifact("mp3", directory=media_dir)
    url = f"{server.url}/{art.path.name}"
    for method in ("POST", "PUT", "DELETE", "PATCH", "OPTIONS"):
        r = web.request(method, url, content=b"x" if method in ("POST", "PUT") else None)
        assert r.status_code == 405, method
        assert r.headers["allow"] == "GET, HEAD"
    assert raw_status(server.port, "/" + art.path.name, method="PROPFIND") == 405
    assert art.path.exists()


def test_log_lines_have_no_query_string(media_dir, server, web, make_artifact, caplog):
    art = make_artifact("mp3", directory=media_dir)
    with caplog.at_level(logging.INFO, logger="voxpipe.pipeline.store.server"):
        web.get(f"{server.url}/{art.path.name}?X-Amz-Signature=topsecret&token=abc")
        web.get(f"{server.url}/nothing.mp3?token=topsecret")
    lines = [r.getMessage() for r in caplog.records if r.name == "voxpipe.pipeline.store.server"]
    assert len(lines) == 2
    assert f'GET /{art.path.name}" 200' in lines[0]
    assert "404" in lines[1]
    assert not any("topsecret" in line or "token" in line for line in lines)


def test_serve_missing_root_is_a_store_error(tmp_path):
    with pytest.raises(StoreError, match="media directory does not exist"):
        MediaServer(tmp_path / "nope", port=0).start_in_thread()


def test_resolve_media_rejects_names_outside_the_root(tmp_path):
    assert resolve_media(tmp_path, "/../x.mp3") is None
    (tmp_path / "a.mp3").write_bytes(b"x")
    assert resolve_media(tmp_path, "/a.mp3") == ((tmp_path / "a.mp3").resolve(), "audio/mpeg")
    assert resolve_media(tmp_path, "/A.MP3") is None or os.path.exists(tmp_path / "A.MP3")


# -- MediaServer: mounted routes ---------------------------------------------------


def test_mounted_route_receives_body_and_query(media_dir, web):
    seen: list[Request] = []

    def receive(request: Request) -> Response:
        seen.append(request)
        return Response.json({"ok": True, "n": len(request.body)}, status=201)

    with MediaServer(media_dir, port=0, routes={"/callbacks/test": receive}, max_body_bytes=1024) as srv:
        r = web.post(
            f"{srv.url}/callbacks/test/abc?a=1&b=two%20words&a=3", content=b"status=delivered", headers={"X-Sig": "s1"}
        )
        assert (r.status_code, r.json()) == (201, {"ok": True, "n": 16})
        req = seen[-1]
        assert (req.method, req.path, req.body) == ("POST", "/callbacks/test/abc", b"status=delivered")
        assert req.query == {"a": "3", "b": "two words"}
        assert req.query_string == "a=1&b=two%20words&a=3"
        assert req.headers["x-sig"] == "s1" and req.client == "127.0.0.1"

        assert web.get(f"{srv.url}/callbacks/test").status_code == 201  # the prefix itself, any method
        assert web.get(f"{srv.url}/callbacks/testing").status_code == 404  # not under the prefix

        r = web.post(f"{srv.url}/callbacks/test", content=b"x" * 1025)
        assert r.status_code == 413
        r = web.post(f"{srv.url}/callbacks/test", content=b"x" * 1024)
        assert r.status_code == 201
        assert len(seen) == 3


def test_mounted_route_errors_are_500_and_mount_later(media_dir, web):
    def broken(request: Request) -> Response:
        raise RuntimeError("boom")

    srv = MediaServer(media_dir, port=0)
    srv.mount("/hooks/", broken)
    with srv:
        assert web.post(f"{srv.url}/hooks/x", content=b"{}").status_code == 500
        srv.mount("/late", lambda req: Response.text("late"))
        r = web.get(f"{srv.url}/late")
        assert (r.status_code, r.text) == (200, "late")


def test_a_store_that_cannot_be_created_is_refused_when_opened(tmp_path):
    blocker = tmp_path / "a-file"
    blocker.write_text("x")
    with pytest.raises(StoreError, match=r"a-file/store/deeper: cannot be created, .*a-file is a file"):
        open_store(str(blocker / "store" / "deeper"))
