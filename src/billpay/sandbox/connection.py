"""A cut connection, for the simulators' "lost purchase" faults.

The request arrived but its answer never does: the status line goes out, then the connection
closes before the promised body. A client cannot tell this from a request lost on the way in —
which is the point: only a requery can say what happened.
"""

from __future__ import annotations

from starlette.responses import Response
from starlette.types import Receive, Scope, Send


class CutConnection(Response):
    def __init__(self) -> None:
        super().__init__(status_code=200)

    async def __call__(self, scope: Scope, receive: Receive, send: Send) -> None:
        # A body is promised and never sent: the server closes the connection when the app
        # returns with the response unfinished, and the client reads an incomplete message.
        await send(
            {
                "type": "http.response.start",
                "status": 200,
                "headers": [(b"content-type", b"application/json"), (b"content-length", b"64")],
            }
        )
