"""Checks of setting values as they are loaded: types of settings.json values, parsing of BABELSEARCH_* variables.

Every error names the setting, the value, the type expected and where the value came from (the file's path or
the variable), so a typo is found without reading code. An unknown key in settings.json is an error, naming
the nearest setting and every valid one: a misspelt setting that is silently ignored looks like a setting
that does not work. Unknown ``BABELSEARCH_*`` variables are only warned about, and only when they look like a
misspelt setting, because tools and tests use that prefix for variables of their own.
"""

from __future__ import annotations

import difflib
import logging
import types
from dataclasses import Field
from typing import Any, Union, get_args, get_origin

from indexer.errors import SettingsError

logger = logging.getLogger(__name__)

_NAMES = {str: "a string", int: "an integer", float: "a number", bool: "true or false", type(None): "null"}
_TRUE, _FALSE = ("1", "true", "yes", "on"), ("0", "false", "no", "off")


def _allowed(kind: Any) -> tuple[type, ...]:
    # ``str | None`` and ``Optional[str]`` allow each of their members.
    if get_origin(kind) in (Union, types.UnionType):
        return tuple(get_args(kind))
    return (kind,)


def _describe(allowed: tuple[type, ...]) -> str:
    return " or ".join(f"{_NAMES.get(t, t.__name__)} ({t.__name__})" for t in allowed)


def _json_type(value: Any) -> str:
    names = {
        bool: "a boolean",
        int: "an integer",
        float: "a number",
        str: "a string",
        list: "a list",
        dict: "an object",
        type(None): "null",
    }
    return names.get(type(value), type(value).__name__)


def _fits(value: Any, allowed: tuple[type, ...]) -> bool:
    # bool is a subclass of int in Python, but `true` is no chunk size; an integer is a fine float.
    if isinstance(value, bool):
        return bool in allowed
    return any(isinstance(value, t) for t in allowed) or (isinstance(value, int) and float in allowed)


def check_value(name: str, value: Any, kind: Any, source: str) -> Any:
    """Check a value given as a Python/JSON object (settings.json, an explicit override).

    Args:
        name: the setting.
        value: the value given.
        kind: the field's type (``int``, ``str``, ``str | None``, ...).
        source: where the value came from, for the message (a file path, "argument").

    Returns:
        The value (an integer given for a float setting as a float).

    Raises:
        SettingsError: naming the source, the key, the value, its type and the type expected.
    """
    allowed = _allowed(kind)
    if not _fits(value, allowed):
        raise SettingsError(f"{source}: {name!r} is {value!r} ({_json_type(value)}); expected {_describe(allowed)}")
    return float(value) if float in allowed and isinstance(value, int) and not isinstance(value, bool) else value


def parse_env(name: str, raw: str, kind: Any, variable: str) -> Any:
    """Parse the text of an environment variable into the setting's type.

    Args:
        name: the setting.
        raw: the variable's text.
        kind: the field's type.
        variable: the variable's name, for the message.

    Returns:
        The parsed value.

    Raises:
        SettingsError: naming the variable, the setting, the text and the type expected.
    """
    allowed = [t for t in _allowed(kind) if t is not type(None)]
    kind = allowed[0] if len(allowed) == 1 else str
    try:
        if kind is bool:
            if raw.strip().lower() not in _TRUE + _FALSE:
                raise ValueError(raw)
            return raw.strip().lower() in _TRUE
        return kind(raw) if kind in (int, float) else raw
    except ValueError:
        hint = f" ({'/'.join(_TRUE)} or {'/'.join(_FALSE)})" if kind is bool else ""
        raise SettingsError(f"{variable}={raw!r}: setting {name!r} expects {_describe((kind,))}{hint}") from None


def check_keys(data: dict[str, Any], known: dict[str, Field], source: str) -> None:
    """Refuse keys that are not settings, naming the nearest one and all valid keys.

    Raises:
        SettingsError: for the first unknown key.
    """
    for key in data:
        if key not in known:
            near = difflib.get_close_matches(key, known, n=1)
            hint = f"did you mean {near[0]!r}? " if near else ""
            raise SettingsError(f"{source}: {key!r} is not a setting; {hint}valid keys: {', '.join(sorted(known))}")


def warn_unknown_env(environ: dict[str, str], known: dict[str, Field], prefix: str = "BABELSEARCH_") -> None:
    """Warn about ``BABELSEARCH_*`` variables that look like a misspelt setting (others are left alone)."""
    names = {f"{prefix}{name.upper()}" for name in known}
    for variable in environ:
        if variable.startswith(prefix) and variable not in names:
            near = difflib.get_close_matches(variable, names, n=1, cutoff=0.85)
            if near:
                logger.warning("%s is not a setting and is ignored; did you mean %s?", variable, near[0])
