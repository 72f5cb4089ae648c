"""VTpass JSON answers, built from the sandbox's records (providers.md §1.5, §1.7, §1.10)."""

from __future__ import annotations

from datetime import UTC
from typing import Any, Final

from billpay.sandbox.vtpass.catalog import (
    CATEGORIES,
    SERVICES,
    TRANSACTION_TYPES,
    Service,
    services_in,
    subscription_of,
    wire_naira,
)
from billpay.sandbox.vtpass.records import Transaction

DESCRIPTIONS: Final = {
    "010": "VARIATION CODE DOES NOT EXIST",
    "011": "INVALID ARGUMENTS",
    "012": "PRODUCT DOES NOT EXIST",
    "013": "BELOW MINIMUM AMOUNT ALLOWED",
    "014": "REQUEST ID ALREADY EXIST",
    "015": "INVALID REQUEST ID",
    "017": "ABOVE MAXIMUM AMOUNT ALLOWED",
    "018": "LOW WALLET BALANCE",
    "019": "LIKELY DUPLICATE TRANSACTION",
    "085": "IMPROPER REQUEST ID",
    "087": "INVALID CREDENTIALS",
}
# The code and description VTpass gives a transaction in each status.
STATUS_ANSWERS: Final = {
    "delivered": ("000", "TRANSACTION SUCCESSFUL"),
    "initiated": ("000", "TRANSACTION PROCESSED"),
    "pending": ("000", "TRANSACTION PROCESSED"),
    "failed": ("016", "TRANSACTION FAILED"),
    "reversed": ("040", "TRANSACTION REVERSAL"),
}
# VTpass's network serviceIDs, as a failure names them (sandbox wording: VTpass documents
# ``016`` as a definite failure, not what its description says about a ported number).
NETWORK_NAMES: Final = {"mtn": "MTN", "glo": "Glo", "airtel": "Airtel", "etisalat": "9mobile"}
UNREADABLE_PAGE: Final = (
    "<html><head><title>502 Bad Gateway</title></head>"
    "<body><center><h1>502 Bad Gateway</h1></center><hr><center>nginx</center></body></html>"
)
SERVER_ERROR_PAGE: Final = "<html><body><h1>500 Server Error</h1></body></html>"
GATEWAY_TIMEOUT_PAGE: Final = "<html><body><h1>504 Gateway Time-out</h1></body></html>"
SANDBOX_CUSTOMER: Final = "TESTMETER1"
SANDBOX_ADDRESS: Final = "ABULE - EGBA BU ABULE"
BONUS_UNITS: Final = 50  # kWh of free basic electricity on an FBE bonus token


def error(code: str) -> dict[str, Any]:
    description = DESCRIPTIONS[code]
    return {"code": code, "response_description": description, "content": {"errors": description}}


# --- purchases ---------------------------------------------------------------------------------


def transaction(tx: Transaction) -> dict[str, Any]:
    """The current purchase/requery shape (the 2025 example in providers.md §1.5)."""
    code, description = STATUS_ANSWERS[tx.status]
    if tx.status == "failed" and tx.ported_to is not None:
        description += f": {tx.customer} is ported to {NETWORK_NAMES[tx.ported_to]}"
    amount = wire_naira(tx.amount_kobo)
    return {
        "code": code,
        "response_description": description,
        "content": {
            "transactions": {
                "status": tx.status,
                "product_name": tx.service.name,
                "unique_element": tx.customer,
                "unit_price": amount,
                "quantity": 1,
                "type": TRANSACTION_TYPES[tx.service.kind],
                "commission": 0,
                "total_amount": amount,
                "amount": amount,
                "convinience_fee": 0,
                "phone": tx.phone,
                "channel": "api",
                "method": "wallet",
                "transactionId": tx.transaction_id,
            }
        },
        "requestId": tx.request_id,
        "amount": amount,
        "transaction_date": tx.created_at.astimezone(UTC).strftime("%Y-%m-%dT%H:%M:%S.%fZ"),
        "purchased_code": "",
        **_electricity_fields(tx),
    }


def _electricity_fields(tx: Transaction) -> dict[str, Any]:
    vend = tx.vend
    if vend is None or vend.token is None or vend.units is None:
        return {}
    display = f"Token : {vend.token}"
    if vend.bonus_token:
        display += f" Bonus Token : {vend.bonus_token}"
    purchased_code = {"purchased_code": display}
    if tx.service.ikedc_token_shape:
        # The IKEDC page's example labels the token inside the ``token`` field itself.
        return {
            **purchased_code,
            "token": f"Token : {vend.token}",
            "units": f"{vend.units} kWh",
            "customerName": SANDBOX_CUSTOMER,
            "customerAddress": SANDBOX_ADDRESS,
            "meterNumber": tx.customer,
        }
    return {
        **purchased_code,
        "mainToken": vend.token,
        "mainTokenDescription": "Normal Sale",
        "mainTokenUnits": float(vend.units),  # a JSON number of kWh, as VTpass sends it
        "bonusToken": vend.bonus_token,
        "bonusTokenDescription": "FBE Token" if vend.bonus_token else None,
        "bonusTokenUnits": BONUS_UNITS if vend.bonus_token else None,
        "tariffIndex": "R2",
        "debtDescription": "",
        "exchangeReference": tx.transaction_id,
        "utilityName": tx.service.name,
    }


def transaction_update(tx: Transaction) -> dict[str, Any]:
    """The ``transaction-update`` callback: a requery answer under ``data``, date null."""
    return {"type": "transaction-update", "data": {**transaction(tx), "transaction_date": None}}


# --- merchant-verify ---------------------------------------------------------------------------


def meter_verified(service: Service, meter: str, meter_type: str) -> dict[str, Any]:
    minimum = wire_naira(service.min_kobo)
    return {
        "code": "000",
        "content": {
            "Customer_Name": SANDBOX_CUSTOMER,
            "Address": SANDBOX_ADDRESS,
            "Meter_Number": meter,
            "Customer_Arrears": "",
            "Minimum_Amount": minimum,
            "Min_Purchase_Amount": minimum,
            "Can_Vend": "yes",
            "Customer_Account_Type": "NMD",
            "Meter_Type": meter_type.upper(),
            "WrongBillersCode": False,
        },
    }


def smartcard_verified(service: Service, smartcard: str) -> dict[str, Any]:
    """The DSTV page's smartcard verify: bouquet, renewal amount (a promo may make it differ
    from the bouquet's list price) and due date."""
    subscription = subscription_of(service, smartcard)
    return {
        "code": "000",
        "content": {
            "Customer_Name": "TEST SMARTCARD",
            "Status": "ACTIVE",
            "Due_Date": "2025-12-31T00:00:00",
            "Customer_Number": smartcard,
            "Customer_Type": service.service_id.upper(),
            "Current_Bouquet": subscription.bouquet.name,
            "Renewal_Amount": wire_naira(subscription.renewal_kobo),
            "WrongBillersCode": False,
        },
    }


def customer_not_found(service: Service) -> dict[str, Any]:
    """VTpass reports a wrong number with code 000 and an error inside ``content``."""
    return {
        "code": "000",
        "content": {
            "error": f"This number is not valid for {service.name}. Please check and try again",
            "WrongBillersCode": True,
        },
    }


# --- catalog -----------------------------------------------------------------------------------


def categories() -> dict[str, Any]:
    return {"response_description": "000", "content": list(CATEGORIES)}


def services(identifier: str) -> dict[str, Any]:
    return {
        "response_description": "000",
        "content": [service.wire() for service in services_in(identifier)],
    }


def variations(service_id: str) -> dict[str, Any]:
    service = SERVICES.get(service_id)
    if service is None:
        return error("012")
    return {
        "response_description": "000",
        "content": {
            "ServiceName": service.name,
            "serviceID": service.service_id,
            "convinience_fee": "0 %",
            service.variations_key: [variation.wire() for variation in service.variations],
        },
    }


def balance(kobo: int) -> dict[str, Any]:
    # UNCONFIRMED shape (providers.md §1.3): the spelling the django client tolerates.
    return {"code": 1, "contents": {"balance": wire_naira(kobo)}}
