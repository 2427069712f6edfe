"""Domain errors. Each carries the HTTP status it maps to, so routes never guess."""


class BanyanError(Exception):
    """Base class; `str(err)` is the one-line message a client sees."""

    status = 500


class BadRequest(BanyanError):
    """Raised when a request or a dropped file fails validation."""

    status = 400


class Unauthorized(BanyanError):
    """Raised when a request carries no valid token."""

    status = 401


class Forbidden(BanyanError):
    """Raised when a token's role does not allow the action."""

    status = 403


class NotFound(BanyanError):
    """Raised when a job, node or route does not exist."""

    status = 404


class Conflict(BanyanError):
    """Raised when the job's state does not allow the transition asked for."""

    status = 409


class TooLarge(BanyanError):
    """Raised when a body is over its size limit."""

    status = 413


class NoSpace(BanyanError):
    """Raised when the state folder's disk is full: nothing was half written."""

    status = 507


class Unavailable(BanyanError):
    """Raised when a node or the scheduler API does not answer."""

    status = 503
