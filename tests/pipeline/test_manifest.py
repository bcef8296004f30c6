"""Manifests that cannot be split into rows are refused with the file and line; bad rows fail alone."""

from __future__ import annotations

import json
import os
from pathlib import Path

import pytest

from voxpipe.pipeline.errors import ManifestError
from voxpipe.pipeline.manifest import Row, looks_like_path, read_manifest, read_records
from voxpipe.pipeline.preparation import ItemResult
from voxpipe.pipeline.textfile import MAX_MANIFEST_BYTES


def write(tmp_path: Path, name: str, content: str | bytes) -> Path:
    path = tmp_path / name
    path.write_bytes(content if isinstance(content, bytes) else content.encode("utf-8"))
    return path


@pytest.mark.parametrize(
    "name, content, message",
    [
        # A quote opened in row 2 and closed in row 4 used to merge rows 2-4 into one message.
        (
            "merged.csv",
            'id,text,to\na,"Hello,+2348020000001\nb,Bye,+2348020000002\nc,Hi",+2348020000003\n',
            "merged.csv line 2: a quoted field runs on to line 4 and holds whole rows; is a quote missing?",
        ),
        ("open.csv", 'id,text\na,"Hello\nb,Bye\n', "open.csv line 2: a quote opened here is never closed"),
        ("after.csv", 'id,text\na,"Hello" there\n', "after.csv line 2: text after a closing quote"),
        ("dup.csv", "id,text,id\na,Hello,b\n", "dup.csv line 1: column 'id' appears more than once in the header"),
        (
            "dup2.csv",
            "\n\nid, text ,text\na,Hello,Bye\n",
            "dup2.csv line 3: column 'text' appears more than once in the header",
        ),
        ("header.csv", "id,text,to\n", "header.csv: no rows to read (only a header)"),
        ("blank.csv", "id,text\n\n\n", "blank.csv: no rows to read (only a header)"),
        ("empty.csv", "", "empty.csv: empty; a CSV manifest starts with a header naming its columns"),
        ("noid.csv", "name,text\na,b\n", "noid.csv: the CSV header must name an id column"),
        ("empty.jsonl", "\n \n", "empty.jsonl: no rows to read"),
        ("long.csv", "id,text\na," + "x" * 140_000 + "\n", "long.csv line 2: a field longer than 131,072 characters"),
        ("bin.csv", b"id,text\na,\xff\xfe\n", "bin.csv: cannot read it as UTF-8 text"),
        ("m.txt", "id\n", "m.txt: a manifest is .csv or .jsonl"),
    ],
)
def test_files_that_cannot_be_split_into_rows_are_refused(
    tmp_path: Path, name: str, content: str, message: str
) -> None:
    with pytest.raises(ManifestError) as err:
        read_records(write(tmp_path, name, content))
    assert str(err.value).startswith(str(tmp_path / name.split()[0])) or name == "m.txt"
    assert message in str(err.value) and "\n" not in str(err.value)


def test_multi_line_markup_in_a_quoted_field_is_still_one_row(tmp_path: Path) -> None:
    path = write(tmp_path, "ok.csv", 'id,text\notp,"<speak>\n  Your code is 1, 2, 3.\n</speak>"\nnext,Bye\n')
    records = read_records(path)
    assert [(w, f["id"]) for w, f in records] == [("ok.csv line 2", "otp"), ("ok.csv line 5", "next")]
    assert records[0][1]["text"] == "<speak>\n  Your code is 1, 2, 3.\n</speak>"


@pytest.mark.parametrize(
    "line, error",
    [
        ('{"id": "a", "text": ' + "[" * 100_000 + "]" * 100_000 + "}", "invalid JSON: nested too deeply"),
        ('{"id": "a", "text": ' + "1" * 5000 + "}", "invalid JSON: a number with more than 4300 digits"),
        ('{"id": "a", "text": NaN}', "invalid JSON: NaN is not JSON"),
        ('{"id": "a", "id": "b", "text": "x"}', "invalid JSON: key 'id' appears twice"),
        ('{"id": "a"', "invalid JSON: Expecting ',' delimiter"),
        ("[1]", "expected a JSON object"),
    ],
)
def test_bad_jsonl_rows_fail_alone(tmp_path: Path, line: str, error: str) -> None:
    path = write(tmp_path, "m.jsonl", line + "\n" + json.dumps({"id": "good", "text": "Hi\u2028there"}) + "\n")
    records = read_records(path)
    assert isinstance(records[0], ItemResult) and records[0].error == f"m.jsonl line 1: {error}"
    assert records[1] == ("m.jsonl line 2", {"id": "good", "text": "Hi\u2028there"})  # U+2028 is not a line break


def test_short_and_long_rows_fail_alone(tmp_path: Path) -> None:
    path = write(tmp_path, "m.csv", "id,text,profiles\nshort,Hi\nlong,Hi,pstn,extra\ngood,Hi,wav\n")
    rows = read_manifest(path)
    assert [(r.id, r.error) for r in rows if isinstance(r, ItemResult)] == [
        ("short", "m.csv line 2: fewer fields than the header (2, not 3)"),
        ("long", "m.csv line 3: more fields than the header (4, not 3)"),
    ]
    assert [r.item.id for r in rows if isinstance(r, Row)] == ["good"]


def test_ssml_is_markup_and_ssml_file_is_a_file_next_to_the_manifest(tmp_path: Path) -> None:
    (tmp_path / "msgs").mkdir()
    (tmp_path / "msgs" / "otp.ssml").write_text("<speak>Code <say-as interpret-as='digits'>12</say-as></speak>")
    path = write(
        tmp_path,
        "m.csv",
        "id,ssml,ssml_file,text\n"
        "inline,<speak>Hi</speak>,,\n"
        "fromfile,,msgs/otp.ssml,\n"
        "mistyped,msgs/otp.ssmll,,\n"
        "missing,,msgs/nope.ssml,\n"
        "both,<speak>Hi</speak>,,Hello\n",
    )
    rows = {r.item.id if isinstance(r, Row) else r.id: r for r in read_manifest(path)}
    assert rows["inline"].item.text == "<speak>Hi</speak>"
    assert rows["fromfile"].item.text.startswith("<speak>Code")
    assert (
        rows["mistyped"].error
        == "m.csv line 4: ssml 'msgs/otp.ssmll' looks like a file path; put files in an ssml_file column"
    )
    assert rows["missing"].error == f"m.csv line 5: {tmp_path / 'msgs' / 'nope.ssml'}: cannot read: no such file"
    assert rows["both"].error == "m.csv line 6: give one of text, ssml, not 2"


@pytest.mark.parametrize(
    "value, is_path",
    [
        ("/srv/messages/otp.ssmll", True),
        ("otp.ssml", True),
        ("notes.TXT", True),
        ("msgs/a", True),
        ("Hello", False),
        ("<speak>a/b</speak>", False),
        ("Your code is 1/2", False),
        ("Hi.", False),
        ("", False),
    ],
)
def test_what_looks_like_a_path(value: str, is_path: bool) -> None:
    assert looks_like_path(value) is is_path


def test_a_fifo_device_or_huge_manifest_is_refused_without_reading(tmp_path: Path) -> None:
    fifo = tmp_path / "m.csv"
    os.mkfifo(fifo)
    with pytest.raises(ManifestError, match=r"m\.csv: a FIFO, socket or device, not a regular file"):
        read_records(fifo)  # would block forever on a plain open()
    huge = tmp_path / "huge.csv"
    with huge.open("wb") as f:
        f.truncate(MAX_MANIFEST_BYTES + 1)  # sparse: no disk used
    with pytest.raises(ManifestError, match=r"huge\.csv: 67,108,865 bytes; at most 67,108,864 are read"):
        read_records(huge)
    folder = tmp_path / "dir.csv"
    folder.mkdir()
    with pytest.raises(ManifestError, match=r"dir\.csv: a folder, not a regular file"):
        read_records(folder)


def test_audio_urls_that_do_not_parse_fail_their_row(tmp_path: Path) -> None:
    """A bad port or IPv6 literal was a traceback deep in the fetch, ending the whole batch."""
    path = write(tmp_path, "m.csv", "id,audio\nport,http://h:99999/a.mp3\nv6,http://[::1/a.mp3\nfile,clips/a.wav\n")
    rows = {r.item.id if isinstance(r, Row) else r.id: r for r in read_manifest(path)}
    assert rows["port"].error == "m.csv line 2: audio http://h:99999/a.mp3: Port out of range 0-65535"
    assert rows["v6"].error == "m.csv line 3: audio http://[::1/a.mp3: Invalid IPv6 URL"
    assert rows["file"].item.audio == "clips/a.wav"
