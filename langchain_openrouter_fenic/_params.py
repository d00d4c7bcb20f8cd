"""The constructor's side of the one settings path (``settings``): arguments that are not fields,
and ``model_kwargs``."""

from __future__ import annotations

import warnings
from collections.abc import Mapping
from typing import Any

__all__ = ["collect_model_kwargs"]


def collect_model_kwargs(cls: Any, values: dict[str, Any]) -> dict[str, Any]:
    """Sort the constructor's arguments before pydantic validates them.

    - An argument that is not a field is moved into ``model_kwargs``, with a warning: it is
      sent in the request body as is, so nothing the caller gave is dropped, and the warning
      names it so that a typo is seen (a near miss of a setting, ``temprature=``, is an error).
    - A typed setting inside ``model_kwargs`` (``{"temperature": 0.2, "provider": {...}}``) is
      checked like a per-call argument and moved onto its field: one meaning, one check.
    - ``model_kwargs`` may not shadow another field, and its other values must be JSON.
    """
    from .settings import SETTING_NAMES, WIRE_NAMES, read_model_kwargs

    fields = cls.model_fields
    known = _accepted_names(fields)
    extra = {k: v for k, v in values.items() if k not in known}
    values = {k: v for k, v in values.items() if k in known}
    model_kwargs = dict(values.get("model_kwargs") or {})
    for name, value in extra.items():
        if name in model_kwargs:
            raise ValueError(f"{name!r} was given both as an argument and in model_kwargs.")
        model_kwargs[name] = value
    for name in model_kwargs:
        if name in fields and name not in SETTING_NAMES and name not in WIRE_NAMES:
            raise ValueError(
                f"model_kwargs[{name!r}]: {name!r} is a ChatOpenRouter field; pass it as "
                f"ChatOpenRouter({name}=...)."
            )
    settings, body = read_model_kwargs(model_kwargs, given=values)
    for name in extra:
        if name in body:
            warnings.warn(
                f"ChatOpenRouter has no field {name!r}; it is sent in the request body as "
                f"model_kwargs[{name!r}]. Pass it in model_kwargs to silence this warning.",
                UserWarning,
                stacklevel=5,
            )
    values.update(settings)
    values["model_kwargs"] = body
    return values


def _accepted_names(fields: Mapping[str, Any]) -> set[str]:
    """Field names and every alias a field accepts (``alias``, ``AliasChoices`` strings)."""
    names = set(fields)
    for field in fields.values():
        if field.alias:
            names.add(field.alias)
        choices = getattr(field.validation_alias, "choices", None)
        if choices:
            names.update(c for c in choices if isinstance(c, str))
        elif isinstance(field.validation_alias, str):
            names.add(field.validation_alias)
    return names
