"""Translate one segment through an OpenAI-compatible ``/chat/completions`` endpoint.

One shared :class:`httpx.Client` (thread-safe, at most ``jobs`` connections) serves the runner's
worker threads. Transient failures — 408/409/425/429 and 5xx answers, connection errors,
timeouts, malformed JSON — are retried with exponential back-off (``backoff`` × 2^attempt with
jitter, or the server's ``Retry-After`` if longer, capped at 60 s); other HTTP errors (400, 401,
404 …) are not, since asking again cannot fix them. The API key is read from the environment
variable the suite names, sent only in the ``Authorization`` header, and scrubbed from every
message this module produces.
"""

from __future__ import annotations

import json
import os
import random
import threading
import time
from typing import Any

import httpx

from .. import __version__
from ..errors import ConfigError, EvalkitError
from .config import TranslatorConfig
from .prompt import render_prompt
from .work import Unit, UnitResult

__all__ = ["EndpointBackend"]

_RETRYABLE = frozenset({408, 409, 425, 429})
_MAX_DELAY_S = 60.0


class _TransientError(Exception):
    """A failed attempt worth retrying; ``str()`` is the description shown after the last one."""

    def __init__(self, message: str, retry_after: float | None = None) -> None:
        super().__init__(message)
        self.retry_after = retry_after


class EndpointBackend:
    """Callable on a single-segment :class:`Unit`; use as a context manager to close the client."""

    def __init__(
        self,
        config: TranslatorConfig,
        *,
        jobs: int,
        stop: threading.Event,
        source_lang: str,
        target_lang: str,
    ) -> None:
        self.config = config
        self.stop = stop
        self.source_lang = source_lang
        self.target_lang = target_lang
        self.url = f"{config.endpoint}/chat/completions"
        self._key = _read_key(config)
        headers = {"User-Agent": f"evalkit/{__version__}", "Accept": "application/json"}
        if self._key:
            headers["Authorization"] = f"Bearer {self._key}"
        self._client = httpx.Client(
            headers=headers,
            timeout=httpx.Timeout(config.timeout),
            limits=httpx.Limits(max_connections=jobs, max_keepalive_connections=jobs),
        )
        self._random = random.Random()

    def __enter__(self) -> EndpointBackend:
        return self

    def __exit__(self, *exc: object) -> None:
        self._client.close()

    def __call__(self, unit: Unit) -> UnitResult:
        """Translate ``unit.sources[0]``; an empty or blank segment is answered with an empty
        line without asking the model, which would otherwise chat about the empty input."""
        (source,) = unit.sources
        if not source.strip():
            return UnitResult(("",), None)
        prompt = render_prompt(
            self.config.prompt,
            source=source,
            source_lang=self.source_lang,
            target_lang=self.target_lang,
        )
        body: dict[str, Any] = {
            "model": self.config.model,
            "messages": [{"role": "user", "content": prompt}],
            "temperature": self.config.temperature,
        }
        if self.config.max_tokens is not None:
            body["max_tokens"] = self.config.max_tokens
        attempts = self.config.retries + 1
        start = time.perf_counter()
        last, retry_after = "", None
        for attempt in range(attempts):
            if attempt and not self._pause(attempt, retry_after):
                raise self._error(unit, f"interrupted while retrying (last error: {last})")
            try:
                text, usage = self._attempt(unit, body)
            except _TransientError as exc:
                last, retry_after = self._scrub(str(exc)), exc.retry_after
                continue
            latency = time.perf_counter() - start
            return UnitResult((text,), latency, *usage)
        raise self._error(unit, f"failed after {attempts} attempts; last error: {last}")

    def _attempt(
        self, unit: Unit, body: dict[str, Any]
    ) -> tuple[str, tuple[int | None, int | None]]:
        deadline = time.monotonic() + self.config.timeout
        try:
            with self._client.stream("POST", self.url, json=body) as resp:
                content = self._read_body(resp, deadline)
        except httpx.TransportError as exc:  # connection refused/reset/dropped, timeouts
            raise _TransientError(f"{type(exc).__name__}: {exc}".rstrip(": ")) from exc
        status = resp.status_code
        text = content.decode(resp.encoding or "utf-8", "replace")
        if status in _RETRYABLE or status >= 500:
            raise _TransientError(f"HTTP {status}: {_snippet(text)}", _retry_after(resp))
        if not 200 <= status < 300:
            hint = ""
            if status in (401, 403):
                hint = (
                    f"; check the key in ${self.config.api_key_env}"
                    if self.config.api_key_env
                    else "; the server wants a key: set api_key_env"
                )
            raise self._error(unit, f"HTTP {status} (not retried): {_snippet(text)}{hint}")
        try:
            return _parse_completion(json.loads(content))
        except (ValueError, RecursionError) as exc:  # json.JSONDecodeError is a ValueError
            raise _TransientError(f"malformed response: {exc}") from exc

    def _read_body(self, resp: httpx.Response, deadline: float) -> bytes:
        """The whole body, or a timeout once ``deadline`` passes: httpx's timeouts bound each
        read, so a server trickling a byte at a time would otherwise hold a request forever."""
        chunks = []
        for chunk in resp.iter_bytes():
            if time.monotonic() > deadline:
                raise _TransientError(
                    f"ReadTimeout: the answer was not complete within {self.config.timeout:g} s"
                )
            if self.stop.is_set():
                raise _TransientError("interrupted while the answer was arriving")
            chunks.append(chunk)
        return b"".join(chunks)

    def _pause(self, attempt: int, retry_after: float | None) -> bool:
        """Back off before ``attempt``; False if the run was interrupted meanwhile."""
        delay = self.config.backoff * 2 ** (attempt - 1) * (0.5 + self._random.random() / 2)
        if retry_after is not None:
            delay = max(delay, retry_after)
        return not self.stop.wait(min(delay, _MAX_DELAY_S))

    def _scrub(self, text: str) -> str:
        return text.replace(self._key, "***") if self._key else text

    def _error(self, unit: Unit, problem: str) -> EvalkitError:
        cfg = self.config
        return EvalkitError(
            self._scrub(
                f"system {cfg.name!r}: segment {unit.segments[0]}: {cfg.describe()} {problem}"
            ),
            cfg.suite_path,
        )


def _read_key(config: TranslatorConfig) -> str | None:
    if config.api_key_env is None:
        return None
    key = os.environ.get(config.api_key_env, "").strip()
    if not key:
        raise ConfigError(
            f"system {config.name!r}: environment variable {config.api_key_env} (named by "
            "api_key_env) is not set",
            config.suite_path,
        )
    return key


def _parse_completion(data: Any) -> tuple[str, tuple[int | None, int | None]]:
    """The first choice's message text and the usage counts; ValueError if the shape is wrong."""
    try:
        content = data["choices"][0]["message"]["content"]
    except (KeyError, IndexError, TypeError) as exc:
        raise ValueError("no choices[0].message.content") from exc
    if not isinstance(content, str):
        raise ValueError(f"choices[0].message.content is {type(content).__name__}, not text")
    usage = data.get("usage") if isinstance(data, dict) else None
    if not isinstance(usage, dict):
        return content, (None, None)
    return content, (_count(usage.get("prompt_tokens")), _count(usage.get("completion_tokens")))


def _count(value: Any) -> int | None:
    return value if isinstance(value, int) and not isinstance(value, bool) and value >= 0 else None


def _snippet(body: str) -> str:
    text = " ".join(body.split())
    return (text[:200] + "…" if len(text) > 200 else text) or "(empty body)"


def _retry_after(resp: httpx.Response) -> float | None:
    try:
        return max(0.0, float(resp.headers.get("Retry-After", "")))
    except ValueError:
        return None
