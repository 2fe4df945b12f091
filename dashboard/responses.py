"""How every export route answers when something goes wrong: one place, so the routes cannot drift apart."""
from __future__ import annotations

import logging
import uuid

import sqlalchemy as sa
from flask import Response, request

from queries.exports import BadParameter

log = logging.getLogger(__name__)


def plain(status: int, message: str) -> Response:
    return Response(message + "\n", status=status, mimetype="text/plain")


def guarded(make, plain=plain) -> Response:
    """Run an export handler: a refused parameter is a 400, an unreachable store a 503, anything else a 500;
    the last two are logged with a reference the user sees, never a traceback. Shared by every export route."""
    try:
        return make()
    except BadParameter as exc:
        return plain(400, str(exc))
    except sa.exc.OperationalError:
        reference = uuid.uuid4().hex[:12]
        log.exception("export %s: data store unavailable (reference %s)", request.full_path, reference)
        return plain(503, f"data store unavailable, reference {reference}")
    except Exception:
        reference = uuid.uuid4().hex[:12]
        log.exception("export %s failed (reference %s)", request.full_path, reference)
        return plain(500, f"internal error, reference {reference}")
