"""The review page: a real batch prepared by ``voxpipe prepare --review``, its page read as data and
opened in headless Chromium over HTTP (players load, flags sort first, nothing from a report runs)."""

from __future__ import annotations

import json
import re
import shutil
from pathlib import Path
from typing import Any
from urllib.parse import unquote

import numpy as np
import pyloudnorm
import pytest
import soundfile

from tests.browser import StaticServer, chromium, keep_for_docs
from tests.cli import voxpipe
from voxpipe.pipeline.errors import VoxpipeError
from voxpipe.pipeline.pages import ReviewSettings, build_review, load_report, review_data
from voxpipe.pipeline.pages.audio_facts import measure_file, momentary_loudness
from voxpipe.pipeline.pages.html import json_for_html

ROWS = [
    ("plain", "Hello! This is a reminder of your dental appointment tomorrow at ten thirty."),
    ("notice", "Your parcel arrives today between nine and eleven. Please keep your phone nearby."),
    ("code", '<speak>Your code is <say-as interpret-as="digits">4839</say-as>. Once more, '
             '<say-as interpret-as="digits">4839</say-as>.</speak>'),
    ("pause", '<speak>Please hold the line. <break time="3s"/> Thank you for waiting, an agent will answer you soon.</speak>'),
    ("hurry", '<speak><prosody rate="200%">This message is read out far too fast for anybody to follow it '
              "comfortably at all.</prosody></speak>"),
    ("tom", "Tom & Jerry's bakery: a < b and c > d, all week."),
    ("broken", "<speak><foo>not a tag voxpipe knows</foo></speak>"),
]  # fmt: skip
HOSTILE_ID = "<script>window.__pwned = 1</script>"
HOSTILE_TEXT = '<img src=x onerror="window.__pwned = 2"></script><script>window.__pwned = 3</script>'


@pytest.fixture(scope="module")
def batch(tmp_path_factory: pytest.TempPathFactory, speech_wav: Path) -> dict[str, Any]:
    """``voxpipe prepare manifest.csv --review``: text, markup, a clipped source and a broken row."""
    root = tmp_path_factory.mktemp("review")
    samples, rate = soundfile.read(str(speech_wav), dtype="float32")
    loud = root / "loud.wav"
    soundfile.write(str(loud), np.clip(samples * 6.0, -1.0, 1.0), rate, subtype="PCM_16")  # flat tops
    manifest = root / "batch.jsonl"
    lines = [{"id": i, "text": t} for i, t in ROWS] + [{"id": "loud", "audio": str(loud)}]
    manifest.write_text("".join(json.dumps(line) + "\n" for line in lines), encoding="utf-8")
    out = root / "out"
    proc = voxpipe("prepare", str(manifest), "--out", str(out), "--review", "--report", str(out / "report.json"),
                   cwd=root)  # fmt: skip
    assert proc.returncode == 1, proc.stderr  # the broken row
    assert "review page: " in proc.stderr and "(8 item(s), 1 failed, " in proc.stderr
    report = json.loads((out / "report.json").read_text())
    return {"root": root, "out": out, "report": report, "page": out / "review.html"}


def _data(batch: dict[str, Any], **kw: Any) -> dict[str, Any]:
    return review_data(batch["report"], batch["page"], batch["out"], ReviewSettings(**kw))


# --------------------------------------------------------------------------- the report and its measurements


def test_the_report_carries_what_was_said_and_how_many_words(batch: dict[str, Any]) -> None:
    items = {i["id"]: i for i in batch["report"]["items"]}
    assert items["plain"]["text"] == ROWS[0][1] and items["plain"]["audio"] is None
    assert items["plain"]["words"] == 13
    assert items["code"]["words"] == 13  # each digit read out is a word: "Your code is four eight three nine..."
    assert (
        items["loud"]["text"] is None and items["loud"]["audio"].endswith("loud.wav") and items["loud"]["words"] is None
    )
    assert items["broken"]["status"] == "error" and items["broken"]["text"] == ROWS[-1][1]
    clipped = [w for w in items["loud"]["warnings"] if w.startswith("the source clips: ")]
    assert len(clipped) == 1 and re.search(r"\d+ samples at full scale in \d+ places", clipped[0])
    assert not any("clips" in w for i in items.values() if i["id"] != "loud" for w in i["warnings"])


def test_momentary_loudness_gates_to_the_integrated_loudness_pyloudnorm_measures(batch: dict[str, Any]) -> None:
    for artifact in batch["report"]["items"][0]["artifacts"]:
        samples, rate = soundfile.read(artifact["path"], dtype="float64")
        blocks = momentary_loudness(samples, rate)
        gated = blocks[blocks > -70]
        relative = 10 * np.log10(np.mean(10 ** ((gated + 0.691) / 10))) - 10
        kept = gated[gated > relative]
        integrated = -0.691 + 10 * np.log10(np.mean(10 ** ((kept + 0.691) / 10)))
        assert integrated == pytest.approx(pyloudnorm.Meter(rate).integrated_loudness(samples), abs=0.05)
        assert integrated == pytest.approx(artifact["lufs"], abs=0.1)


def test_silences_and_speaking_time_come_from_the_file(tmp_path: Path) -> None:
    rate = 16000
    t = np.arange(rate) / rate
    tone = (0.3 * np.sin(2 * np.pi * 440 * t)).astype(np.float32)
    gap = np.zeros(int(2.5 * rate), dtype=np.float32)
    edge = np.zeros(rate // 2, dtype=np.float32)
    path = tmp_path / "gap.wav"
    soundfile.write(str(path), np.concatenate([edge, tone, gap, tone, edge]), rate, subtype="PCM_16")
    facts = measure_file(path)
    assert facts.duration_s == pytest.approx(5.5)
    assert [(round(s, 2), round(n, 2)) for s, n in facts.silences] == [(1.5, 2.5)]  # not the lead or the tail
    assert facts.speech_s == pytest.approx(2.0, abs=0.02)
    assert len(facts.peaks) == 160 and max(facts.peaks) == pytest.approx(300, abs=5) and min(facts.peaks) == 0
    assert facts.hop_s == 0.1 and len(facts.momentary) == 52
    assert facts.momentary[0] is None and max(v for v in facts.momentary if v is not None) > -20


def test_outliers_are_flagged_for_what_is_wrong_with_them(batch: dict[str, Any]) -> None:
    data = _data(batch)
    flags = {i["id"]: {kind for kind, _ in i["flags"]} for i in data["items"]}
    assert flags["pause"] == {"silence"}
    assert flags["hurry"] == {"rate"}
    assert "clipping" in flags["loud"]
    assert flags["broken"] == {"failed"}
    assert flags["plain"] == flags["notice"] == flags["tom"] == set()
    assert flags["code"] == {"rate"}  # read digit by digit with a pause between: slow against this batch
    pause = next(i for i in data["items"] if i["id"] == "pause")
    assert any(re.fullmatch(r"(pstn|whatsapp): 3\.\d s of silence at \d\.\d s", d) for _, d in pause["flags"])
    hurry = next(i for i in data["items"] if i["id"] == "hurry")
    assert hurry["wps"] > 1.35 * data["summary"]["median_wps"]
    assert data["summary"] | {"audio_s": 0, "bytes": 0, "median_wps": 0} == {
        "items": 8, "ok": 7, "failed": 1, "flagged": 4, "audio_s": 0, "files": 14, "bytes": 0, "reused": 0,
        "median_wps": 0,
    }  # fmt: skip
    # Thresholds are settings: a lenient reviewer sees no pause or rate outliers.
    lenient = _data(batch, long_silence_s=5.0, rate_ratio=3.0)
    assert {k for i in lenient["items"] for k, _ in i["flags"]} == {"clipping", "failed"}


def test_the_profile_target_and_a_loudness_miss(batch: dict[str, Any]) -> None:
    report = json.loads(json.dumps(batch["report"]))
    first = report["items"][0]["artifacts"][0]
    first["lufs"] = first["lufs"] - 3
    data = review_data(report, batch["page"], batch["out"])
    shown = data["items"][0]["artifacts"][0]
    assert (shown["target_lufs"], shown["ceiling_dbtp"]) == (
        (-22.0, -2.0) if shown["profile"] == "pstn" else (-18.0, -1.5)
    )
    assert [k for k, _ in data["items"][0]["flags"]] == ["loudness"]


def test_media_by_relative_path_or_by_media_url(batch: dict[str, Any], tmp_path: Path) -> None:
    report = json.loads(json.dumps(batch["report"]))
    first = report["items"][0]["artifacts"]
    first[0]["media_url"] = "https://cdn.example.com/voice/a b.mp3?sig=1"
    first[1]["media_url"] = "javascript:alert(1)"
    page = tmp_path / "pages" / "r.html"
    by_path = review_data(report, page, batch["out"])["items"][0]["artifacts"]
    assert by_path[0]["src"].startswith("../")
    assert Path(page.parent, unquote(by_path[0]["src"])).resolve() == Path(first[0]["path"]).resolve()
    by_url = review_data(report, page, batch["out"], ReviewSettings(media="url"))["items"][0]["artifacts"]
    assert by_url[0]["src"] == "https://cdn.example.com/voice/a b.mp3?sig=1"
    assert by_url[1]["src"] == by_path[1]["src"]  # not an http(s) URL: the file by path instead
    # A file that is gone is said so, with no player pointing nowhere.
    first[0]["path"] = str(tmp_path / "gone.mp3")
    gone = review_data(report, page, batch["out"])["items"][0]
    assert gone["artifacts"][0]["src"] is None and gone["artifacts"][0]["problem"] == "file not found"
    assert ["missing", f"{gone['artifacts'][0]['profile']}: file not found"] in gone["flags"]


def test_files_are_found_beside_a_report_that_moved(batch: dict[str, Any], tmp_path: Path) -> None:
    moved = tmp_path / "moved"
    shutil.copytree(batch["out"], moved)
    report = load_report(moved / "report.json")
    for item in report["items"]:
        for a in item["artifacts"]:
            a["path"] = "elsewhere/" + Path(a["path"]).name
    data = review_data(report, moved / "review.html", moved)
    assert all(a["src"] == a["name"] and a["facts"] for i in data["items"] for a in i["artifacts"])


def test_report_values_are_escaped_in_the_html(batch: dict[str, Any]) -> None:
    report = _hostile(batch)
    page = build_review(report, batch["page"], batch["out"])
    assert HOSTILE_ID not in page and "</script><script>" not in page and "<img src=x" not in page
    assert "\\u003cscript\\u003ewindow.__pwned = 1\\u003c/script\\u003e" in page
    assert json_for_html({"a": "</script>\u2028&"}) == '{"a":"\\u003c/script\\u003e\\u2028\\u0026"}'
    policy = re.search(r'Content-Security-Policy" content="([^"]+)"', page)
    assert (
        policy and "default-src &#x27;none&#x27;" in policy.group(1) and "script-src &#x27;sha256-" in policy.group(1)
    )
    assert not re.search(r"<(link|script)[^>]+(src|href)=\"?https?:", page)  # nothing fetched but the audio


def _hostile(batch: dict[str, Any]) -> dict[str, Any]:
    report = json.loads(json.dumps(batch["report"]))
    report["items"][0]["id"] = HOSTILE_ID
    report["items"][0]["text"] = HOSTILE_TEXT
    report["items"][0]["warnings"] = ["<b onmouseover=alert(1)>warning</b>"]
    return report


def test_a_file_that_is_not_a_report_is_one_line(tmp_path: Path) -> None:
    cases = {
        "missing.json": None,
        "text.json": "not json",
        "list.json": "[1, 2]",
        "items.json": '{"items": [{"id": 3}]}',
        "artifacts.json": '{"items": [{"id": "a", "artifacts": "x"}]}',
    }
    for name, content in cases.items():
        path = tmp_path / name
        if content is not None:
            path.write_text(content)
        with pytest.raises(VoxpipeError, match=re.escape(str(path))):
            load_report(path)
        proc = voxpipe("review", str(path))
        assert proc.returncode == 1 and proc.stderr.count("\n") == 1 and proc.stderr.startswith(f"Error: {path}: ")
        assert not (tmp_path / "review.html").exists()
    good = tmp_path / "good.json"
    good.write_text('{"items": []}')
    folder = tmp_path / "folder"
    folder.mkdir()
    proc = voxpipe("review", str(good), "-o", str(folder))
    assert proc.returncode == 1 and proc.stderr == f"Error: {folder}: cannot write the page: Is a directory\n"
    assert sorted(p.name for p in folder.iterdir()) == []  # no part file left
    proc = voxpipe("review", str(good), "--media", "ftp")
    assert proc.returncode == 2 and "'ftp' is not one of 'path', 'url'" in proc.stderr


def test_review_command_writes_beside_the_report(batch: dict[str, Any], tmp_path: Path) -> None:
    report = tmp_path / "saved.json"
    report.write_text(json.dumps(batch["report"]))
    proc = voxpipe("review", str(report), cwd=batch["root"])
    assert proc.returncode == 0, proc.stderr
    assert proc.stderr == f"review page: {tmp_path / 'review.html'} (8 item(s), 1 failed, 4 flagged)\n"
    assert "<title>Review: saved.json</title>" in (tmp_path / "review.html").read_text()


# --------------------------------------------------------------------------- in the browser

_AUDIO_READY = """
(async () => {
  const players = [...document.querySelectorAll("audio")];
  const ready = players.map((a) => a.readyState >= 1 ? null : new Promise((ok, fail) => {
    a.addEventListener("loadedmetadata", ok, { once: true });
    a.addEventListener("error", () => fail(new Error("cannot load " + a.src)), { once: true });
  }));
  await Promise.race([Promise.all(ready), new Promise((_, fail) => setTimeout(() => fail(new Error("timeout")), 30000))]);
  return players.map((a) => [a.closest("article").dataset.id, a.getAttribute("src"), a.duration]);
})()
"""


def _ids(tab: Any) -> list[str]:
    return tab.evaluate('[...document.querySelectorAll("article.item")].map((a) => a.dataset.id)')  # type: ignore[no-any-return]


def _choose(tab: Any, select: str, value: str) -> None:
    tab.evaluate(f'(() => {{ const s = document.getElementById("{select}"); s.value = "{value}"; '
                 's.dispatchEvent(new Event("change")); })()')  # fmt: skip


@pytest.mark.browser
def test_page_in_chromium_plays_every_file_and_sorts_flagged_items_first(batch: dict[str, Any], tmp_path: Path) -> None:
    durations = {Path(a["path"]).name: a["duration_s"] for i in batch["report"]["items"] for a in i["artifacts"]}
    with StaticServer(batch["out"]) as server, chromium(tmp_path) as tab:
        tab.open(f"{server.url}/review.html")
        players = tab.evaluate(_AUDIO_READY)
        assert len(players) == len(durations) == 14
        for item_id, src, duration in players:
            assert duration == pytest.approx(durations[src], abs=0.1), (item_id, src)
        assert _ids(tab) == [i for i, _ in ROWS] + ["loud"]  # input order
        summary = tab.evaluate('document.getElementById("summary").innerText')
        assert re.search(r"8\s+ITEMS\s+1\s+FAILED\s+4\s+FLAGGED", summary, re.I), summary
        shot = tab.screenshot(tmp_path / "review.png")
        _choose(tab, "sort", "flags")
        flagged = _ids(tab)
        assert flagged[0] == "broken"  # a failure first, then the flagged items, then the rest in input order
        assert set(flagged[1:5]) == {"loud", "pause", "hurry", "code"}
        assert flagged[5:] == ["plain", "notice", "tom"]
        assert tab.evaluate('document.querySelector("article.item .flag").dataset.kind') == "failed"
        _choose(tab, "filter", "flagged")
        assert _ids(tab) == flagged[:5]
        _choose(tab, "filter", "failed")
        assert _ids(tab) == ["broken"]
        assert tab.errors() == []
    assert shot.stat().st_size > 20_000
    keep_for_docs(shot, "review-page.png")


@pytest.mark.browser
def test_values_from_a_report_are_shown_never_run(batch: dict[str, Any], tmp_path: Path) -> None:
    page = batch["out"] / "hostile.html"
    page.write_text(build_review(_hostile(batch), page, batch["out"]), encoding="utf-8")
    with StaticServer(batch["out"]) as server, chromium(tmp_path) as tab:
        tab.open(f"{server.url}/hostile.html")
        first = tab.evaluate('(() => { const a = document.querySelector("article.item"); return [a.dataset.id, '
                             'a.querySelector(".id").textContent, a.querySelector(".said").textContent, '
                             'a.querySelector(".flag").textContent, a.querySelectorAll("img, b, script").length]; })()')  # fmt: skip
        assert first == [HOSTILE_ID, HOSTILE_ID, HOSTILE_TEXT, "warning: <b onmouseover=alert(1)>warning</b>", 0]
        assert tab.evaluate("typeof window.__pwned") == "undefined"
        assert tab.errors() == []


@pytest.mark.browser
def test_five_thousand_items_load_a_page_at_a_time(batch: dict[str, Any], tmp_path: Path) -> None:
    template = [i for i in batch["report"]["items"] if i["status"] == "ok"]
    items = [dict(template[n % len(template)], id=f"msg-{n:05d}") for n in range(5000)]
    page = batch["out"] / "big.html"
    page.write_text(build_review({"items": items}, page, batch["out"]), encoding="utf-8")
    with StaticServer(batch["out"]) as server, chromium(tmp_path) as tab:
        tab.open(f"{server.url}/big.html")
        shown = tab.evaluate('[document.body.dataset.rendered, document.querySelectorAll("article.item").length, '
                             'document.querySelector(".pager .where").textContent, '
                             'performance.getEntriesByType("navigation")[0].domComplete]')  # fmt: skip
        assert shown[:3] == ["5000", 50, "page 1 of 100 · 5000 item(s)"]
        assert shown[3] < 15_000  # loosely: bench/bench_review.py measures it (under 3 s here)
        tab.evaluate('document.querySelector(".pager .next").click()')
        assert _ids(tab)[0] == "msg-00050"
        assert tab.errors() == []
