"""URLs as the logger shows them, and whether a URL would expose a secret.

`http://user:password@host:8086` is a valid InfluxDB URL (httpx sends the user info as basic
auth), so a URL can hold a password: every place that logs or prints one shows
`redact_url(url)`. A token or password sent over plain http can be read by anyone on the path;
to a loopback host that path is this machine.
"""

from __future__ import annotations

import ipaddress
from urllib.parse import urlsplit, urlunsplit

REDACTED = "<redacted>"


def redact_url(url: str) -> str:
    """`url` with its user info (user and password) replaced by `<redacted>`."""
    try:
        parts = urlsplit(url)
    except ValueError:
        return REDACTED
    if "@" not in parts.netloc:
        return url
    host = parts.netloc.rsplit("@", 1)[1]
    return urlunsplit(parts._replace(netloc=f"{REDACTED}@{host}"))


def has_user_info(url: str) -> bool:
    try:
        return "@" in urlsplit(url).netloc
    except ValueError:
        return False


def is_loopback(host: str | None) -> bool:
    """`localhost` or a loopback address (127.0.0.0/8, ::1)."""
    if not host:
        return False
    if host == "localhost":
        return True
    try:
        return ipaddress.ip_address(host.strip("[]")).is_loopback
    except ValueError:
        return False


def plain_http_to_remote(url: str) -> bool:
    """True for an `http://` URL whose host is not loopback: what is sent can be read on the way."""
    try:
        parts = urlsplit(url)
    except ValueError:
        return False
    return parts.scheme == "http" and not is_loopback(parts.hostname)
