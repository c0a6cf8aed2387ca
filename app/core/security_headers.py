"""Security headers on every response: pages, the JSON API, documents, static files.

One after-request hook rather than Flask-Talisman: the pages carry no inline script or
style (so no nonce to hand to templates), the HTTPS redirect is the proxy's job, and the
cache rule below is ours anyway; what is left is a handful of constant headers.

- The Content-Security-Policy allows only this origin: the DSFR's scripts, styles and
  fonts are served from app/static/dsfr. `img-src` adds `data:` for the icons the DSFR's
  CSS draws as data: SVGs. The DSFR's JavaScript sets styles through the CSSOM
  (`element.style.setProperty`), which `style-src 'self'` does not block, so no
  `'unsafe-inline'` is needed for styles either. `form-action` also names the sign-out
  page of ProConnect and Stripe's onboarding when they are set up: Chromium checks the
  redirect that follows a form's POST against it.
- `Cache-Control: no-store` on every response, except static files and files a view
  declared public (the content-addressed logos): pages show a person's data, flash
  messages or a form with a CSRF token, and must not be kept by a browser or a proxy.
- HSTS only where `STRICT_TRANSPORT_SECURITY` is on (production, always behind HTTPS).

A view may set its own Content-Security-Policy or X-Frame-Options (the demo mailbox
frames a mail's own HTML); the hook then leaves that header alone.
"""

from __future__ import annotations

from collections.abc import Mapping
from typing import Any
from urllib.parse import urlsplit

from flask import Flask, current_app, request
from werkzeug.wrappers import Response

STRIPE_ONBOARDING = "https://connect.stripe.com"
HSTS = "max-age=63072000; includeSubDomains"

# Browser features the service never uses: refused to the pages and to anything they embed.
PERMISSIONS_POLICY = ", ".join(
    f"{feature}=()"
    for feature in (
        "accelerometer",
        "browsing-topics",
        "camera",
        "display-capture",
        "geolocation",
        "gyroscope",
        "hid",
        "magnetometer",
        "microphone",
        "midi",
        "payment",
        "serial",
        "usb",
        "xr-spatial-tracking",
    )
)


def content_security_policy(config: Mapping[str, Any]) -> str:
    """The policy for `config`: this origin only, plus where our forms' redirects lead."""
    form_action = ["'self'"]
    if config["PROCONNECT_ISSUER"]:
        issuer = urlsplit(config["PROCONNECT_ISSUER"])
        form_action.append(f"{issuer.scheme}://{issuer.netloc}")  # sign-out at ProConnect
    if config["PAYOUT_GATEWAY"] == "stripe":
        form_action.append(STRIPE_ONBOARDING)
    return "; ".join(
        (
            "default-src 'self'",  # scripts, styles, fonts, fetches, frames
            "img-src 'self' data:",
            "object-src 'none'",
            "base-uri 'self'",
            "form-action " + " ".join(form_action),
            "frame-ancestors 'none'",
        )
    )


def add_security_headers(response: Response) -> Response:
    headers = response.headers
    headers.setdefault("Content-Security-Policy", content_security_policy(current_app.config))
    headers.setdefault("X-Frame-Options", "DENY")  # frame-ancestors, for older browsers
    headers["X-Content-Type-Options"] = "nosniff"
    headers["Referrer-Policy"] = "strict-origin-when-cross-origin"
    headers["Permissions-Policy"] = PERMISSIONS_POLICY
    if current_app.config["STRICT_TRANSPORT_SECURITY"]:
        headers["Strict-Transport-Security"] = HSTS
    if request.endpoint != "static" and not response.cache_control.public:
        headers["Cache-Control"] = "no-store"
    return response


def register_security_headers(app: Flask) -> None:
    app.after_request(add_security_headers)
