"""Render params.yaml from the typed defaults (config.py is the source; see its docstring for why).

`render_params()` writes every section of `config.SECTIONS` in order: the class docstring's summary
as a comment above the section, then each field's default with its help (`param(..., help)`) as a
trailing comment. A field without help metadata falls back to the trailing `# comment` on its line
in the class source, so a section not yet written with `param` still renders documented. A mapping
field with `registry="<module>"` metadata (e.g. `embed.options`) is expanded from that registry's
`option_classes()`: one block per backend with options, each rendered from its options dataclass.
`stylecluster check-params --write-defaults params.yaml` writes the result; a unit test checks the
committed file equals it.
"""

from __future__ import annotations

import dataclasses
import importlib
import inspect
import io
import json
import re
import textwrap
import tokenize
from typing import Any

import yaml

from stylecluster import config

COMMENT_COLUMN = 30
WIDTH = 100
HEADER = """\
One section per stage (= stages/<name>.py = src/stylecluster/pipeline/<name>.py); dvc.yaml
declares whole sections, so a stage cannot read a key DVC does not track. Types and ranges are
checked by src/stylecluster/config.py before any heavy work starts.
Rendered from the defaults in src/stylecluster/config.py (and each backend's options class) by
`stylecluster check-params --write-defaults params.yaml`: change a default there, then re-render
(tests/unit/test_config.py fails when this file and the defaults differ). Run other values with
`dvc exp run -S section.key=value`."""


def render_params() -> str:
    """The text of params.yaml: every section's defaults, commented.

    Returns:
        YAML text; `yaml.safe_load` of it gives, for every section, the defaults of its class.
    """
    lines = _comment(HEADER, "")
    for name, cls in config.SECTIONS.items():
        lines.append("")
        doc = inspect.getdoc(cls) or ""
        summary = doc.split("\n\n")[0].replace("\n", " ")
        lines += _comment(textwrap.fill(summary, WIDTH - 2), "")
        lines.append(f"{name}:")
        lines += _fields(cls, "  ")
    return "\n".join(lines) + "\n"


def _fields(cls: type, indent: str) -> list[str]:
    """The lines of one dataclass's fields (defaults), each with its help."""
    source_help = _source_comments(cls)
    lines = []
    for f in dataclasses.fields(cls):
        default = f.default_factory() if f.default is dataclasses.MISSING else f.default
        help_text = f.metadata.get("help") or source_help.get(f.name, "")
        registry = f.metadata.get("registry")
        if registry is not None:
            lines += _line(f"{indent}{f.name}:", help_text)
            classes = importlib.import_module(registry).option_classes()
            for backend, options in classes.items():
                if options is not None:
                    lines.append(f"{indent}  {backend}:")
                    lines += _fields(options, indent + "    ")
            continue
        lines += _line(f"{indent}{f.name}: {_value(default)}", help_text)
    return lines


def _line(text: str, help_text: str) -> list[str]:
    """`text` with `help_text` as a trailing comment, wrapped: more lines continue at its column."""
    if not help_text:
        return [text]
    column = max(COMMENT_COLUMN, len(text) + 2)
    room = max(WIDTH - column - 2, 30)
    first, *more = textwrap.wrap(help_text, room, break_on_hyphens=False)
    return [text.ljust(column) + "# " + first] + [" " * column + "# " + m for m in more]


def _comment(text: str, indent: str) -> list[str]:
    return [f"{indent}# {line}".rstrip() for line in text.split("\n")] if text else []


def _value(value: Any) -> str:
    """A default as YAML: plain scalars where they read back unchanged, flow style for lists."""
    if value is None:
        return "null"
    if isinstance(value, bool):
        return "true" if value else "false"
    if isinstance(value, (int, float)):
        return repr(value)
    if isinstance(value, (list, tuple)):
        return "[" + ", ".join(_value(v) for v in value) + "]"
    if isinstance(value, dict):
        return "{" + ", ".join(f"{_value(k)}: {_value(v)}" for k, v in value.items()) + "}"
    if isinstance(value, str):
        try:
            plain = yaml.safe_load(value) == value and not re.search(r"[#:{}\[\],&*!|>'\"%@`]",
                                                                       value)
        except yaml.YAMLError:
            plain = False
        return value if plain else json.dumps(value, ensure_ascii=False)
    raise TypeError(f"cannot render default {value!r} ({type(value).__name__}) into params.yaml")


def _source_comments(cls: type) -> dict[str, str]:
    """{field name: the trailing comment on its line} in the class source (for fields without help)."""
    try:
        source = textwrap.dedent(inspect.getsource(cls))
    except (OSError, TypeError):
        return {}
    found: dict[str, str] = {}
    tokens = tokenize.generate_tokens(io.StringIO(source).readline)
    for tok in tokens:
        if tok.type == tokenize.COMMENT:
            match = re.match(r"\s+(\w+)\s*:", tok.line)
            if match and match.group(1) not in found:
                found[match.group(1)] = tok.string.lstrip("#").strip()
    return found
