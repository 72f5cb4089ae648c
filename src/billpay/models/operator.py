"""Operators of the dashboard and ``/v1/ops``, their sign-in sessions and failed sign-ins.

Tokens and session ids are stored only as SHA-256 hashes (they are long random strings, so a
slow hash adds nothing). The operator configured by ``BILLPAY_ADMIN_TOKEN`` has no row here.
"""

from __future__ import annotations

from datetime import datetime

from sqlalchemy import BigInteger, Identity, Index, String, func
from sqlalchemy.orm import Mapped, mapped_column

from billpay.models.base import Base, Timestamps


class Operator(Timestamps, Base):
    """A named operator with a token of their own (``billpay operators add``)."""

    __tablename__ = "operators"

    id: Mapped[int] = mapped_column(BigInteger, Identity(), primary_key=True)
    name: Mapped[str] = mapped_column(String(40), unique=True)
    token_hash: Mapped[str] = mapped_column(String(64), unique=True)
    rotated_at: Mapped[datetime | None]


class OperatorSession(Base):
    """A signed-in dashboard session. Valid while unrevoked, unexpired and while the
    operator's token is still the one (``credential``, its hash) they signed in with."""

    __tablename__ = "operator_sessions"

    id: Mapped[int] = mapped_column(BigInteger, Identity(), primary_key=True)
    session_hash: Mapped[str] = mapped_column(String(64), unique=True)
    operator_name: Mapped[str] = mapped_column(String(40), index=True)
    credential: Mapped[str] = mapped_column(String(64))
    address: Mapped[str | None] = mapped_column(String(64))
    created_at: Mapped[datetime] = mapped_column(server_default=func.now())
    expires_at: Mapped[datetime]
    revoked_at: Mapped[datetime | None]


class OperatorSigninFailure(Base):
    """One failed sign-in, counted against its address and the operator name tried."""

    __tablename__ = "operator_signin_failures"
    __table_args__ = (Index("ix_operator_signin_failures_key_at", "key", "at"),)

    id: Mapped[int] = mapped_column(BigInteger, Identity(), primary_key=True)
    key: Mapped[str] = mapped_column(String(120))  # "address:<ip>" or "operator:<name>"
    at: Mapped[datetime] = mapped_column(server_default=func.now())
