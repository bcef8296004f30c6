"""Templates: placeholders, values that stay text, per-row checks, masking, and streamed preparation."""

from __future__ import annotations

import itertools
import json
from pathlib import Path

import pytest

from tests.cli import voxpipe
from voxpipe.pipeline.markup import Pause, parse
from voxpipe.pipeline.personal import prepare_template
from voxpipe.pipeline.preparation import PrepareSettings
from voxpipe.pipeline.runner import IN_FLIGHT_PER_WORKER
from voxpipe.pipeline.templates import MASK, Template, TemplateError, mask_values, render_row

OTP = (
    'Your code is <say-as interpret-as="digits">{code}</say-as>. Again: <say-as interpret-as="digits">{code}</say-as>.'
)
REMINDER = 'Hello {name}, see you on {day} at <say-as interpret-as="cardinal">{hour}</say-as>.'


def test_fields_take_the_kind_of_the_say_as_around_them() -> None:
    t = Template.parse(OTP)
    assert [(f.name, f.kind) for f in t.fields] == [("code", "digits")]
    assert t.sensitive  # a digits placeholder: a one-time code
    r = Template.parse(REMINDER)
    assert [(f.name, f.kind) for f in r.fields] == [("name", "text"), ("day", "text"), ("hour", "cardinal")]
    assert not r.sensitive
    assert Template.parse(REMINDER, sensitive=True).sensitive
    assert not Template.parse(OTP, sensitive=False).sensitive


@pytest.mark.parametrize(
    ("source", "says"),
    [
        ('<say-as interpret-as="{kind}">1</say-as> {x}', "placeholder {kind} inside a tag"),
        ("Hello there.", "no {placeholder}"),
        ("Hello <break time='1s'> {name}", "template"),
    ],
)
def test_a_template_that_cannot_work_is_refused_with_one_line(source: str, says: str) -> None:
    with pytest.raises(TemplateError) as caught:
        Template.parse(source)
    assert says in str(caught.value) and "\n" not in str(caught.value)


def test_double_braces_write_braces() -> None:
    t = Template.parse("Set {{x}} to {value}.")
    assert t.names == ("value",)
    assert t.render({"value": "7"}) == "Set {x} to 7."


def test_a_value_is_text_never_markup() -> None:
    t = Template.parse("Hello {name}, bye.")
    hostile = '</say-as><break time="10s"/>'
    script = parse(t.render({"name": hostile}))
    assert not any(isinstance(seg, Pause) for seg in script.segments)
    assert hostile in "".join(s.text for s in script.speech)
    with pytest.raises(ValueError, match="code: the value is not digits"):
        Template.parse(OTP).render({"code": hostile})


@pytest.mark.parametrize(
    ("row", "says"),
    [
        ({"id": "r1", "code": "12a4"}, "row 9: code: the value is not digits"),
        ({"id": "r1", "code": ""}, "row 9: code: empty"),
        ({"id": "r1"}, "row 9: code: missing"),
        ({"id": "r1", "code": "1234", "coupon": "x"}, "row 9: coupon: not a placeholder of the template (it has code)"),
        ({"code": "1234"}, "row 9: id: missing"),
        ({"id": "r1", "code": "12\n34"}, "row 9: code: holds a line break"),
        ({"id": "r1", "code": ["1"]}, "row 9: code: must be text, not list"),
    ],
)
def test_a_bad_row_names_the_row_and_field(row: dict[str, object], says: str) -> None:
    rendered = render_row(Template.parse(OTP), "row 9", row)
    assert isinstance(rendered, tuple)
    assert rendered[1] == says or rendered[1].startswith(says)


def test_a_value_that_does_not_fit_its_say_as_is_refused_naming_the_field() -> None:
    t = Template.parse('Due on <say-as interpret-as="date" format="ymd">{due}</say-as>. Pay {amount} euros.')
    ok = render_row(t, "row 1", {"id": "a", "due": "2026-12-01", "amount": "20"})
    assert not isinstance(ok, tuple) and ok.values["due"] == "2026-12-01"
    bad = render_row(t, "row 2", {"id": "b", "due": "2026-13-45", "amount": "20"})
    assert isinstance(bad, tuple) and bad[1].startswith("row 2: due: ") and "read as date" in bad[1]


def test_sensitive_values_are_masked_in_every_form() -> None:
    text = "code 4, 8, 2, 9 or four eight two nine or 4829 or 4 8 2 9"
    assert mask_values(text, ["4829"]) == f"code {MASK} or {MASK} or {MASK} or {MASK}"
    t = Template.parse(OTP)
    assert t.shown({"code": "4829"}) == OTP.replace("{code}", MASK)


def _otp_rows(n: int, pulled: list[int] | None = None):
    for i in range(n):
        if pulled is not None:
            pulled[0] += 1
        yield {"id": f"r{i}", "code": f"{100000 + i * 7919 % 900000}"}


def test_rows_are_streamed_not_read_ahead(tmp_path: Path) -> None:
    pulled = [0]
    settings = PrepareSettings(out_dir=tmp_path / "out", profiles=("pstn",), jobs=1)
    results = prepare_template(OTP, _otp_rows(1_000_000, pulled), settings)
    first = list(itertools.islice(results, 2))
    results.close()
    assert [r.ok for r in first] == [True, True], first
    # One worker: rows are read a few at a time, not the million up front.
    assert pulled[0] <= 2 + IN_FLIGHT_PER_WORKER + 2, pulled[0]


def test_prepare_template_on_the_command_line(tmp_path: Path) -> None:
    codes = ["482913", "771204", "482913"]
    data = tmp_path / "rows.csv"
    data.write_text(
        "id,code\n" + "".join(f"r{i},{c}\n" for i, c in enumerate(codes)) + "bad,12x4\nempty,\n", encoding="utf-8"
    )
    template = tmp_path / "otp.ssml"
    template.write_text(OTP, encoding="utf-8")
    out, report = tmp_path / "out", tmp_path / "report.json"
    proc = voxpipe(
        "prepare", "--template", str(template), "--data", str(data), "-p", "pstn", "-o", str(out),
        "--report", str(report),
    )  # fmt: skip
    assert proc.returncode == 1  # two rows failed
    errors = [line for line in proc.stderr.splitlines() if line.startswith("error")]
    assert errors == [
        "error  bad: rows.csv line 5: code: the value is not digits",
        "error  empty: rows.csv line 6: code: empty",
    ]
    data_out = json.loads(report.read_text(encoding="utf-8"))
    by_id = {item["id"]: item for item in data_out["items"]}
    assert data_out["summary"]["items"] == 5 and data_out["summary"]["ok"] == 3
    assert by_id["r0"]["artifacts"][0]["path"] == by_id["r2"]["artifacts"][0]["path"]  # the same message, one file
    assert by_id["r0"]["artifacts"][0]["path"] != by_id["r1"]["artifacts"][0]["path"]
    assert by_id["r0"]["text"] == OTP.replace("{code}", MASK)
    # The codes appear nowhere: not on the screen, in the report, in sidecars or in file names.
    everything = proc.stdout + proc.stderr + report.read_text(encoding="utf-8")
    for path in out.rglob("*"):
        everything += path.name
        if path.suffix == ".json":
            everything += path.read_text(encoding="utf-8")
    for code in codes:
        assert code not in everything
        assert mask_values(everything, [code]) == everything  # nor spelled out
