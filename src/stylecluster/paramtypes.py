"""The machinery behind typed params: declared fields, type coercion and file-naming errors.

`config.py` declares each params section as a frozen dataclass whose fields come from `param`
(default + one line of help); `build` turns a mapping from the params file into such a dataclass.
Errors are `ParamError`s: their message names the params file with a `{where}` placeholder, which
the loader fills with the file it actually read (`params.yaml` until then).
"""

from __future__ import annotations

import dataclasses
import types
import typing
from collections.abc import Mapping
from typing import Any, Literal

from stylecluster.errors import ConfigError

DEFAULT_FILE = "params.yaml"
WHERE = "{where}"  # placeholder for the params file in ParamError messages


class ParamError(ConfigError):
    """A ConfigError about a value in a params file; `where` names the file in the message."""

    def __init__(self, template: str, where: str = DEFAULT_FILE) -> None:
        super().__init__(template)
        self.template = template
        self.where = where

    def __str__(self) -> str:
        return self.template.replace(WHERE, self.where)


def param(default: Any = dataclasses.MISSING, help: str = "", *,  # noqa: A002
          default_factory: Any = dataclasses.MISSING, **metadata: Any) -> Any:
    """A dataclass field with its default and its help (the comment rendered into params.yaml).

    Args:
        default: The default value (immutable).
        help: What the value does and allows (wrapped as a comment in the rendered params.yaml).
        default_factory: Instead of `default`, for a mapping.
        **metadata: More field metadata, e.g. `registry="stylecluster.encoders"` for a mapping of
            per-backend options that the renderer expands from that registry.
    """
    return dataclasses.field(default=default, default_factory=default_factory,
                             metadata={"help": help, **metadata})


def fail(section: str, key: str, value: Any, allowed: str) -> typing.NoReturn:
    """Raise a ParamError naming `section.key`, the value, what is allowed and the fix."""
    raise ParamError(
        f"{WHERE} [{section}.{key}] = {value!r} is not allowed: expected {allowed}. "
        f"Fix the value in {WHERE} (or the -S {section}.{key}=... override)."
    )


def check(ok: bool, section: str, key: str, value: Any, allowed: str) -> None:
    """Raise a ParamError naming `section.key` unless `ok`."""
    if not ok:
        fail(section, key, value, allowed)


def coerce(section: str, key: str, value: Any, tp: Any) -> Any:
    """Check `value` against the annotation `tp`; return it in canonical form (tuples, floats)."""
    origin = typing.get_origin(tp)
    args = typing.get_args(tp)
    if tp is Any:
        return value
    if origin is Literal:
        if value not in args:
            fail(section, key, value, "one of " + ", ".join(repr(a) for a in args))
        return value
    if origin in (typing.Union, types.UnionType):
        if value is None and type(None) in args:
            return None
        for arg in args:
            if arg is type(None):
                continue
            try:
                return coerce(section, key, value, arg)
            except ConfigError:
                pass
        fail(section, key, value, " or ".join(describe(a) for a in args))
    if origin is tuple:
        if not isinstance(value, (list, tuple)):
            fail(section, key, value, f"a list of {describe(args[0])}")
        return tuple(coerce(section, key, v, args[0]) for v in value)
    if origin is dict:
        if not isinstance(value, Mapping):
            fail(section, key, value, "a mapping")
        return {coerce(section, key, k, args[0]): coerce(section, key, v, args[1])
                for k, v in value.items()}
    simple = {bool: (bool,), int: (int,), float: (int, float), str: (str,)}
    if tp in simple:
        if not isinstance(value, simple[tp]) or (tp is not bool and isinstance(value, bool)):
            fail(section, key, value, describe(tp))
        return float(value) if tp is float else value
    raise TypeError(f"config annotation {tp!r} for {section}.{key} is not supported")


def describe(tp: Any) -> str:
    """How an annotation reads in an error message ("an integer", "one of 'a', 'b'")."""
    names = {int: "an integer", float: "a number", str: "a string", bool: "true or false"}
    if tp in names:
        return names[tp]
    if typing.get_origin(tp) is Literal:
        return "one of " + ", ".join(repr(a) for a in typing.get_args(tp))
    return str(tp)


def build(cls: type, section: str, raw: Mapping[str, Any] | None,
          where: str = DEFAULT_FILE, moved: Mapping[str, str] | None = None) -> Any:
    """Build the frozen dataclass `cls` from the mapping `raw` (a params file's section).

    Args:
        cls: A params dataclass.
        section: The section's name (dotted for nested options, e.g. "embed.options.imagebind"),
            used in error messages.
        raw: The section's mapping; missing keys take the dataclass defaults.
        where: The params file, named in error messages.
        moved: {old key: its new place} for keys that moved out of this section, named in the
            unknown-key message.

    Returns:
        An instance of `cls`.

    Raises:
        ParamError: On an unknown key, a wrong type or an out-of-range value.
    """
    if raw is not None and not isinstance(raw, Mapping):
        raise ParamError(f"{WHERE} [{section}] must be a mapping, got {raw!r}", where)
    raw = dict(raw or {})
    hints = typing.get_type_hints(cls)
    names = [f.name for f in dataclasses.fields(cls)]
    unknown = sorted(set(raw) - set(names))
    try:
        if unknown:
            hints = "".join(f" {k} moved to {moved[k]}." for k in unknown if k in (moved or {}))
            full = ", ".join(f"{section}.{k}" for k in unknown)
            raise ParamError(
                f"{WHERE} [{section}] has unknown key(s) {unknown}; allowed keys: {names}.{hints} "
                f"Remove or rename {full} (a typo here would otherwise be silently ignored)."
            )
        return cls(**{k: coerce(section, k, v, hints[k]) for k, v in raw.items()})
    except ParamError as exc:
        exc.where = where
        raise


def build_options(section: str, raw: Mapping[str, Any] | None,
                  classes: Mapping[str, type | None], where: str = DEFAULT_FILE) -> dict[str, Any]:
    """Typed per-backend options: `raw` maps a backend name to its options mapping.

    Args:
        section: Where the mapping sits, e.g. "embed.options".
        raw: {backend name: {option: value}}; a backend not named takes its defaults.
        classes: Each registered backend's options dataclass (None: it takes no options).
        where: The params file, named in error messages.

    Returns:
        {backend name: options instance} for every backend that has an options class.

    Raises:
        ParamError: An unknown backend or an unknown/invalid option, naming the allowed ones.
    """
    if raw is not None and not isinstance(raw, Mapping):
        raise ParamError(f"{WHERE} [{section}] must be a mapping of backend names, got {raw!r}",
                         where)
    raw = dict(raw or {})
    with_options = [name for name, cls in classes.items() if cls is not None]
    for name in raw:
        if name not in classes:
            raise ParamError(f"{WHERE} [{section}] names {name!r}, which is not a registered "
                             f"backend; backends with options: {with_options}. Fix or remove it.",
                             where)
        if classes[name] is None and raw[name]:
            raise ParamError(f"{WHERE} [{section}.{name}] = {raw[name]!r}: backend {name!r} "
                             f"takes no options; backends with options: {with_options}.", where)
    return {name: build(cls, f"{section}.{name}", raw.get(name), where)
            for name, cls in classes.items() if cls is not None}


def as_plain(obj: Any) -> Any:
    """A params dataclass (or a mapping of them) as plain mappings, lists and scalars."""
    if dataclasses.is_dataclass(obj) and not isinstance(obj, type):
        return {f.name: as_plain(getattr(obj, f.name)) for f in dataclasses.fields(obj)}
    if isinstance(obj, Mapping):
        return {k: as_plain(v) for k, v in obj.items()}
    if isinstance(obj, (list, tuple)):
        return [as_plain(v) for v in obj]
    return obj
