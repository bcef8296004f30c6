"""The files bad-input cases point at: broken audio, manifests, profiles, journals.

Everything is generated here (nothing binary is committed). ``build(root)``
fills ``root`` and returns it; case arguments name files relative to it with
``{ws}``.
"""

from __future__ import annotations

import json
import os
import sqlite3
import struct
from pathlib import Path

import numpy as np
import soundfile

from tests.simulators import make_audio

# Profile fields that make a valid profile; broken variants change one field.
GOOD_PROFILE = {
    "container": "mp3",
    "codec": "libmp3lame",
    "extension": "mp3",
    "mime": "audio/mpeg",
    "sample_rate": 16000,
    "lufs": -16.0,
    "true_peak_dbtp": -1.5,
    "bitrate_kbps": 32,
}

BROKEN_PROFILES: dict[str, object] = {
    "fade-negative": {**GOOD_PROFILE, "fade_ms": -10},
    "lead-negative": {**GOOD_PROFILE, "lead_ms": -1},
    "lead-huge": {**GOOD_PROFILE, "lead_ms": 10**9},
    "tail-string": {**GOOD_PROFILE, "tail_ms": "500"},
    "lufs-string": {**GOOD_PROFILE, "lufs": "loud"},
    "lufs-inf": {**GOOD_PROFILE, "lufs": 1e999},
    "lufs-high": {**GOOD_PROFILE, "lufs": 5},
    "peak-positive": {**GOOD_PROFILE, "true_peak_dbtp": 3.0},
    "rate-odd": {**GOOD_PROFILE, "sample_rate": 12345},
    "rate-float": {**GOOD_PROFILE, "sample_rate": 16000.5},
    "rate-bool": {**GOOD_PROFILE, "sample_rate": True},
    "bitrate-zero": {**GOOD_PROFILE, "bitrate_kbps": 0},
    "bitrate-huge": {**GOOD_PROFILE, "bitrate_kbps": 99999},
    "bitrate-negative": {**GOOD_PROFILE, "bitrate_kbps": -32},
    "codec-mismatch": {**GOOD_PROFILE, "codec": "libopus"},
    "container-unknown": {**GOOD_PROFILE, "container": "flac", "codec": "flac"},
    "stereo": {**GOOD_PROFILE, "channels": 2},
    "gain-huge": {**GOOD_PROFILE, "max_gain_db": 1000},
    "budget-negative": {**GOOD_PROFILE, "size_budget_bytes": -1},
    "maxbytes-zero": {**GOOD_PROFILE, "max_bytes": 0},
    "highpass-huge": {**GOOD_PROFILE, "highpass_hz": 1e9},
    "vbr-string": {**GOOD_PROFILE, "vbr": "yes"},
    "unknown-field": {**GOOD_PROFILE, "colour": "blue"},
    "missing-field": {k: v for k, v in GOOD_PROFILE.items() if k != "mime"},
    "array": [GOOD_PROFILE],
    "null": None,
    "opus-frame": {
        **GOOD_PROFILE,
        "container": "ogg",
        "codec": "libopus",
        "extension": "ogg",
        "mime": "audio/ogg; codecs=opus",
        "frame_ms": 7,
    },
}
"""Each becomes ``profiles/<name>.json``; the raw-text ones are below."""

RAW_PROFILES: dict[str, bytes] = {
    "not-json": b"{ this is not json",
    "empty": b"",
    "latin1": '{"mime": "caf\xe9"}'.encode("latin-1"),
    "nan-literal": json.dumps({**GOOD_PROFILE, "lufs": "NaN"}).replace('"NaN"', "NaN").encode(),
    "deep": b"[" * 100000 + b"]" * 100000,
}


def _write(path: Path, data: bytes | str) -> Path:
    path.parent.mkdir(parents=True, exist_ok=True)
    path.write_bytes(data if isinstance(data, bytes) else data.encode("utf-8"))
    return path


def _wav_header(data_bytes: int, channels: int = 1, rate: int = 16000, bits: int = 16) -> bytes:
    block = channels * bits // 8
    return (
        b"RIFF" + struct.pack("<I", 36 + data_bytes) + b"WAVE"
        + b"fmt " + struct.pack("<IHHIIHH", 16, 1, channels, rate, rate * block, block, bits)
        + b"data" + struct.pack("<I", data_bytes)
    )  # fmt: skip


def _audio(root: Path) -> None:
    a = root / "audio"
    mp3 = make_audio("mp3", 1.0)
    wav = make_audio("wav", 1.0)
    _write(a / "empty.wav", b"")
    _write(a / "text.wav", "this is not audio at all\n" * 20)
    _write(a / "text.mp3", "ID3 but not really\n" * 20)
    _write(a / "random.ogg", os.urandom(4096))
    _write(a / "random.mp3", os.urandom(4096))
    _write(a / "header-only.wav", _wav_header(0))
    _write(a / "header-lies.wav", _wav_header(2**31) + b"\0" * 64)
    _write(a / "truncated.wav", wav[:30])
    _write(a / "truncated.mp3", mp3[:200])
    _write(a / "zero-channels.wav", _wav_header(64, channels=0) + b"\0" * 64)
    _write(a / "zero-rate.wav", _wav_header(64, rate=0) + b"\0" * 64)
    _write(a / "one-sample.wav", _wav_header(2) + b"\x10\x00")
    soundfile.write(str(a / "silence.wav"), np.zeros(16000, dtype=np.float32), 16000, subtype="PCM_16")
    soundfile.write(str(a / "nan.wav"), np.full(16000, np.nan, dtype=np.float32), 16000, subtype="FLOAT")
    soundfile.write(str(a / "inf.wav"), np.full(16000, np.inf, dtype=np.float32), 16000, subtype="FLOAT")
    soundfile.write(str(a / "digital-silence.flac"), np.zeros(8000, dtype=np.float32), 16000)
    _write(a / "mp3-named.ogg", b"OggS" + mp3[4:])  # a lying magic number over MP3 frames
    _write(a / "not-audio.flac", b"fLaC" + os.urandom(512))
    _write(a / "html.mp3", "<html><body>404 not found</body></html>")
    _write(a / "zip.wav", b"PK\x03\x04" + os.urandom(256))
    (a / "folder.wav").mkdir(parents=True, exist_ok=True)
    if not (a / "dev-zero.wav").exists():
        os.symlink("/dev/zero", a / "dev-zero.wav")
    fifo = a / "fifo.wav"
    if not fifo.exists():
        os.mkfifo(fifo)


def _markup(root: Path) -> None:
    m = root / "markup"
    _write(m / "big.ssml", "word " * 1_100_000)  # 5.5 MB of text
    _write(m / "just-over.txt", "a" * 100_001)
    _write(m / "breaks-400.ssml", '<break time="10s"/>word ' * 400)
    _write(m / "breaks-100.ssml", '<break time="10s"/>word ' * 100)
    _write(m / "latin1.ssml", "caf\xe9 au lait".encode("latin-1"))
    _write(m / "nul.ssml", "hello\0world")
    _write(m / "deep.ssml", '<prosody rate="90%">' * 5000 + "x" + "</prosody>" * 5000)
    _write(m / "empty.ssml", "")
    _write(m / "digits-5000.ssml", '<say-as interpret-as="cardinal">' + "9" * 5000 + "</say-as>")
    (m / "folder.ssml").mkdir(parents=True, exist_ok=True)
    if not (m / "dev-zero.ssml").exists():
        os.symlink("/dev/zero", m / "dev-zero.ssml")
    fifo = m / "fifo.ssml"
    if not fifo.exists():
        os.mkfifo(fifo)


# name -> manifest text; each has exactly one row that is bad (or is bad as a whole)
CSV_MANIFESTS: dict[str, str] = {
    "header-only": "id,text\n",
    "empty": "",
    "blank-lines": "\n\n\n",
    "no-id-column": "name,text\nx,hello\n",
    "duplicate-id-column": "id,text,id\na,hello,b\n",
    "duplicate-text-column": "id,text,text\na,hello,bye\n",
    "unbalanced-quote": 'id,text\na,"hello\nb,world\n',
    "extra-fields": "id,text\na,hello,surplus\n",
    "missing-id": "id,text\n,hello\n",
    "bad-id-slash": "id,text\n../../x,hello\n",
    "bad-id-space": "id,text\nmy id,hello\n",
    "bad-id-dot": "id,text\n.hidden,hello\n",
    "long-id": "id,text\n" + "a" * 300 + ",hello\n",
    "both-text-audio": "id,text,audio\na,hello,x.wav\n",
    "neither": "id,text,audio\na,,\n",
    "bad-profiles": "id,text,profiles\na,hello,nonexistent\n",
    "huge-field": "id,text\na," + "x" * 200_000 + "\n",
    "nul-byte": "id,text\na,hel\0lo\n",
    "bad-markup": 'id,text\na,<prosody rate="fast!">x</prosody>\n',
    "bad-engine": "id,text,engine\na,hello,festival\n",
}

JSONL_MANIFESTS: dict[str, str] = {
    "invalid-json": '{"id": "a", "text": "hello"\n',
    "array-row": '["a", "hello"]\n',
    "string-row": '"hello"\n',
    "text-number": '{"id": "a", "text": 42}\n',
    "text-object": '{"id": "a", "text": {"x": 1}}\n',
    "id-object": '{"id": {"x": 1}, "text": "hello"}\n',
    "profiles-object": '{"id": "a", "text": "hello", "profiles": {"pstn": 1}}\n',
    "deep-nesting": '{"id": "a", "text": "hello", "x": ' + "[" * 100000 + "]" * 100000 + "}\n",
    "huge-int": '{"id": "a", "text": "hello", "n": ' + "9" * 100000 + "}\n",
    "nan": '{"id": "a", "text": NaN}\n',
    "duplicate-ids": '{"id": "a", "text": "hello"}\n{"id": "a", "text": "bye"}\n',
    "only-blank": "\n \n",
    "bad-audio-url": '{"id": "a", "audio": "http://[::1/x.wav"}\n',
    "private-audio-url": '{"id": "a", "audio": "http://127.0.0.1:9/x.wav"}\n',
    "bad-port-url": '{"id": "a", "audio": "http://example.com:99999/x.wav"}\n',
    "idna-url": '{"id": "a", "audio": "http://xn--/x.wav"}\n',
}

SEND_MANIFESTS: dict[str, str] = {
    "no-to": "id,text,to\na,hello,\n",
    "bad-to": "id,text,to\na,hello,+234 802 OOO 0001\n",
    "no-message": "id,text,to\na,,+2348020000001\n",
    "header-only": "id,text,to\n",
    "unbalanced-quote": 'id,text,to\na,"hello,+2348020000001\nb,bye,+2348020000002\n',
    "to-object": '{"id": "a", "text": "hello", "to": {"x": 1}}\n',
    "deep": '{"id": "a", "text": "hello", "to": ' + "[" * 50000 + "]" * 50000 + "}\n",
}


def _manifests(root: Path) -> None:
    m = root / "manifests"
    for name, text in CSV_MANIFESTS.items():
        _write(m / f"{name}.csv", text)
    for name, text in JSONL_MANIFESTS.items():
        _write(m / f"{name}.jsonl", text)
    _write(m / "latin1.csv", "id,text\na,caf\xe9\n".encode("latin-1"))
    _write(m / "binary.csv", os.urandom(2048).replace(b"\n", b"x"))
    (m / "folder.csv").mkdir(parents=True, exist_ok=True)
    if not (m / "dev-zero.csv").exists():
        os.symlink("/dev/zero", m / "dev-zero.csv")
    if not (m / "fifo.csv").exists():
        os.mkfifo(m / "fifo.csv")
    _write(m / "unknown.xlsx", "id,text\na,hello\n")
    s = root / "send"
    for name, text in SEND_MANIFESTS.items():
        suffix = ".jsonl" if text.startswith("{") else ".csv"
        _write(s / f"{name}{suffix}", text)


def _profiles(root: Path) -> None:
    p = root / "profiles"
    for name, data in BROKEN_PROFILES.items():
        _write(p / f"{name}.json", json.dumps(data))
    for name, raw in RAW_PROFILES.items():
        _write(p / f"{name}.json", raw)
    (p / "folder.json").mkdir(parents=True, exist_ok=True)


def _journals(root: Path) -> None:
    j = root / "journals"
    _write(j / "text.db", "this is not a database\n")
    foreign = j / "foreign.db"
    if not foreign.exists():
        with sqlite3.connect(foreign) as db:
            db.execute("CREATE TABLE invoices (id INTEGER PRIMARY KEY, amount REAL)")
    _write(j / "truncated.db", b"SQLite format 3\0" + b"\x10\x00" + os.urandom(200))
    (j / "folder.db").mkdir(parents=True, exist_ok=True)
    _write(j / "a-file", "x")


def _recipients(root: Path) -> None:
    r = root / "recipients"
    _write(r / "letters.txt", "+234 802 OOO 0001\n")
    _write(r / "empty.txt", "")
    _write(r / "comments.txt", "# nobody here\n")
    _write(r / "latin1.txt", "+234802000000\xe9\n".encode("latin-1"))
    _write(r / "no-column.csv", "name,email\nann,ann@example.com\n")
    _write(r / "huge.txt", "+2348020000001\n" * 4_700_000)  # 70 MB: over the recipient file cap
    (r / "folder.txt").mkdir(parents=True, exist_ok=True)
    if not (r / "dev-zero.txt").exists():
        os.symlink("/dev/zero", r / "dev-zero.txt")
    if not (r / "fifo.txt").exists():
        os.mkfifo(r / "fifo.txt")


def build(root: Path) -> Path:
    root.mkdir(parents=True, exist_ok=True)
    for part in (_audio, _markup, _manifests, _profiles, _journals, _recipients):
        part(root)
    (root / "media").mkdir(exist_ok=True)
    _write(root / "media" / "ok.mp3", make_audio("mp3", 1.0))
    return root
