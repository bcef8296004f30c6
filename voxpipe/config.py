"""Layered configuration: defaults, then a TOML file, then the environment, then flags.

The file is ``voxpipe.toml`` in the working folder, or the one named by
``--config FILE`` or ``$VOXPIPE_CONFIG``::

    journal = "campaigns/voxpipe-journal.db"

    [store]
    location = "s3://media/voice"
    endpoint_url = "https://s3.eu-west-1.amazonaws.com"

    [send]
    rate = 10
    default_region = "NG"

    [providers.messagebird]
    language = "en-us"        # a provider option
    key = "..."               # a credential (the environment is the better place)

Every key is listed in :data:`KEYS` with its environment variable; defaults
are the library's own (``SendSettings``, ``StoreSettings``,
``PrepareSettings``). Each value is validated once, and a bad one is one line
naming where it came from (``voxpipe.toml: send.rate: ...``). ``voxpipe
config show`` prints the effective settings, secrets as ``***``.
"""

from __future__ import annotations

import math
import os
import tomllib
from collections.abc import Callable, Mapping
from dataclasses import dataclass, field, replace
from pathlib import Path
from typing import Any

from voxpipe.pipeline.cluster.spec import cluster_problem
from voxpipe.pipeline.errors import VoxpipeError
from voxpipe.pipeline.redaction import REDACTED, redact_url
from voxpipe.pipeline.urlcheck import url_problem

__all__ = ["CONFIG_FILE", "KEYS", "Config", "Key", "SettingsError", "Value", "load_config"]

CONFIG_FILE = "voxpipe.toml"


class SettingsError(VoxpipeError):
    """A configuration value (file, environment or flag) that cannot be used; names its source and key."""


Check = Callable[[Any], Any]


def _text(value: Any) -> str:
    if not isinstance(value, str) or not value.strip():
        raise ValueError("expected a non-empty string")
    return value.strip()


def _url(value: Any) -> str:
    text = _text(value)
    if not text.lower().startswith(("http://", "https://")):
        raise ValueError(f"{redact_url(text)!r} is not an http(s) URL")
    problem = url_problem(text)
    if problem:
        raise ValueError(f"{redact_url(text)}: {problem}")
    return text


def _number(low: float, high: float, *, whole: bool = False, low_open: bool = False) -> Check:
    def check(value: Any) -> float | int:
        if isinstance(value, str):
            try:
                value = int(value) if whole else float(value)
            except ValueError:
                raise ValueError(f"{value!r} is not a {'whole ' if whole else ''}number") from None
        if isinstance(value, bool) or not isinstance(value, (int, float)) or (whole and not isinstance(value, int)):
            raise ValueError(f"{value!r} is not a {'whole ' if whole else ''}number")
        if not math.isfinite(value) or value > high or (value <= low if low_open else value < low):
            raise ValueError(f"{value!r} is not in the range {'>' if low_open else '>='} {low:g} and <= {high:g}")
        return value

    return check


def _bool(value: Any) -> bool:
    if isinstance(value, bool):
        return value
    word = str(value).strip().lower()
    if word not in ("1", "0", "true", "false", "yes", "no", "on", "off"):
        raise ValueError(f"{value!r} is not true or false")
    return word in ("1", "true", "yes", "on")


def _cluster(value: Any) -> str:
    text = _text(value)
    problem = cluster_problem(text)
    if problem:
        raise ValueError(f"{redact_url(text)!r}: {problem}")
    return text


def _choice(*allowed: str) -> Check:
    def check(value: Any) -> str:
        if value not in allowed:
            raise ValueError(f"{value!r} is not one of {', '.join(allowed)}")
        return str(value)

    return check


def _names(value: Any) -> tuple[str, ...]:
    if isinstance(value, str):
        value = [v for v in value.replace(";", ",").replace(" ", ",").split(",") if v]
    if not isinstance(value, list) or not value or not all(isinstance(v, str) and v.strip() for v in value):
        raise ValueError("expected a list of names")
    return tuple(v.strip() for v in value)


@dataclass(frozen=True)
class Key:
    """One setting: its dotted name, environment variable, check, and whether it is a secret."""

    name: str
    env: str
    check: Check
    help: str
    secret: bool = False


KEYS: tuple[Key, ...] = (
    Key("journal", "VOXPIPE_JOURNAL", _text, "send journal (SQLite path)"),
    Key("out", "VOXPIPE_OUT", _text, "where prepared audio goes"),
    Key("store.location", "VOXPIPE_STORE", _text, "a directory, or s3://bucket/prefix"),
    Key("store.base_url", "VOXPIPE_STORE_BASE_URL", _url, "public base URL of a directory store"),
    Key("store.endpoint_url", "VOXPIPE_STORE_ENDPOINT_URL", _url, "S3-compatible endpoint"),
    Key("store.region", "VOXPIPE_STORE_REGION", _text, "S3 region [default: the AWS chain]"),
    Key("store.url_mode", "VOXPIPE_STORE_URL_MODE", _choice("public", "presigned"), "public or presigned URLs"),
    Key("store.expires", "VOXPIPE_STORE_EXPIRES", _number(1, 10**12, whole=True), "presigned URL lifetime, s"),
    Key(
        "store.sensitive_expires",
        "VOXPIPE_STORE_SENSITIVE_EXPIRES",
        _number(1, 7 * 24 * 3600, whole=True),
        "URL lifetime of a sensitive message's file, s",
    ),
    Key("store.upload_workers", "VOXPIPE_STORE_UPLOAD_WORKERS", _number(1, 64, whole=True), "concurrent uploads"),
    Key("store.verify_url", "VOXPIPE_STORE_VERIFY_URL", _bool, "fetch each media URL after upload"),
    Key("send.mode", "VOXPIPE_SEND_MODE", _choice("auto", "tts", "media"), "auto, tts or media"),
    Key("send.rate", "VOXPIPE_SEND_RATE", _number(0.01, 10_000), "requests per second at most"),
    Key("send.concurrency", "VOXPIPE_SEND_CONCURRENCY", _number(1, 64, whole=True), "requests in flight"),
    Key("send.timeout", "VOXPIPE_SEND_TIMEOUT", _number(0.1, 3600), "seconds to wait for an answer"),
    Key("send.retries", "VOXPIPE_SEND_RETRIES", _number(0, 20, whole=True), "retries of unaccepted requests"),
    Key("send.default_region", "VOXPIPE_SEND_DEFAULT_REGION", _text, "region for national numbers"),
    Key("prepare.engine", "VOXPIPE_PREPARE_ENGINE", _text, "speech engine"),
    Key("prepare.voice", "VOXPIPE_PREPARE_VOICE", _text, "voice of the engine"),
    Key("prepare.language", "VOXPIPE_PREPARE_LANGUAGE", _text, "language for say-as words"),
    Key("prepare.profiles", "VOXPIPE_PREPARE_PROFILES", _names, "output profiles"),
    Key("prepare.jobs", "VOXPIPE_PREPARE_JOBS", _number(1, 256, whole=True), "worker processes"),
    Key("prepare.max_seconds", "VOXPIPE_PREPARE_MAX_SECONDS", _number(0, 86_400, low_open=True), "longest audio"),
    Key("prepare.max_chars", "VOXPIPE_PREPARE_MAX_CHARS", _number(1, 10_000_000, whole=True), "longest text"),
    Key("prepare.segment_cache", "VOXPIPE_PREPARE_SEGMENT_CACHE", _bool, "templates from cached segments"),
    Key("prepare.cache_dir", "VOXPIPE_PREPARE_CACHE_DIR", _text, "segment cache folder"),
    Key("prepare.cluster", "VOXPIPE_DASK_SCHEDULER", _cluster, "Dask cluster: tcp://host:port or local:N"),
)
_BY_NAME = {k.name: k for k in KEYS}


@dataclass(frozen=True)
class Value:
    value: Any
    source: str
    """``default``, ``<file>``, ``env:NAME`` or ``flag``."""


@dataclass(frozen=True)
class Config:
    """The effective settings, each with where it came from."""

    values: Mapping[str, Value] = field(default_factory=dict)
    file: Path | None = None
    environ: Mapping[str, str] = field(default_factory=dict, repr=False)

    def get(self, name: str, default: Any = None) -> Any:
        found = self.values.get(name)
        return default if found is None else found.value

    def with_flags(self, flags: Mapping[str, Any]) -> Config:
        """This config with the given flag values on top (``None`` means the flag was not given)."""
        values = dict(self.values)
        for name, raw in flags.items():
            if raw is not None:
                values[name] = Value(_checked(name, raw, "flag"), "flag")
        return replace(self, values=values)

    # --- typed settings for the library -------------------------------------

    def store_settings(self) -> Any:
        from voxpipe.pipeline.store import StoreSettings

        base = StoreSettings()
        return _build(
            "store",
            lambda: StoreSettings(
                url_mode=self.get("store.url_mode", base.url_mode),
                expires_s=self.get("store.expires", base.expires_s),
                sensitive_expires_s=self.get("store.sensitive_expires", base.sensitive_expires_s),
                endpoint_url=self.get("store.endpoint_url"),
                base_url=self.get("store.base_url"),
                region=self.get("store.region", base.region),
                verify_url=self.get("store.verify_url", base.verify_url),
                workers=self.get("store.upload_workers", base.workers),
            ),
        )

    def provider_values(self, name: str) -> dict[str, Value]:
        """``providers.<name>.*`` with their sources: the file, then the provider's variables, then flags."""
        prefix = f"providers.{name}."
        mine = {k: v for k, v in self.values.items() if k.startswith(prefix)}
        merged = {k: v for k, v in mine.items() if v.source != "flag"}
        merged.update(_provider_env(name, self.environ))
        merged.update({k: v for k, v in mine.items() if v.source == "flag"})
        return merged

    def provider_settings(self, name: str) -> dict[str, Any]:
        """``providers.<name>`` as given (api_url, credentials and options)."""
        return {k.split(".", 2)[2]: v.value for k, v in self.provider_values(name).items()}

    def provider(self, name: str) -> Any:
        """The provider called ``name``, configured: its ``api_url``, credentials and options from here."""
        from voxpipe.sender.providers import provider_class

        cls = provider_class(name)
        given = self.provider_settings(cls.name)
        api_url = given.pop("api_url", None)
        secrets = {c.name for c in cls.credentials}
        credentials = {k: str(v) for k, v in given.items() if k in secrets}
        options = {k: v if isinstance(v, str) else _toml_text(v) for k, v in given.items() if k not in secrets}
        return cls(base_url=api_url, credentials=credentials, options=options)

    def shown(self) -> list[tuple[str, str, str]]:
        """(name, value, source) for every setting, secrets as ``***``, for ``voxpipe config show``."""
        from voxpipe.sender.providers import registry

        values = dict(self.values)
        for provider in registry():
            values.update(self.provider_values(provider))
        rows = []
        for name in sorted(set(values) | set(_BY_NAME)):
            found = values.get(name)
            if found is None:
                rows.append((name, _defaults().get(name, "(unset)"), "default"))
                continue
            text = REDACTED if _is_secret(name) else _show(found.value)
            rows.append((name, text, found.source))
        return rows


def _toml_text(value: Any) -> str:
    """A TOML value as the text a provider option validator takes (``true`` -> "true", 3 -> "3")."""
    return str(value).lower() if isinstance(value, bool) else str(value)


def _defaults() -> dict[str, str]:
    """What an unset key means, in words (the library's defaults)."""
    from voxpipe.pipeline.preparation import PrepareSettings
    from voxpipe.pipeline.store import StoreSettings
    from voxpipe.sender.dispatch import SendSettings
    from voxpipe.sender.sending import DEFAULT_JOURNAL

    send, store, prep = SendSettings(), StoreSettings(), PrepareSettings()
    return {
        "journal": DEFAULT_JOURNAL,
        "out": str(prep.out_dir),
        "store.location": "(none: no hosting)",
        "store.region": "(the AWS chain: AWS_REGION, the profile)",
        "store.url_mode": store.url_mode,
        "store.expires": str(store.expires_s),
        "store.sensitive_expires": str(store.sensitive_expires_s),
        "store.upload_workers": str(store.workers),
        "store.verify_url": str(store.verify_url),
        "send.mode": send.mode,
        "send.rate": "(no limit)",
        "send.concurrency": str(send.concurrency),
        "send.timeout": f"{send.timeout_s:g}",
        "send.retries": str(send.retry.attempts - 1),
        "prepare.engine": prep.engine,
        "prepare.profiles": ", ".join(prep.profiles),
        "prepare.jobs": "(one per core)",
        "prepare.max_seconds": f"{prep.fetch.max_seconds:g}",
        "prepare.max_chars": str(prep.max_chars),
        "prepare.cluster": "(none: this machine's process pool)",
    }


def _show(value: Any) -> str:
    if isinstance(value, tuple):
        return ", ".join(value)
    if isinstance(value, str) and "://" in value:
        return redact_url(value)
    return str(value)


def _is_secret(name: str) -> bool:
    if name.startswith("providers."):
        _, provider, key = name.split(".", 2)
        return key in _provider_secrets(provider)
    return False


def _provider_secrets(provider: str) -> set[str]:
    from voxpipe.sender.providers import registry

    cls = registry().get(provider)
    return {c.name for c in cls.credentials} if cls else set()


def _build(section: str, make: Callable[[], Any]) -> Any:
    try:
        return make()
    except VoxpipeError as exc:
        raise SettingsError(f"{section} settings: {exc}") from exc


def _checked(name: str, raw: Any, source: str) -> Any:
    key = _BY_NAME.get(name)
    if key is None:
        return raw  # providers.* values are checked by the provider itself
    try:
        return key.check(raw)
    except ValueError as exc:
        if source == "flag":  # named as typed: store.url_mode came from --url-mode
            raise SettingsError(f"--{name.rsplit('.', 1)[-1].replace('_', '-')}: {exc}") from None
        raise SettingsError(f"{source}: {name}: {exc}") from None


def _read_file(path: Path) -> dict[str, Any]:
    from voxpipe.pipeline.textfile import read_text_file

    text = read_text_file(path, max_bytes=1024 * 1024, error=SettingsError)
    try:
        data = tomllib.loads(text)
    except tomllib.TOMLDecodeError as exc:
        raise SettingsError(f"{path}: not valid TOML: {exc}") from None
    flat: dict[str, Any] = {}
    for section, body in data.items():
        if section == "providers":
            if not isinstance(body, dict) or not all(isinstance(v, dict) for v in body.values()):
                raise SettingsError(f"{path}: providers: expected [providers.<name>] tables")
            for provider, settings in body.items():
                for key, value in settings.items():
                    flat[f"providers.{provider}.{key}"] = value
        elif isinstance(body, dict):
            for key, value in body.items():
                flat[f"{section}.{key}"] = value
        else:
            flat[section] = body
    unknown = sorted(n for n in flat if n not in _BY_NAME and not n.startswith("providers."))
    if unknown:
        raise SettingsError(f"{path}: unknown key {unknown[0]} (known: {', '.join(sorted(_BY_NAME))})")
    return flat


def _provider_env(name: str, environ: Mapping[str, str]) -> dict[str, Value]:
    """``providers.<name>.<key>`` from the provider's variables: its URL, credentials and options."""
    from voxpipe.sender.providers import registry

    cls = registry().get(name)
    if cls is None:
        return {}
    names = {f"VOXPIPE_{cls.env_prefix}_URL": "api_url"}
    names.update({c.env: c.name for c in cls.credentials})
    names.update({f"VOXPIPE_{cls.env_prefix}_{o.upper()}": o for o in cls.options})
    return {
        f"providers.{name}.{key}": Value(environ[var], f"env:{var}") for var, key in names.items() if environ.get(var)
    }


def load_config(
    path: Path | str | None = None, environ: Mapping[str, str] | None = None, *, cwd: Path | None = None
) -> Config:
    """Defaults, then ``path`` (or ``$VOXPIPE_CONFIG``, or ``./voxpipe.toml`` if it exists), then the environment."""
    env = os.environ if environ is None else environ
    chosen = Path(path) if path else Path(env["VOXPIPE_CONFIG"]) if env.get("VOXPIPE_CONFIG") else None
    if chosen is None and (cwd or Path.cwd()).joinpath(CONFIG_FILE).is_file():
        chosen = (cwd or Path.cwd()) / CONFIG_FILE
    values: dict[str, Value] = {}
    if chosen is not None:
        if not chosen.is_file():
            raise SettingsError(f"{chosen}: no such configuration file")
        for name, raw in _read_file(chosen).items():
            values[name] = Value(_checked(name, raw, str(chosen)), str(chosen))
    for key in KEYS:
        if env.get(key.env):
            values[key.name] = Value(_checked(key.name, env[key.env], f"env:{key.env}"), f"env:{key.env}")
    return Config(values, chosen, env)
