"""``/v1/balance`` and ``/v1/balance/transactions``: parse, delegate."""

from __future__ import annotations

from typing import Annotated

from fastapi import APIRouter, Query

from billpay.balance import service
from billpay.balance.schemas import BalanceOut, BalanceTransactionList
from billpay.deps import CurrentClient, State
from billpay.errors import API_KEY_ERRORS, InvalidCursor, ValidationFailed, error_responses

router = APIRouter(prefix="/v1/balance", tags=["balance"])


@router.get("", response_model=BalanceOut, responses=error_responses(*API_KEY_ERRORS))
async def get_balance(client: CurrentClient, state: State) -> BalanceOut:
    """The prepaid balance: available to spend, and reserved for unfinished payments."""
    async with state.unit_of_work() as session:
        return await service.balance(session, client)


@router.get(
    "/transactions",
    response_model=BalanceTransactionList,
    responses=error_responses(*API_KEY_ERRORS, ValidationFailed, InvalidCursor),
)
async def list_balance_transactions(
    client: CurrentClient,
    state: State,
    limit: Annotated[int, Query(ge=1, le=100)] = 10,
    starting_after: Annotated[
        str | None, Query(max_length=40, description="A line's `id`: the lines older than it")
    ] = None,
) -> BalanceTransactionList:
    """The statement of the available balance, newest first, cursor paginated."""
    async with state.unit_of_work() as session:
        return await service.transactions(
            session, client, limit=limit, starting_after=starting_after
        )
