"""Response classes. orjson serialises several times faster than the standard library and keeps
Chinese text as UTF-8 rather than ``\\uXXXX`` escapes."""

from __future__ import annotations

from typing import Any

import orjson
from starlette.responses import JSONResponse, Response


class ORJSONResponse(JSONResponse):
    media_type = "application/json"

    def render(self, content: Any) -> bytes:
        return orjson.dumps(content, option=orjson.OPT_NON_STR_KEYS)


class JSONBytes(Response):
    """JSON that is serialised already (a cached payload): sent as it is."""

    media_type = "application/json"
