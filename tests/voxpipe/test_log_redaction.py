"""The log filter offered to library users (``voxpipe.install_log_redaction``), on real loggers."""

from __future__ import annotations

import io
import logging
from collections.abc import Iterator

import pytest

import voxpipe
from voxpipe import RedactingFilter


@pytest.fixture
def captured() -> Iterator[io.StringIO]:
    """Every library logger propagating to the root, through one redacting handler."""
    stream = io.StringIO()
    handler = logging.StreamHandler(stream)
    handler.setFormatter(logging.Formatter("%(name)s: %(message)s"))
    voxpipe.install_log_redaction(handler, secrets=["literal-credential-42"])
    root = logging.getLogger()
    old_level = root.level
    root.addHandler(handler)
    root.setLevel(logging.DEBUG)
    try:
        yield stream
    finally:
        root.removeHandler(handler)
        root.setLevel(old_level)


@pytest.mark.parametrize(
    "logger, fmt, args, secret, kept",
    [
        (
            "httpx",
            'HTTP Request: %s %s "%s"',
            ("POST", "https://api.example/v2/send/voice?instance_id=I1&access_token=T0K3N", "HTTP/1.1 200 OK"),
            "T0K3N",
            "https://api.example/v2/send/voice?…",
        ),
        (
            "httpx",
            "HTTP Request: %s %s",
            ("GET", "https://bob:hunter2pass@media.example/a.mp3"),
            "hunter2pass",
            "https://bob:***@media.example/a.mp3",
        ),
        (
            "urllib3.connectionpool",
            '%s://%s:%s "%s %s %s" %s %s',
            ("http", "s3.local", 8333, "GET", "/b/k.mp3?X-Amz-Signature=abcdef0123456789", "HTTP/1.1", 200, 10),
            "abcdef0123456789",
            '"GET /b/k.mp3?… HTTP/1.1"',
        ),
        (
            "botocore.endpoint",
            "Sending http request: %s",
            (
                "<AWSPreparedRequest headers={'Authorization': b'AWS4-HMAC-SHA256 Credential=AK/x, Signature=0123abcd0123abcd0123'}>",
            ),
            "0123abcd0123abcd0123",
            "'Authorization': b'***'",
        ),
        (
            "botocore.auth",
            "Signature:\n%s",
            ("9f86d081884c7d659a2feaa0c55ad015a3bf4f1b2b0b822cd15d6c15b0f00a08",),
            "9f86d081884c7d659a2f",
            "Signature:",
        ),
        (
            "voxpipe.serve.access",
            "%s %s",
            ("POST", "/hooks//hook-secret-value-1"),
            "hook-secret-value-1",
            "/hooks//***",
        ),
        (
            "voxpipe.sender.dispatch",
            "sent with %s",
            ("Authorization: Bearer sk_live_abcdef123456",),
            "sk_live_abcdef123456",
            "Authorization: ***",
        ),
        ("voxpipe", "given %s", ("literal-credential-42",), "literal-credential-42", "given ***"),
    ],
)
def test_each_library_line_is_redacted(
    captured: io.StringIO, logger: str, fmt: str, args: tuple, secret: str, kept: str
) -> None:
    logging.getLogger(logger).warning(fmt, *args)
    line = captured.getvalue()
    assert secret not in line and kept in line and line.startswith(f"{logger}: ")


def test_exception_text_is_redacted_and_records_are_never_dropped(captured: io.StringIO) -> None:
    try:
        raise ValueError("cannot fetch https://u:pw-in-trace@h/x?token=tok-in-trace")
    except ValueError:
        logging.getLogger("httpx").exception("failed")
    logging.getLogger("httpx").info("plain line")
    text = captured.getvalue()
    assert "pw-in-trace" not in text and "tok-in-trace" not in text
    assert "ValueError: cannot fetch https://u:***@h/x?…" in text and "plain line" in text


def test_a_bad_format_string_from_a_library_does_not_raise(captured: io.StringIO) -> None:
    logging.getLogger("lib").warning("%s %s", "only-one-arg")
    assert "only-one-arg" in captured.getvalue()


def test_installing_twice_keeps_one_filter_and_adds_secrets() -> None:
    handler = logging.StreamHandler(io.StringIO())
    first = voxpipe.install_log_redaction(handler, ["first-secret"])
    second = voxpipe.install_log_redaction(handler, ["second-secret"])
    assert first is second and [f for f in handler.filters if isinstance(f, RedactingFilter)] == [first]
    assert first.redact("first-secret second-secret") == "*** ***"


def test_short_values_are_not_treated_as_secrets() -> None:
    # A one-letter "key" (as in some test setups) must not blank every k in the log.
    assert RedactingFilter(["k"]).redact("keep looking") == "keep looking"
