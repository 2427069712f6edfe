"""The scheduler's HTTP API: one bottle app (`make_app`) served by `banyan serve`, CGI and tests."""

from .app import make_app

__all__ = ["make_app"]
