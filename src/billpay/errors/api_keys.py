"""Codes of API key management and test mode."""

from __future__ import annotations

from billpay.errors.base import ApiError, Conflict, Unprocessable


class LiveKeyRequired(ApiError):
    """A test key tried to manage API keys: only a live key may create, list or revoke them."""

    status_code = 403
    code = "live_key_required"


class LastLiveKey(Conflict):
    """Revoking this key would leave the merchant without an active live key."""

    code = "last_live_key"


class TestModeFunding(Unprocessable):
    """A test-mode payment asked for a funding method other than the test balance."""

    code = "test_mode_funding"
