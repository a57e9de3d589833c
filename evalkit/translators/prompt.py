"""The chat prompt: a Jinja2 template over ``source``, ``source_lang`` and ``target_lang``.

The template comes from a suite file, i.e. from whoever wrote the suite, so it is compiled in a
sandbox (no attribute access to Python internals) with strict undefined variables: a typo such as
``{{ sorce }}`` is a configuration error, not a prompt that silently lost its source text.
"""

from __future__ import annotations

from functools import lru_cache
from typing import TYPE_CHECKING

if TYPE_CHECKING:
    from jinja2 import Template
    from jinja2.sandbox import SandboxedEnvironment

__all__ = ["DEFAULT_PROMPT", "PROMPT_VARIABLES", "check_prompt", "render_prompt"]

PROMPT_VARIABLES = frozenset({"source", "source_lang", "target_lang"})

_NAMES = "{'zh': 'Chinese', 'en': 'English'}"
DEFAULT_PROMPT = (
    f"Translate the following {{{{ {_NAMES}.get(source_lang, source_lang) }}}} text into "
    f"{{{{ {_NAMES}.get(target_lang, target_lang) }}}}. Reply with the translation only, "
    "on a single line, without quotes, notes or explanations.\n\n{{ source }}"
)
"""Used when a system gives no ``prompt``; language codes are spelled out as names."""


@lru_cache(maxsize=32)
def _compile(template: str) -> tuple[SandboxedEnvironment, Template]:
    # jinja2 is imported here, not at module level, so that `evalkit --help` stays quick
    from jinja2 import StrictUndefined
    from jinja2.sandbox import SandboxedEnvironment

    env = SandboxedEnvironment(undefined=StrictUndefined, keep_trailing_newline=True)
    return env, env.from_string(template)


def check_prompt(template: str) -> str | None:
    """Why ``template`` is unusable (syntax error, unknown variable), or None if it is fine."""
    from jinja2 import TemplateSyntaxError, meta

    try:
        env, _ = _compile(template)
        names = meta.find_undeclared_variables(env.parse(template))
    except TemplateSyntaxError as exc:
        return f"template syntax error on its line {exc.lineno}: {exc.message}"
    unknown = sorted(names - PROMPT_VARIABLES)
    if unknown:
        allowed = ", ".join(sorted(PROMPT_VARIABLES))
        return f"unknown template variable {unknown[0]!r} (available: {allowed})"
    if "source" not in names:
        return "template never uses {{ source }}, so the model would not see the segment"
    return None


def render_prompt(template: str, *, source: str, source_lang: str, target_lang: str) -> str:
    """Render the user message for one segment (the template was checked by the config parser)."""
    _, tmpl = _compile(template)
    return tmpl.render(source=source, source_lang=source_lang, target_lang=target_lang)
