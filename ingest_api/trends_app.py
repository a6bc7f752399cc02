"""The Streamlit trends app, served with the security headers the dashboard has.

`pulse streamlit` runs `streamlit run` on this file: Streamlit finds the `st.App` below and
serves streamlit_app/app.py through it, with our middleware in front. The policy lets the page
load only its own files and talk only to its own server (Streamlit's WebSocket included); the
app's links to the dashboard are plain navigation, which a policy does not restrict.
"""

from __future__ import annotations

import base64
import hashlib
import importlib.util
import re
from pathlib import Path

import streamlit as st
from starlette.middleware import Middleware

from ingest_api.ui import SecurityHeaders


def _inline_script_hashes() -> str:
    """CSP hashes of the inline scripts of Streamlit's own page (one line, as installed), so
    that no other inline script may run."""
    page = Path(st.__file__).parent / "static" / "index.html"
    scripts = re.findall(r"<script>(.*?)</script>", page.read_text(), flags=re.DOTALL)
    return " ".join(
        f"'sha256-{base64.b64encode(hashlib.sha256(script.encode()).digest()).decode()}'"
        for script in scripts
    )


POLICY = "; ".join(
    (
        "default-src 'self'",
        # Streamlit's bundle injects its styles inline; its one inline script is allowed by hash.
        f"script-src 'self' {_inline_script_hashes()}",
        "style-src 'self' 'unsafe-inline'",
        "img-src 'self' data: blob:",
        "font-src 'self' data:",
        "worker-src 'self' blob:",
        "connect-src 'self'",
        "frame-ancestors 'none'",
        "base-uri 'self'",
        "form-action 'self'",
        "object-src 'none'",
    )
)
HEADERS = [
    (b"content-security-policy", POLICY.encode()),
    (b"x-content-type-options", b"nosniff"),
    (b"referrer-policy", b"no-referrer"),
    (b"x-frame-options", b"DENY"),
]


def _script() -> str:
    spec = importlib.util.find_spec("streamlit_app")
    if spec is None or spec.origin is None:
        raise RuntimeError("the streamlit_app package is not installed (`make up` installs it)")
    return str(Path(spec.origin).parent / "app.py")


app = st.App(_script(), middleware=[Middleware(SecurityHeaders, headers=HEADERS)])
