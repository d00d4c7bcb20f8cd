"""Checks of constructor arguments that pydantic's field types cannot express."""

from __future__ import annotations

import json
import warnings
from collections.abc import Mapping
from typing import Any

__all__ = ["check_model_kwargs", "collect_model_kwargs"]


def collect_model_kwargs(cls: Any, values: dict[str, Any]) -> dict[str, Any]:
    """Move constructor arguments that are not fields into ``model_kwargs``, with a warning.

    They are sent in the request body as is, so nothing the caller gave is dropped; the warning
    names them so that a typo (``temprature=``) is seen.
    """
    known = _accepted_names(cls.model_fields)
    extra = {k: v for k, v in values.items() if k not in known}
    if not extra:
        return values
    values = {k: v for k, v in values.items() if k in known}
    model_kwargs = dict(values.get("model_kwargs") or {})
    for name, value in extra.items():
        if name in model_kwargs:
            raise ValueError(f"{name!r} was given both as an argument and in model_kwargs.")
        warnings.warn(
            f"ChatOpenRouter has no field {name!r}; it is sent in the request body as "
            f"model_kwargs[{name!r}]. Pass it in model_kwargs to silence this warning.",
            UserWarning,
            stacklevel=5,
        )
        model_kwargs[name] = value
    values["model_kwargs"] = model_kwargs
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


def check_model_kwargs(model_kwargs: Mapping[str, Any], fields: Mapping[str, Any]) -> None:
    """``model_kwargs`` must not shadow a field and must be JSON-serialisable."""
    for name, value in model_kwargs.items():
        if name in fields:
            raise ValueError(
                f"model_kwargs[{name!r}]: {name!r} is a ChatOpenRouter field; pass it as "
                f"ChatOpenRouter({name}=...) so that it is validated."
            )
        if name in ("model", "messages", "stream"):
            raise ValueError(f"model_kwargs[{name!r}] is set by ChatOpenRouter itself; remove it.")
        try:
            json.dumps(value)
        except (TypeError, ValueError) as exc:
            raise ValueError(
                f"model_kwargs[{name!r}] has a value of type {type(value).__name__}, which cannot "
                f"be sent as JSON ({exc}); use str, int, float, bool, None, lists and dicts."
            ) from None
