"""Codes a client can get creating a payment or checking a customer."""

from __future__ import annotations

from billpay.errors.base import (
    ApiError,
    Conflict,
    PaymentRequired,
    ServiceUnavailable,
    Unprocessable,
)


class UnknownPlan(Unprocessable):
    """No active plan has the requested slug."""

    code = "unknown_plan"


class PlanBillerMismatch(Unprocessable):
    """The request names a biller the plan does not belong to."""

    code = "plan_biller_mismatch"


class AmountMismatch(Unprocessable):
    """An amount was sent for a fixed-price plan and differs from its price."""

    code = "amount_mismatch"


class AmountRequired(Unprocessable):
    """The plan has no fixed price and no amount was sent."""

    code = "amount_required"


class AmountOutOfRange(Unprocessable):
    """The amount is outside the plan's (or the server's) minimum and maximum."""

    code = "amount_out_of_range"


class PhoneRequired(Unprocessable):
    """The bill type needs the payer's phone number and none was sent."""

    code = "phone_required"


class InvalidPhone(Unprocessable):
    """A phone number is not a Nigerian mobile number."""

    code = "invalid_phone"


class InvalidMeterNumber(Unprocessable):
    """A meter number has the wrong digits or length."""

    code = "invalid_meter_number"


class InvalidSmartcard(Unprocessable):
    """A smartcard or IUC number has the wrong digits or length."""

    code = "invalid_smartcard"


class InvalidBettingAccount(Unprocessable):
    """A betting account id has the wrong shape."""

    code = "invalid_betting_account"


class InvalidCustomer(Unprocessable):
    """The provider says the customer (meter, smartcard, account) does not exist."""

    code = "invalid_customer"


class FundingMethodUnavailable(Unprocessable):
    """The funding method is not configured on this server."""

    code = "funding_method_unavailable"


class EmailRequired(Unprocessable):
    """Paystack funding was asked for without the payer's email."""

    code = "email_required"


class FundingRefused(Unprocessable):
    """Paystack refused to open a checkout for the payment."""

    code = "funding_refused"


class InsufficientBalance(PaymentRequired):
    """The client's balance does not cover amount + fee."""

    code = "insufficient_balance"


class IdempotencyConflict(Conflict):
    """The request_reference was already used with a different body."""

    code = "idempotency_conflict"


class ProviderUnavailable(ServiceUnavailable):
    """No provider could verify the customer right now."""

    code = "provider_unavailable"


class NoProvider(ServiceUnavailable):
    """No configured provider sells the plan."""

    code = "no_provider"


class RenewalUnavailable(Unprocessable):
    """A renewal asked for where no configured provider of the plan documents renewals."""

    code = "renewal_unavailable"


class FundingUnavailable(ServiceUnavailable):
    """Paystack could not open a checkout right now."""

    code = "funding_unavailable"


# What checking a customer and creating a payment can answer, for their routes' ``responses=``.
CUSTOMER_ERRORS: tuple[type[ApiError], ...] = (
    UnknownPlan,
    InvalidPhone,
    InvalidMeterNumber,
    InvalidSmartcard,
    InvalidBettingAccount,
    InvalidCustomer,
    ProviderUnavailable,
    NoProvider,
)
PAYMENT_ERRORS: tuple[type[ApiError], ...] = (
    *CUSTOMER_ERRORS,
    PlanBillerMismatch,
    AmountMismatch,
    AmountRequired,
    AmountOutOfRange,
    PhoneRequired,
    FundingMethodUnavailable,
    EmailRequired,
    FundingRefused,
    InsufficientBalance,
    IdempotencyConflict,
    FundingUnavailable,
    RenewalUnavailable,
)

_IDENTIFIER_ERRORS: dict[str, type[Unprocessable]] = {
    error.code: error
    for error in (InvalidPhone, InvalidMeterNumber, InvalidSmartcard, InvalidBettingAccount)
}


def identifier_error(code: str, message: str, field: str) -> Unprocessable:
    """The error for a failed shape check, by ``customers.identifiers.IdentifierErrorCode``."""
    return _IDENTIFIER_ERRORS[code](message, details={"field": field})
