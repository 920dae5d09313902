"""Reading the current baton from a running session-baton server or memhall: `POST /v1/baton/read`.

Standard library only (urllib). The bearer token comes from an environment variable whose *name* the
caller gives; it is sent in the Authorization header and never stored, printed or put in an error.
"""

from __future__ import annotations

import json
import os
import socket
import urllib.error
import urllib.request

from .source import CaptureFailed, Fetched

DEFAULT_TIMEOUT = 5.0


def token_from_env(token_env: str | None) -> str | None:
    if not token_env:
        return None
    token = os.environ.get(token_env)
    if not token:
        raise CaptureFailed(f"the environment variable {token_env} is not set (it should hold the bearer token)")
    return token


def read_url(base_url: str) -> str:
    base = base_url.rstrip("/")
    return base if base.endswith("/v1/baton/read") else f"{base}/v1/baton/read"


def fetch(base_url: str, namespace: str, *, token: str | None = None, timeout: float | None = None) -> Fetched:
    """The read response for one namespace (raw bytes, parsed later by the api-envelope importer)."""
    url = read_url(base_url)
    body = json.dumps({"namespace": namespace}).encode()
    headers = {"Content-Type": "application/json", "Accept": "application/json"}
    if token:
        headers["Authorization"] = f"Bearer {token}"
    request = urllib.request.Request(url, data=body, headers=headers, method="POST")
    try:
        with urllib.request.urlopen(request, timeout=timeout or DEFAULT_TIMEOUT) as response:
            data = response.read()
    except urllib.error.HTTPError as exc:
        detail = exc.read(500).decode("utf-8", "replace").strip()
        hint = " (check --token-env)" if exc.code in (401, 403) else ""
        raise CaptureFailed(f"{url} answered HTTP {exc.code}{hint}: {detail}") from None
    except (urllib.error.URLError, socket.timeout, TimeoutError, ConnectionError, OSError) as exc:
        reason = getattr(exc, "reason", exc)
        raise CaptureFailed(f"cannot reach {url}: {reason}") from None
    return Fetched(namespace=namespace, data=data, uri=f"{url}?namespace={namespace}")
