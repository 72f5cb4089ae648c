"""``/v1/api-keys`` bodies and answers."""

from __future__ import annotations

import enum
import uuid
from datetime import datetime

from pydantic import BaseModel, ConfigDict, Field


class KeyMode(enum.StrEnum):
    LIVE = "live"
    TEST = "test"


class CreateApiKey(BaseModel):
    model_config = ConfigDict(extra="forbid")

    name: str = Field(min_length=1, max_length=100, description="What the key is for")
    mode: KeyMode = Field(
        default=KeyMode.LIVE,
        description="`test`: a `bp_test_` key — payments go to the simulators, with a test "
        "balance, apart from live ones",
    )


class ApiKeyOut(BaseModel):
    id: uuid.UUID
    name: str
    prefix: str = Field(description="The key's first characters, to recognise it")
    mode: KeyMode
    client_id: uuid.UUID = Field(description="The merchant, or its test twin for a test key")
    created_at: datetime
    last_used_at: datetime | None = Field(
        description="Last authentication, accurate to a minute (keys are cached that long)"
    )
    revoked_at: datetime | None


class CreatedApiKey(ApiKeyOut):
    key: str = Field(description="The key itself: shown this once, stored only as a hash")


class ApiKeyList(BaseModel):
    data: list[ApiKeyOut]
