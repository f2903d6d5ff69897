"""What a webhook URL shows to people who may not see its secret.

Webhook URLs carry their credential anywhere: a query value, a path segment (``;key=``
matrix parameters, dotted or JWT-shaped tokens, letters-only tokens), or a subdomain.
Guessing which part is secret misses some of them, so the mask keeps only what is
never secret and hides the rest: the scheme, the last two labels of the host and the
last 4 characters of the URL (round-2 decision 14). The owner and admins read the full
URL back from SNS, never from the table.
"""

from __future__ import annotations

from urllib.parse import urlsplit

__all__ = ["mask_endpoint"]

HIDDEN = "***"
_VISIBLE_TAIL = 4


def mask_endpoint(url: str) -> str:
    """``https://***.example.com/***wxyz``: scheme, last two host labels, last 4 characters.

    The path, query, fragment, port, credentials and lower host labels are never shown,
    nor their length; the result depends only on the parts it shows (and on whether
    the host has more labels). A URL that does not parse is shown as ``***``.
    """
    try:
        parts = urlsplit(url)
        host = parts.hostname or ""
    except ValueError:  # an unbalanced "[" in the host, for instance
        return HIDDEN
    if not parts.scheme or not host:
        return HIDDEN
    if ":" in host:  # an IPv6 literal has no labels to hide
        shown_host = f"[{host}]"
    else:
        labels = host.rstrip(".").split(".")
        shown_host = ".".join(labels[-2:])
        if len(labels) > 2:
            shown_host = f"{HIDDEN}.{shown_host}"
    return f"{parts.scheme}://{shown_host}/{HIDDEN}{url[-_VISIBLE_TAIL:]}"
