"""Reading an HTML form post (``application/x-www-form-urlencoded``) without a multipart stack."""

from __future__ import annotations

from urllib.parse import parse_qsl

from fastapi import Request

from billpay.errors import BadForm, FormTooLarge

MAX_FORM_BYTES = 16 * 1024
MAX_FIELDS = 20


async def read_form(request: Request) -> dict[str, str]:
    """The posted fields (the last value of a repeated name wins)."""
    body = await _bounded_body(request)
    if not body:
        return {}
    content_type = request.headers.get("content-type", "").split(";")[0].strip().lower()
    if content_type != "application/x-www-form-urlencoded":
        raise BadForm("send the form as application/x-www-form-urlencoded")
    try:
        fields = parse_qsl(
            body.decode(), keep_blank_values=True, strict_parsing=False, max_num_fields=MAX_FIELDS
        )
    except (UnicodeDecodeError, ValueError) as exc:
        raise BadForm("the form could not be read") from exc
    return dict(fields)


async def _bounded_body(request: Request) -> bytes:
    """The body, read no further than ``MAX_FORM_BYTES``."""
    body = bytearray()
    async for chunk in request.stream():
        body += chunk
        if len(body) > MAX_FORM_BYTES:
            raise FormTooLarge("the form is too large")
    return bytes(body)
