"""The bad-input table: what users and attackers send, and what the error must name.

Every command-line case runs ``voxpipe ARGS`` in a subprocess, as a user
would, and must end with a non-zero exit, exactly one clear line on stderr
(a batch may add its one summary line) matching ``says``, no traceback
anywhere, nothing sent to a provider and nothing written to the output
folder. Placeholders in ``args``:

- ``{ws}``: the workspace of broken files (see ``workspace.py``);
- ``{out}``: this case's output folder, which must stay empty;
- ``{case}``: this case's own folder (journals, stores);
- ``{api}``: a provider base URL that records any request made to it;
- ``{journal}``: a fresh journal path in ``{case}``.
"""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass, field

from .workspace import BROKEN_PROFILES, CSV_MANIFESTS, JSONL_MANIFESTS, RAW_PROFILES, SEND_MANIFESTS


@dataclass(frozen=True)
class Case:
    id: str
    category: str
    args: tuple[str, ...]
    says: str
    """A regular expression (case-insensitive) the error line must match: it names the input."""
    env: Mapping[str, str] = field(default_factory=dict)
    batch: bool = False
    """A batch: one error line for the bad row, plus the batch's summary line."""
    writes: bool = False
    """The batch has good rows too, so its output folder may fill; only they may be written."""


CASES: list[Case] = []


def add(category: str, name: str, args: tuple[str, ...], says: str, **kw: object) -> None:
    CASES.append(Case(f"{category}-{name}", category, args, says, **kw))  # type: ignore[arg-type]


PREP = ("prepare", "--out", "{out}", "--no-progress")
SEND_MB = ("send", "-P", "messagebird", "--api-url", "{api}", "--journal", "{journal}", "--no-progress")
SEND_9 = ("send", "-P", "9bits", "--api-url", "{api}", "--journal", "{journal}", "--out", "{out}", "--no-progress")
TO = ("--to", "+2348020000001")

# --------------------------------------------------------------------------- markup
MARKUP: dict[str, tuple[str, str]] = {
    "unclosed-speak": ("<speak>hello", r"speak"),
    "unclosed-prosody": ('<prosody rate="slow">hello', r"prosody"),
    "unclosed-say-as": ('<say-as interpret-as="digits">12', r"say-as"),
    "stray-end": ("hello</speak>", r"speak"),
    "mismatched": ("<s><p>hello</s></p>", r"markup error"),
    "break-open": ('<break time="500ms">hello', r"break"),
    "break-time-word": ('a <break time="soon"/> b', r"soon|time"),
    "break-time-negative": ('a <break time="-1s"/> b', r"-1s|time"),
    "break-time-huge": ('a <break time="99999999999s"/> b', r"time|99999999999"),
    "break-time-overflow": ('a <break time="1e999ms"/> b', r"time|1e999"),
    "break-time-nan": ('a <break time="nanms"/> b', r"time|nan"),
    "break-time-empty": ('a <break time=""/> b', r"time"),
    "break-time-11s": ('a <break time="11s"/> b', r"time|10 s|11s"),
    "break-strength": ('a <break strength="huge"/> b', r"strength|huge"),
    "break-both": ('a <break time="1s" strength="weak"/> b', r"break|time|strength"),
    "prosody-rate-word": ('<prosody rate="fast!">x</prosody>', r"rate|fast!"),
    "prosody-rate-negative": ('<prosody rate="-200%">x</prosody>', r"rate|-200%"),
    "prosody-rate-overflow": ('<prosody rate="1e308">x</prosody>', r"rate|1e308"),
    "prosody-rate-huge-pct": ('<prosody rate="1e999%">x</prosody>', r"rate|1e999"),
    "prosody-rate-nan": ('<prosody rate="nan">x</prosody>', r"rate|nan"),
    "prosody-rate-inf": ('<prosody rate="inf">x</prosody>', r"rate|inf"),
    "prosody-pitch-overflow": ('<prosody pitch="+99999999999st">x</prosody>', r"pitch|99999999999"),
    "prosody-pitch-hz-overflow": ('<prosody pitch="+1e400Hz">x</prosody>', r"pitch|1e400"),
    "prosody-pitch-word": ('<prosody pitch="squeaky">x</prosody>', r"pitch|squeaky"),
    "prosody-pitch-unit": ('<prosody pitch="+2parsecs">x</prosody>', r"pitch|parsecs"),
    "prosody-volume-overflow": ('<prosody volume="+1e999dB">x</prosody>', r"volume|1e999"),
    "prosody-volume-word": ('<prosody volume="loudest">x</prosody>', r"volume|loudest"),
    "prosody-volume-huge": ('<prosody volume="+99999999999dB">x</prosody>', r"volume|99999999999"),
    "prosody-unknown-attr": ('<prosody speed="fast">x</prosody>', r"speed"),
    "say-as-unknown": ('<say-as interpret-as="emoji">x</say-as>', r"emoji|interpret-as"),
    "say-as-missing": ("<say-as>12</say-as>", r"interpret-as"),
    "say-as-cardinal-letters": ('<say-as interpret-as="cardinal">12x</say-as>', r"12x|cardinal"),
    "say-as-ordinal-letters": ('<say-as interpret-as="ordinal">abc</say-as>', r"abc|ordinal"),
    "say-as-date-format": ('<say-as interpret-as="date" format="xyz">2026-01-01</say-as>', r"format|xyz"),
    "say-as-date-invalid": ('<say-as interpret-as="date" format="ymd">2026-13-45</say-as>', r"date|2026-13-45"),
    "say-as-cardinal-4400": (
        '<say-as interpret-as="cardinal">' + "9" * 4400 + "</say-as>",
        r"cardinal|digits|long|number",
    ),
    "say-as-nested-break": ('<say-as interpret-as="digits">1<break time="1s"/>2</say-as>', r"break|say-as"),
    "say-as-nested-say-as": (
        '<say-as interpret-as="digits"><say-as interpret-as="digits">1</say-as></say-as>',
        r"say-as",
    ),
    "unknown-tag": ("<foo>hello</foo>", r"foo"),
    "audio-tag": ('<audio src="http://x/y.mp3"/>hello', r"audio"),
    "script-tag": ("<script>alert(1)</script>hello", r"script"),
    "doctype-entity": ('<!DOCTYPE speak [<!ENTITY x "boom">]><speak>&x;</speak>', r"doctype|entity|!"),
    "emphasis-level": ('<emphasis level="super">x</emphasis>', r"level|super"),
    "sub-no-alias": ("<sub>W3C</sub>", r"alias"),
    "attr-unquoted": ("<break time=1s/>", r"time|quote|attribute"),
    "attr-duplicate": ('<break time="1s" time="2s"/>', r"time|duplicate"),
    "lang-bad": ('<speak xml:lang="not a language">hi</speak>', r"lang"),
    "empty-speak": ("<speak></speak>", r"nothing|empty|no speech|no text"),
    "only-break": ('<break time="1s"/>', r"nothing|empty|no speech|no text"),
    "only-space": ("   ", r"nothing|empty|no speech|no text"),
    "only-punctuation": ("... !!! ???", r"nothing|empty|no speech|no text|no audio"),
    "lone-lt-tag-like": ("<speak", r"speak|markup"),
    "comment-unclosed": ("hello <!-- never closed", r"comment|markup"),
    "cdata": ("<![CDATA[hello]]>", r"cdata|markup"),
    "p-in-s": ("<s><p>x</p></s>", r"p|s"),
    "phoneme": ('<phoneme alphabet="ipa" ph="x">y</phoneme>', r"phoneme"),
    "mark": ('<mark name="a"/>hello', r"mark"),
    "voice-tag": ('<voice name="x">hello</voice>', r"voice"),
}
for name, (markup, says) in MARKUP.items():
    add("markup", name, (*PREP, "--text", markup), says)
for name in ("unclosed-prosody", "prosody-pitch-overflow", "break-time-overflow", "say-as-cardinal-4400", "unknown-tag",
             "say-as-date-invalid", "attr-duplicate"):  # fmt: skip
    add("markup", f"send-{name}", (*SEND_MB, *TO, "--text", MARKUP[name][0]), MARKUP[name][1])

# --------------------------------------------------------------------------- text size and length
add("text", "5mb-file", (*PREP, "--ssml-file", "{ws}/markup/big.ssml"), r"big\.ssml.*(bytes|characters)|too long|limit")
add("text", "just-over-limit", (*PREP, "--ssml-file", "{ws}/markup/just-over.txt"), r"characters|too long|limit")
add("text", "400-breaks", (*PREP, "--ssml-file", "{ws}/markup/breaks-400.ssml"), r"runs at least \d+ s.*limit")
add("text", "100-breaks", (*PREP, "--ssml-file", "{ws}/markup/breaks-100.ssml"), r"runs at least \d+ s.*limit")
add(
    "text",
    "long-vs-max-seconds",
    (*PREP, "--max-seconds", "5", "--text", "word " * 200),
    r"runs at least \d+ s.*limit is 5 s",
)
add(
    "text",
    "cardinal-5000",
    (*PREP, "--ssml-file", "{ws}/markup/digits-5000.ssml"),
    r"cardinal|digits|long|number|seconds",
)
add("text", "latin1-file", (*PREP, "--ssml-file", "{ws}/markup/latin1.ssml"), r"latin1|utf-8")
add("text", "empty-file", (*PREP, "--ssml-file", "{ws}/markup/empty.ssml"), r"empty|nothing|no text")
add("text", "folder-file", (*PREP, "--ssml-file", "{ws}/markup/folder.ssml"), r"folder|director|not a file|regular")
add("text", "dev-zero-file", (*PREP, "--ssml-file", "{ws}/markup/dev-zero.ssml"), r"dev-zero|regular|not a file")
add("text", "fifo-file", (*PREP, "--ssml-file", "{ws}/markup/fifo.ssml"), r"fifo|regular|not a file")
add("text", "missing-file", (*PREP, "--ssml-file", "{ws}/markup/nope.ssml"), r"nope\.ssml")
add("text", "deep-file", (*PREP, "--ssml-file", "{ws}/markup/deep.ssml"), r"characters|nest|deep|prosody")
add("text", "nul-file", (*PREP, "--ssml-file", "{ws}/markup/nul.ssml"), r"nul|control|character|\\x00|markup")
add("text", "ssml-looks-like-path", (*PREP, "--ssml", "/srv/messages/otp.ssmll"), r"otp\.ssmll|ssml-file")
add("text", "ssml-looks-like-file", (*PREP, "--ssml", "otp.ssml"), r"otp\.ssml|ssml-file")
add(
    "text", "send-ssml-path", (*SEND_MB, *TO, "--ssml", "/srv/messages/otp.ssmll", "--dry-run"), r"otp\.ssmll|ssml-file"
)
add(
    "text",
    "send-5mb",
    (*SEND_MB, *TO, "--ssml-file", "{ws}/markup/big.ssml"),
    r"big\.ssml.*(bytes|characters)|too long|limit|1000",
)
add("text", "send-over-body", (*SEND_MB, *TO, "--text", "word " * 300), r"1000|characters|body")
add("text", "both-text-and-ssml", (*PREP, "--text", "a", "--ssml", "<s>b</s>"), r"only one|--text|--ssml")
add("text", "mb-empty-body", (*SEND_MB, *TO, "--text", " "), r"empty|nothing|no text")

# --------------------------------------------------------------------------- numbers (options)
BAD_FLOATS = ("nan", "inf", "-inf", "1e999", "-1", "abc", "")
BAD_INTS = ("nan", "-1", "1.5", "99999999999999999999", "abc", "")
NUMERIC: list[tuple[str, tuple[str, ...], str, tuple[str, ...]]] = [
    ("send-rate", (*SEND_MB, *TO, "--text", "hi"), "--rate", BAD_FLOATS + ("0",)),
    ("send-timeout", (*SEND_MB, *TO, "--text", "hi"), "--timeout", BAD_FLOATS + ("0",)),
    ("send-concurrency", (*SEND_MB, *TO, "--text", "hi"), "--concurrency", BAD_INTS + ("0", "65")),
    ("send-retries", (*SEND_MB, *TO, "--text", "hi"), "--retries", BAD_INTS + ("21",)),
    (
        "send-expires",
        (*SEND_9, *TO, "--media-url", "https://example.com/a.mp3", "--store", "s3://b/p", "--url-mode", "presigned"),
        "--expires",
        BAD_INTS + ("0", "99999999"),
    ),
    ("prepare-jobs", (*PREP, "--text", "hi"), "--jobs", BAD_INTS + ("0", "257")),
    ("prepare-threads", (*PREP, "--text", "hi"), "--threads", BAD_INTS + ("0",)),
    ("prepare-max-seconds", (*PREP, "--text", "hi"), "--max-seconds", BAD_FLOATS + ("0",)),
    (
        "prepare-upload-workers",
        (*PREP, "--text", "hi", "--store", "{case}/store"),
        "--upload-workers",
        BAD_INTS + ("0",),
    ),
    (
        "status-timeout",
        ("status", "--journal", "{ws}/journals/text.db", "--watch"),
        "--timeout",
        ("nan", "inf", "-1", "abc"),
    ),
    (
        "status-interval",
        ("status", "--journal", "{ws}/journals/text.db", "--watch"),
        "--interval",
        ("nan", "inf", "0", "-1", "abc"),
    ),
    (
        "status-rate",
        ("status", "--journal", "{ws}/journals/text.db", "--refresh"),
        "--rate",
        ("nan", "inf", "0", "abc"),
    ),
    ("serve-port", ("serve", "{ws}/media"), "--port", ("-1", "65536", "99999999999999999999", "abc", "1.5")),
]
for name, base, flag, values in NUMERIC:
    for value in values:
        label = {
            "": "empty",
            "-1": "minus1",
            "-inf": "minusinf",
            "99999999999999999999": "huge",
            "1e999": "overflow",
        }.get(value, value)
        add("numbers", f"{name}-{label}", (*base, flag, value), rf"{flag}")
add(
    "numbers",
    "expires-with-directory-store",
    (*PREP, "--text", "hi", "--store", "{case}/store", "--expires", "99999999"),
    r"--expires",
)
add("numbers", "mb-repeat-11", (*SEND_MB, *TO, "--text", "hi", "-O", "repeat=11"), r"repeat|11")
add("numbers", "mb-repeat-nan", (*SEND_MB, *TO, "--text", "hi", "-O", "repeat=nan"), r"repeat|nan")
add(
    "numbers",
    "mb-machine-timeout",
    (*SEND_MB, *TO, "--text", "hi", "-O", "machine_timeout=1e9"),
    r"machine_timeout|1e9",
)
add("numbers", "mb-schedule", (*SEND_MB, *TO, "--text", "hi", "-O", "schedule=tomorrow"), r"schedule|tomorrow")
add(
    "numbers",
    "mb-schedule-overflow",
    (*SEND_MB, *TO, "--text", "hi", "-O", "schedule=99999-01-01T00:00:00Z"),
    r"schedule|99999",
)

# --------------------------------------------------------------------------- manifests
CSV_SAYS = {
    "header-only": r"header-only\.csv.*(no rows|empty|nothing)",
    "empty": r"empty\.csv",
    "blank-lines": r"blank-lines\.csv",
    "no-id-column": r"no-id-column\.csv.*id",
    "duplicate-id-column": r"duplicate-id-column\.csv.*(duplicate|twice|more than once)",
    "duplicate-text-column": r"duplicate-text-column\.csv.*(duplicate|twice|more than once)",
    "unbalanced-quote": r"unbalanced-quote\.csv.*(line \d|quote)",
    "extra-fields": r"extra-fields\.csv line 2",
    "missing-id": r"missing-id\.csv line 2.*id",
    "bad-id-slash": r"bad-id-slash\.csv line 2.*id",
    "bad-id-space": r"bad-id-space\.csv line 2.*id",
    "bad-id-dot": r"bad-id-dot\.csv line 2.*id",
    "long-id": r"long-id\.csv line 2.*id",
    "both-text-audio": r"both-text-audio\.csv line 2",
    "neither": r"neither\.csv line 2",
    "bad-profiles": r"nonexistent",
    "huge-field": r"huge-field\.csv.*(field|long|limit)",
    "nul-byte": r"control character",
    "bad-markup": r"markup|rate",
    "bad-engine": r"festival",
}
ROW_LEVEL = {"extra-fields", "missing-id", "bad-id-slash", "bad-id-space", "bad-id-dot", "long-id", "both-text-audio",
             "neither", "bad-profiles", "bad-markup", "bad-engine", "nul-byte"}  # fmt: skip
for name in CSV_MANIFESTS:
    add("manifests", f"csv-{name}", (*PREP, f"{{ws}}/manifests/{name}.csv"), CSV_SAYS[name], batch=name in ROW_LEVEL)
JSONL_SAYS = {
    "invalid-json": r"invalid-json\.jsonl line 1.*json",
    "array-row": r"array-row\.jsonl line 1.*object",
    "string-row": r"string-row\.jsonl line 1.*object",
    "text-number": r"line 1.*text",
    "text-object": r"line 1.*text",
    "id-object": r"line 1.*id",
    "profiles-object": r"line 1.*profiles",
    "deep-nesting": r"deep-nesting\.jsonl line 1",
    "huge-int": r"huge-int\.jsonl line 1",
    "nan": r"line 1",
    "duplicate-ids": r"duplicate",
    "only-blank": r"only-blank\.jsonl.*(no rows|empty|nothing)",
    "bad-audio-url": r"\[::1",
    "private-audio-url": r"127\.0\.0\.1|private|non-public",
    "bad-port-url": r"99999|port",
    "idna-url": r"xn--|host|url",
}
JSONL_FILE_LEVEL = {"only-blank"}
for name in JSONL_MANIFESTS:
    add(
        "manifests",
        f"jsonl-{name}",
        (*PREP, f"{{ws}}/manifests/{name}.jsonl"),
        JSONL_SAYS[name],
        batch=name not in JSONL_FILE_LEVEL,
        writes=name == "duplicate-ids",
    )
for name, says in [("latin1.csv", r"latin1\.csv.*(utf-8|decode)"), ("binary.csv", r"binary\.csv"), ("folder.csv", r"folder\.csv"),
                   ("dev-zero.csv", r"dev-zero\.csv"), ("fifo.csv", r"fifo\.csv"), ("unknown.xlsx", r"unknown\.xlsx"),
                   ("missing.csv", r"missing\.csv")]:  # fmt: skip
    add("manifests", f"file-{name.replace('.', '-')}", (*PREP, f"{{ws}}/manifests/{name}"), says)
SEND_MANIFEST_SAYS = {
    "no-to": r"recipient",
    "bad-to": r"OOO|letter",
    "no-message": r"text|message|--text",
    "header-only": r"header-only\.csv.*(no rows|empty|nothing)",
    "unbalanced-quote": r"unbalanced-quote\.csv.*(line \d|quote)",
    "to-object": r"to",
    "deep": r"deep\.jsonl line 1",
}
for name, text in SEND_MANIFESTS.items():
    suffix = ".jsonl" if text.startswith("{") else ".csv"
    add("manifests", f"send-{name}", (*SEND_MB, f"{{ws}}/send/{name}{suffix}"), SEND_MANIFEST_SAYS[name],
        batch=name not in ("header-only", "unbalanced-quote"))  # fmt: skip

# --------------------------------------------------------------------------- audio files
AUDIO = {
    "empty.wav": r"empty",
    "text.wav": r"text\.wav",
    "text.mp3": r"text\.mp3",
    "random.ogg": r"random\.ogg",
    "random.mp3": r"random\.mp3",
    "header-only.wav": r"header-only\.wav",
    "header-lies.wav": r"header-lies\.wav",
    "truncated.wav": r"truncated\.wav",
    "truncated.mp3": r"truncated\.mp3",
    "zero-channels.wav": r"zero-channels\.wav",
    "zero-rate.wav": r"zero-rate\.wav",
    "one-sample.wav": r"one-sample\.wav",
    "silence.wav": r"silen",
    "nan.wav": r"nan\.wav",
    "inf.wav": r"inf\.wav",
    "digital-silence.flac": r"silen",
    "mp3-named.ogg": r"mp3-named\.ogg",
    "not-audio.flac": r"not-audio\.flac",
    "html.mp3": r"html\.mp3",
    "zip.wav": r"zip\.wav",
    "folder.wav": r"folder\.wav",
    "dev-zero.wav": r"dev-zero\.wav",
    "fifo.wav": r"fifo\.wav",
    "missing.wav": r"missing\.wav",
}
for name, says in AUDIO.items():
    add("audio", name.replace(".", "-"), (*PREP, "--audio", f"{{ws}}/audio/{name}"), says)
add(
    "audio",
    "max-seconds-short",
    (*PREP, "--audio", "{ws}/media/ok.mp3", "--max-seconds", "0.5"),
    r"ok\.mp3.*(long|limit|seconds)",
)
for name in ("text.wav", "silence.wav", "fifo.wav", "missing.wav"):
    add(
        "audio",
        f"send-{name.replace('.', '-')}",
        (*SEND_9, *TO, "--audio", f"{{ws}}/audio/{name}", "--store", "{case}/store"),
        AUDIO[name],
    )

# --------------------------------------------------------------------------- URLs
AUDIO_URLS = {
    "ftp": ("ftp://example.com/a.wav", r"http"),
    "file": ("file:///etc/passwd", r"http"),
    "gopher": ("gopher://example.com/", r"http"),
    "data": ("data:audio/wav;base64,AAAA", r"data|http|no such file"),
    "loopback": ("http://127.0.0.1:9/a.wav", r"127\.0\.0\.1|private|non-public"),
    "loopback-name": ("http://localhost:9/a.wav", r"localhost|127\.0\.0\.1|::1|private|non-public"),
    "ipv6-loopback": ("http://[::1]:9/a.wav", r"::1|private|non-public"),
    "metadata": ("http://169.254.169.254/latest/meta-data/", r"169\.254|private|non-public"),
    "decimal-ip": ("http://2130706433/a.wav", r"127\.0\.0\.1|private|non-public|2130706433"),
    "hex-ip": ("http://0x7f.0.0.1/a.wav", r"127\.0\.0\.1|private|non-public|0x7f"),
    "zero-ip": ("http://0.0.0.0:9/a.wav", r"0\.0\.0\.0|private|non-public"),
    "private-10": ("http://10.0.0.1/a.wav", r"10\.0\.0\.1|private|non-public"),
    "port-overflow": ("http://example.com:99999/a.wav", r"99999|port"),
    "port-word": ("http://example.com:http/a.wav", r"port|example\.com:http"),
    "ipv6-unclosed": ("http://[::1/a.wav", r"\[::1|ipv6|url"),
    "ipv6-zone": ("http://[fe80::1%25eth0]/a.wav", r"fe80|private|non-public|zone"),
    "no-host": ("http:///a.wav", r"host"),
    "scheme-only": ("http://", r"host"),
    "password-private": ("http://user:hunter2@127.0.0.1:9/a.wav", r"127\.0\.0\.1|private|non-public"),
    "idna-bad": ("http://xn--/a.wav", r"xn--|host|url"),
    "space-in-host": ("http://exa mple.com/a.wav", r"exa mple|host|url"),
    "unresolvable": ("http://nonexistent.invalid/a.wav", r"nonexistent\.invalid"),
}
for name, (url, says) in AUDIO_URLS.items():
    add("urls", f"audio-{name}", (*PREP, "--audio", url), says)
API_URLS = {
    "ftp": ("ftp://example.com", r"http|api"),
    "no-scheme": ("example.com", r"http|api"),
    "port-overflow": ("http://example.com:99999", r"99999|port"),
    "ipv6-unclosed": ("http://[::1", r"\[::1|url|ipv6"),
    "password-bad-port": ("http://user:hunter2@example.com:bad", r"port|url"),
    "empty": ("", r"api|url|http"),
}
for name, (url, says) in API_URLS.items():
    add(
        "urls",
        f"api-{name}",
        ("send", "-P", "messagebird", "--api-url", url, "--journal", "{journal}", *TO, "--text", "hi"),
        says,
    )
STORES = {
    "ftp": ("ftp://host/x", r"ftp|scheme"),
    "s3-empty": ("s3://", r"bucket|s3://"),
    "s3-short": ("s3://a", r"bucket"),
    "s3-bad-bucket": ("s3://bad_bucket!/x", r"bucket"),
    "s3-dotdot": ("s3://bucket/../x", r"prefix|\.\."),
    "s3-star": ("s3://bucket/a*b", r"prefix|\*"),
    "under-a-file": ("{ws}/journals/a-file/store", r"a-file|director|not a"),
    "empty": ("", r"store|empty"),
}
for name, (spec, says) in STORES.items():
    add("urls", f"store-{name}", (*PREP, "--text", "hi", "--store", spec), says)
ENDPOINTS = {
    "port-overflow": ("http://127.0.0.1:99999", r"99999|port|endpoint"),
    "ipv6-unclosed": ("http://[::1", r"endpoint|url|\[::1"),
    "ftp": ("ftp://127.0.0.1", r"endpoint|http"),
    "no-host": ("http://", r"endpoint|host"),
}
for name, (url, says) in ENDPOINTS.items():
    add("urls", f"endpoint-{name}", (*PREP, "--text", "hi", "--store", "s3://bucket/p", "--endpoint-url", url), says)
BASE_URLS = {
    "port-overflow": ("http://example.com:99999", r"99999|port|base"),
    "ipv6-unclosed": ("http://[::1", r"base|url|\[::1"),
    "no-scheme": ("example.com/media", r"base|http"),
}
for name, (url, says) in BASE_URLS.items():
    add("urls", f"base-{name}", (*PREP, "--text", "hi", "--store", "{case}/store", "--base-url", url), says)
    add("urls", f"serve-base-{name}", ("serve", "{ws}/media", "--port", "0", "--base-url", url), says)
MEDIA_URLS = {
    "ftp": ("ftp://example.com/a.mp3", r"media-url|http"),
    "port-overflow": ("https://example.com:99999/a.mp3", r"99999|port|media-url"),
    "ipv6-unclosed": ("https://[::1/a.mp3", r"media-url|url|\[::1"),
    "no-host": ("https:///a.mp3", r"media-url|host"),
    "spaces": ("https://example.com/a b.mp3", r"media-url|space|url"),
}
for name, (url, says) in MEDIA_URLS.items():
    add("urls", f"media-{name}", (*SEND_9, *TO, "--media-url", url), says)
PUBLIC_URLS = {
    "ftp": ("ftp://voice.example.com", r"public-url|http"),
    "query": ("https://voice.example.com/?a=1", r"public-url|query"),
    "port-overflow": ("https://voice.example.com:99999", r"public-url|port|99999"),
    "ipv6-unclosed": ("https://[::1", r"public-url|url"),
    "empty": ("", r"public-url|http"),
}
for name, (url, says) in PUBLIC_URLS.items():
    add("urls", f"public-{name}", ("hooks", "--journal", "{journal}", "--public-url", url), says)
add("urls", "report-url-bad", (*SEND_MB, *TO, "--text", "hi", "-O", "report_url=ftp://x"), r"report_url|http")
add("urls", "serve-host-bad", ("serve", "{ws}/media", "--port", "0", "--host", "no such host name!"), r"host|listen")

# --------------------------------------------------------------------------- profiles
PROFILES_ENV = {"VOXPIPE_PROFILES_DIR": "{ws}/profiles"}
for name in [*BROKEN_PROFILES, *RAW_PROFILES, "folder"]:
    add("profiles", name, (*PREP, "--text", "hi", "-p", name), rf"{name}|profile", env=PROFILES_ENV)
add("profiles", "unknown", (*PREP, "--text", "hi", "-p", "nonexistent"), r"nonexistent")
add("profiles", "traversal", (*PREP, "--text", "hi", "-p", "../../etc/passwd"), r"passwd|profile")
add("profiles", "missing-path", (*PREP, "--text", "hi", "-p", "/nonexistent/x.json"), r"x\.json|profile")
add(
    "profiles",
    "dir-env-is-file",
    (*PREP, "--text", "hi", "-p", "pstn2"),
    r"pstn2|profile",
    env={"VOXPIPE_PROFILES_DIR": "{ws}/journals/a-file"},
)

# --------------------------------------------------------------------------- options
OPTIONS: dict[str, tuple[tuple[str, ...], str]] = {
    "prepare-nothing": ((*PREP,), r"nothing|give"),
    "prepare-two-inputs": ((*PREP, "--text", "a", "--audio", "b.wav"), r"only one"),
    "prepare-unknown-engine": ((*PREP, "--text", "hi", "--engine", "festival"), r"festival"),
    "prepare-missing-voice": ((*PREP, "--text", "hi", "--voice", "/nonexistent/voice.onnx"), r"voice\.onnx|voice"),
    "prepare-voice-not-onnx": ((*PREP, "--text", "hi", "--voice", "{ws}/journals/text.db"), r"text\.db|voice"),
    "prepare-bad-tld": ((*PREP, "--text", "hi", "--engine", "gtts", "--tld", "evil.example/"), r"tld"),
    "prepare-bad-language": ((*PREP, "--text", "hi", "--engine", "gtts", "--language", "klingon"), r"klingon"),
    "prepare-id-traversal": ((*PREP, "--text", "hi", "--id", "../../x"), r"\.\./\.\./x|id"),
    "prepare-id-empty": ((*PREP, "--text", "hi", "--id", ""), r"id"),
    "prepare-id-slash": ((*PREP, "--text", "hi", "--id", "a/b"), r"a/b|id"),
    "prepare-id-nul": ((*PREP, "--text", "hi", "--id", "a\x01b"), r"id"),
    "prepare-out-is-file": (("prepare", "--out", "{ws}/journals/a-file", "--text", "hi"), r"a-file"),
    "prepare-report-unwritable": (
        (*PREP, "--text", "hi", "--report", "{ws}/journals/a-file/r.json"),
        r"r\.json|report",
    ),
    "prepare-report-is-dir": ((*PREP, "--text", "hi", "--report", "{ws}/journals/folder.db"), r"folder\.db|report"),
    "prepare-unknown-source": ((*PREP, "{ws}/nonexistent"), r"nonexistent"),
    "prepare-empty-folder": ((*PREP, "{case}"), r"no manifests|folder"),
    "send-unknown-provider": (("send", "-P", "twilio", *TO, "--text", "hi"), r"twilio"),
    "send-no-provider": (("send", *TO, "--text", "hi"), r"provider|-P"),
    "send-no-recipients": ((*SEND_MB, "--text", "hi"), r"recipient|--to"),
    "send-no-message": ((*SEND_MB, *TO), r"text|message|--text"),
    "send-two-messages": (
        (*SEND_MB, *TO, "--text", "a", "--media-url", "https://e.com/a.mp3"),
        r"exactly one|only one",
    ),
    "send-manifest-and-to": ((*SEND_MB, "{ws}/send/no-to.csv", *TO), r"manifest|both"),
    "send-mode-tts-9bits": ((*SEND_9, *TO, "--text", "hi", "--mode", "tts"), r"9bits|tts|speak"),
    "send-mode-bogus": ((*SEND_MB, *TO, "--text", "hi", "--mode", "fax"), r"mode|fax"),
    "send-media-url-alphasms": (
        (
            "send",
            "-P",
            "alphasms",
            "--api-url",
            "{api}",
            "--journal",
            "{journal}",
            *TO,
            "--media-url",
            "https://e.com/a.wav",
        ),
        r"upload|media-url",
    ),
    "send-9bits-no-store": ((*SEND_9, *TO, "--text", "hi"), r"store|media-url"),
    "send-wawp-mp3": (
        (
            "send",
            "-P",
            "wawp",
            "--api-url",
            "{api}",
            "--journal",
            "{journal}",
            *TO,
            "--media-url",
            "https://e.com/a.mp3",
            "--store",
            "{case}/store",
        ),
        r"opus|ogg|mp3|whatsapp",
    ),
    "send-mb-language": ((*SEND_MB, *TO, "--text", "hi", "-O", "language=uk-ua"), r"uk-ua|language"),
    "send-mb-voice": ((*SEND_MB, *TO, "--text", "hi", "-O", "voice=robot"), r"voice|robot"),
    "send-option-no-equals": ((*SEND_MB, *TO, "--text", "hi", "-O", "language"), r"NAME=VALUE|-O"),
    "send-option-unknown": ((*SEND_MB, *TO, "--text", "hi", "-O", "colour=red"), r"colour"),
    "send-speech-language": (
        (*SEND_MB, *TO, "--text", "<say-as interpret-as='cardinal'>12</say-as>", "--language", "tlh"),
        r"tlh|language",
    ),
    "send-mb-originator": ((*SEND_MB, *TO, "--text", "hi", "-O", "originator=ACME corp!"), r"originator"),
    "send-mb-if-machine": ((*SEND_MB, *TO, "--text", "hi", "-O", "if_machine=explode"), r"if_machine|explode"),
    "send-mb-reference-space": ((*SEND_MB, *TO, "--text", "hi", "-O", "reference=a b"), r"reference"),
    "send-9bits-option": ((*SEND_9, *TO, "--media-url", "https://e.com/a.mp3", "-O", "repeat=2"), r"repeat|9bits"),
    "send-wawp-reply-to": (
        (
            "send",
            "-P",
            "wawp",
            "--api-url",
            "{api}",
            "--journal",
            "{journal}",
            *TO,
            "--media-url",
            "https://e.com/a.ogg",
            "-O",
            "reply_to=nope",
        ),
        r"reply_to|serialized",
    ),
    "send-alpha-voice-name": (
        (
            "send",
            "-P",
            "alphasms",
            "--api-url",
            "{api}",
            "--journal",
            "{journal}",
            *TO,
            "--text",
            "hi",
            "-O",
            "voice_name=xx-Evil",
        ),
        r"voice_name|voice",
    ),
    "send-alpha-dtmf": (
        (
            "send",
            "-P",
            "alphasms",
            "--api-url",
            "{api}",
            "--journal",
            "{journal}",
            *TO,
            "--text",
            "hi",
            "-O",
            "dtmf=maybe",
        ),
        r"dtmf|maybe",
    ),
    "send-alpha-gender": (
        (
            "send",
            "-P",
            "alphasms",
            "--api-url",
            "{api}",
            "--journal",
            "{journal}",
            *TO,
            "--text",
            "hi",
            "-O",
            "gender=robot",
        ),
        r"gender|robot",
    ),
    "send-default-region": ((*SEND_MB, *TO, "--text", "hi", "--default-region", "XX"), r"XX|region"),
    "send-missing-credential": ((*SEND_MB, *TO, "--text", "hi"), r"VOXPIPE_MESSAGEBIRD_KEY|credential"),
    "send-campaign-mismatch": (
        (*SEND_MB, *TO, "--text", "hi", "--campaign", "c1", "--journal", "{ws}/journals/foreign.db"),
        r"foreign\.db|journal",
    ),
    "status-no-journal": (("status", "--journal", "{case}/none.db"), r"none\.db"),
    "status-unknown-campaign": (
        ("status", "--journal", "{ws}/journals/text.db", "--campaign", "nope"),
        r"text\.db|nope",
    ),
    "cancel-no-journal": (("cancel", "--campaign", "c", "--journal", "{case}/none.db"), r"none\.db"),
    "hooks-no-public-url": (("hooks", "--journal", "{journal}"), r"public-url"),
    "serve-missing-dir": (("serve", "{case}/nope", "--port", "0"), r"nope"),
    "serve-dir-is-file": (("serve", "{ws}/journals/a-file", "--port", "0"), r"a-file"),
    "unknown-command": (("fly",), r"fly"),
    "unknown-option": (("prepare", "--colour", "red"), r"colour"),
    "storage-init-bad-spec": (("storage", "init", "ftp://x"), r"ftp|s3://"),
    "storage-init-bad-endpoint": (("storage", "init", "s3://bucket", "--endpoint-url", "http://[::1"), r"endpoint|url"),
}
NO_CREDS = {"VOXPIPE_MESSAGEBIRD_KEY": ""}
for name, (args, says) in OPTIONS.items():
    add("options", name, args, says, env=NO_CREDS if name == "send-missing-credential" else {})

# --------------------------------------------------------------------------- journals
# An empty file is an empty SQLite database: it becomes a journal, as a new path would.
JOURNALS = {"text": r"text\.db", "foreign": r"foreign\.db", "truncated": r"truncated\.db",
            "folder": r"folder\.db", "under-a-file": r"a-file"}  # fmt: skip
JOURNAL_PATHS = {"text": "{ws}/journals/text.db", "foreign": "{ws}/journals/foreign.db",
                 "truncated": "{ws}/journals/truncated.db", "folder": "{ws}/journals/folder.db",
                 "under-a-file": "{ws}/journals/a-file/j.db"}  # fmt: skip
for name, path in JOURNAL_PATHS.items():
    says = JOURNALS[name]
    add(
        "journals",
        f"send-{name}",
        ("send", "-P", "messagebird", "--api-url", "{api}", "--journal", path, *TO, "--text", "hi"),
        says,
    )
    add("journals", f"status-{name}", ("status", "--journal", path), says)
    add("journals", f"hooks-{name}", ("hooks", "--journal", path, "--public-url", "https://voice.example.com"), says)
    add("journals", f"cancel-{name}", ("cancel", "--campaign", "c", "--journal", path), says)
    add("journals", f"serve-{name}", ("serve", "{ws}/media", "--port", "0", "--journal", path), says)

# Journals on a database (PostgreSQL), and a schema from a newer voxpipe: refused before any work, exit 1,
# nothing sent. Filled per case by the conftest (a real PostgreSQL server): {pg-empty} a database without
# the schema, {pg-newer} one whose schema a newer voxpipe wrote, {pg-wrong-password} a journal's database
# with a wrong password; {sqlite-newer} an SQLite journal of a newer voxpipe. Port 9 (discard) has no server.
DATABASES = {
    "db-unreachable": ("postgresql://voxpipe:hunter2@127.0.0.1:9/journal",
                       r"journal postgresql://voxpipe:\*\*\*@127\.0\.0\.1:9/journal: cannot (open|upgrade): connection failed.*refused"),
    "db-wrong-password": ("{pg-wrong-password}", r"journal postgresql://voxpipe_locked:\*\*\*@.*password authentication failed"),
    "db-no-schema": ("{pg-empty}", r"journal postgresql://.*no voxpipe journal yet.*`voxpipe journal upgrade`"),
    "db-newer-schema": ("{pg-newer}", r"journal postgresql://.*schema 0099 was written by a newer voxpipe"),
    "sqlite-newer-schema": ("{sqlite-newer}", r"newer\.db: its schema 0099 was written by a newer voxpipe"),
}  # fmt: skip
for name, (location, says) in DATABASES.items():
    add("journals", f"send-{name}", ("send", "-P", "messagebird", "--api-url", "{api}", "--journal", location, *TO, "--text", "hi"), says)  # fmt: skip
    add("journals", f"status-{name}", ("status", "--journal", location), says)
    add(
        "journals", f"hooks-{name}", ("hooks", "--journal", location, "--public-url", "https://voice.example.com"), says
    )
    add("journals", f"cancel-{name}", ("cancel", "--campaign", "c", "--journal", location), says)
    add("journals", f"serve-{name}", ("serve", "{ws}/media", "--port", "0", "--journal", location), says)
    if name != "db-no-schema":  # upgrading is how that one is fixed
        add("journals", f"upgrade-{name}", ("journal", "upgrade", "--journal", location), says)

# --------------------------------------------------------------------------- recipients
RECIPIENTS = {
    "letters": ("+234 802 OOO 0001", r"OOO|letter"),
    "vanity": ("1-800-FLOWERS", r"FLOWERS|letter"),
    "emoji": ("+234802000\U0001f600001", r"U\+1F600.*not part of a phone number"),
    "double-plus": ("++2348020000001", r"\+\+"),
    "extension": ("+2348020000001 ext. 12", r"ext"),
    "extension-x": ("+2348020000001x12", r"ext|x12"),
    "extension-rfc": ("+2348020000001;ext=12", r"ext"),
    "hash": ("+2348020000001#", r"#|ext"),
    "empty": ("", r"empty|recipient"),
    "spaces": ("   ", r"empty|recipient"),
    "plus-only": ("+", r"\+|number"),
    "too-long": ("+" + "9" * 500, r"long|number"),
    "too-short": ("+23480", r"short|number"),
    "unknown-country": ("+99912345678", r"country|number"),
    "chat-for-phone": ("2348020000001@c.us", r"chat|@c\.us"),
    "rtl-override": ("+2348020\u202e000001", r"number|character"),
    "fullwidth-letters": ("+２３４８０２ＯＯＯ０００１", r"letter|number|character"),
    "sql": ("+2348020000001'; DROP TABLE recipients;--", r"number|character|letter"),
    "url": ("https://example.com", r"number|letter"),
}
for name, (value, says) in RECIPIENTS.items():
    add("recipients", name, (*SEND_MB, "--to", value, "--text", "hi"), says)
for name, says in [("letters.txt", r"OOO|letter"), ("empty.txt", r"empty\.txt|no recipients"), ("comments.txt", r"comments\.txt|no recipients"),
                   ("latin1.txt", r"latin1\.txt"), ("no-column.csv", r"no-column\.csv|column|not a phone|ann"), ("huge.txt", r"huge\.txt.*(bytes|large|at most)"),
                   ("folder.txt", r"folder\.txt"), ("dev-zero.txt", r"dev-zero\.txt"), ("fifo.txt", r"fifo\.txt"),
                   ("missing.txt", r"missing\.txt")]:  # fmt: skip
    add(
        "recipients",
        f"file-{name.replace('.', '-')}",
        (*SEND_MB, "--recipients", f"{{ws}}/recipients/{name}", "--text", "hi"),
        says,
    )

# --------------------------------------------------------------------------- cluster (prepare --cluster)
# Refused before any work: nothing prepared, nothing started. Port 9 (discard) has no scheduler.
CLUSTER: dict[str, tuple[tuple[str, ...], str]] = {
    "malformed": (("--cluster", "scheduler:8786"), r"scheduler:8786.*tcp://host:port"),
    "other-scheme": (("--cluster", "http://scheduler:8786"), r"http://scheduler:8786.*tcp://host:port"),
    "local-zero": (("--cluster", "local:0"), r"local:0.*1 to 256"),
    "local-word": (("--cluster", "local:many"), r"local:many.*whole number"),
    "bad-port": (("--cluster", "tcp://127.0.0.1:99999"), r"99999.*port"),
    "password": (("--cluster", "tcp://u:hunter2@127.0.0.1:8786"), r"cluster.*nothing before the host"),
    "unreachable": (
        ("--cluster", "tcp://127.0.0.1:9", "--store", "s3://bucket/x"),
        r"127\.0\.0\.1:9.*no dask scheduler",
    ),
    "directory-store": (("--cluster", "tcp://127.0.0.1:9", "--store", "{case}/media"), r"--store.*media.*s3://"),
    "no-store": (("--cluster", "tcp://127.0.0.1:9"), r"--cluster.*s3:// --store"),
    "with-jobs": (("--cluster", "local:2", "--jobs", "2"), r"--jobs.*--cluster"),
}
for name, (args, says) in CLUSTER.items():
    add("cluster", name, (*PREP, "--text", "hi", *args), says)
add(
    "cluster",
    "env-malformed",
    (*PREP, "--text", "hi"),
    r"VOXPIPE_DASK_SCHEDULER.*local:-1",
    env={"VOXPIPE_DASK_SCHEDULER": "local:-1"},
)
add(
    "cluster",
    "env-directory-store",
    (*PREP, "--text", "hi", "--store", "{case}/media"),
    r"--store.*s3://",
    env={"VOXPIPE_DASK_SCHEDULER": "tcp://127.0.0.1:9"},
)
