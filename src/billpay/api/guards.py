"""Checks every route gets before its own parameters are used (an app-wide dependency).

- a JSON route sent a body of another media type is a 415, not a 422 about its fields;
- a path segment, query parameter or JSON field holding text no Postgres column can keep (a
  NUL byte, a lone surrogate) is a 422 naming it, instead of a 500 from deep in the driver.
"""

from __future__ import annotations

import email.message

from fastapi import Request
from fastapi.params import Form
from fastapi.routing import APIRoute

from billpay.db.text import first_unstorable, unstorable
from billpay.errors import UnstorableText, UnsupportedMediaType


async def check_request(request: Request) -> None:
    """The app-wide dependency (FastAPI parsed the JSON body, if any, before it runs)."""
    for name, value in request.path_params.items():
        if isinstance(value, str) and unstorable(value):
            raise _unstorable(name)
    for name, value in request.query_params.multi_items():
        if unstorable(name) or unstorable(value):
            raise _unstorable(name)
    if _takes_json(request) and await request.body():
        media_type = request.headers.get("content-type")
        if media_type is not None and not _is_json(media_type):
            raise UnsupportedMediaType(
                f"content-type: send application/json, not {media_type[:100]!r}",
                details={"field": "content-type"},
            )
        field = first_unstorable(await request.json())
        if field is not None:
            raise _unstorable(field)


def _takes_json(request: Request) -> bool:
    route = request.scope.get("route")
    return (
        isinstance(route, APIRoute)
        and route.body_field is not None
        and not isinstance(route.body_field.field_info, Form)
    )


def _is_json(media_type: str) -> bool:
    message = email.message.Message()
    message["content-type"] = media_type
    subtype = message.get_content_subtype()
    return message.get_content_maintype() == "application" and (
        subtype == "json" or subtype.endswith("+json")
    )


def _unstorable(field: str) -> UnstorableText:
    return UnstorableText(
        f"{field}: contains a NUL byte or an unpaired surrogate, which cannot be stored",
        details={"field": field},
    )
