"""How fast and how costly a translation run was: a frozen :class:`TranslationStats`.

Throughput is measured over the segments translated in this run (cache hits cost nothing, so
counting them would flatter a translator), against the wall time of the whole run. Latency is
per unit of work the translator saw: per segment for an endpoint (including retries and their
back-off, which is what a caller waits for), per batch process for a command.
"""

from __future__ import annotations

import math
from collections.abc import Sequence
from dataclasses import asdict, dataclass
from typing import Any

__all__ = ["TranslationStats", "percentile", "summarize"]


@dataclass(frozen=True)
class TranslationStats:
    """Counts, speed and token usage of one :func:`~evalkit.translators.translate` call.

    ``translated + from_cache == segments``. Rates and latencies are None when nothing was
    translated; token counts are None when the translator reported no usage (always for commands).
    """

    segments: int
    translated: int
    from_cache: int
    wall_time_s: float
    segments_per_s: float | None
    chars_per_s: float | None
    latency_p50_s: float | None
    latency_p95_s: float | None
    prompt_tokens: int | None
    completion_tokens: int | None

    def to_dict(self) -> dict[str, Any]:
        """Plain JSON-ready values, keyed by field name."""
        return asdict(self)


def percentile(values: Sequence[float], q: float) -> float | None:
    """The q-th percentile (0–100) with linear interpolation, as numpy's default; None if empty."""
    if not values:
        return None
    ordered = sorted(values)
    pos = (len(ordered) - 1) * q / 100.0
    low, high = math.floor(pos), math.ceil(pos)
    return ordered[low] + (ordered[high] - ordered[low]) * (pos - low)


def summarize(
    *,
    segments: int,
    translated: int,
    translated_chars: int,
    wall_time_s: float,
    latencies: Sequence[float],
    prompt_tokens: int | None,
    completion_tokens: int | None,
) -> TranslationStats:
    """Assemble the stats; ``translated_chars`` counts source characters of translated segments."""
    rate = translated > 0 and wall_time_s > 0
    return TranslationStats(
        segments=segments,
        translated=translated,
        from_cache=segments - translated,
        wall_time_s=wall_time_s,
        segments_per_s=translated / wall_time_s if rate else None,
        chars_per_s=translated_chars / wall_time_s if rate else None,
        latency_p50_s=percentile(latencies, 50),
        latency_p95_s=percentile(latencies, 95),
        prompt_tokens=prompt_tokens,
        completion_tokens=completion_tokens,
    )
