"""Codes about a request's transport: its body's size, type, syntax and characters, its pace,
and the database behind the API being out of reach."""

from __future__ import annotations

from billpay.errors.base import ApiError, ServiceUnavailable, Unprocessable


class InvalidJson(ApiError):
    """The body is not valid JSON (UTF-8); the message gives the line and column."""

    status_code = 400
    code = "invalid_json"


class BodyTooLarge(ApiError):
    """The body is larger than the route reads (``Content-Length`` or the bytes sent)."""

    status_code = 413
    code = "body_too_large"


class UnsupportedMediaType(ApiError):
    """A JSON route was sent a body that is not ``application/json``."""

    status_code = 415
    code = "unsupported_media_type"


class JsonTooDeep(Unprocessable):
    """The JSON body nests arrays and objects deeper than billpay reads."""

    code = "json_too_deep"


class UnstorableText(Unprocessable):
    """A field, parameter or path holds a NUL byte or a lone surrogate, which no text can keep."""

    code = "unstorable_text"


class RequestTimeout(ApiError):
    """The body arrived too slowly: the connection was given up on."""

    status_code = 408
    code = "request_timeout"


class DatabaseUnavailable(ServiceUnavailable):
    """The database cannot be reached right now: retry after ``Retry-After`` seconds."""

    code = "database_unavailable"


# What any JSON route can answer before its own code runs, for its ``responses=``.
JSON_BODY_ERRORS: tuple[type[ApiError], ...] = (
    InvalidJson,
    BodyTooLarge,
    UnsupportedMediaType,
    JsonTooDeep,
    UnstorableText,
    DatabaseUnavailable,
)
# What every route can answer before its own code runs.
TRANSPORT_ERRORS: tuple[type[ApiError], ...] = (
    UnstorableText,
    JsonTooDeep,
    RequestTimeout,
    BodyTooLarge,
    DatabaseUnavailable,
)
