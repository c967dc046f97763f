"""The demo's authenticator app: checks passwords, knows users, holds no JWT secret.

nginx's `jwt_login` sends the client's POST body here (location /authenticate) and signs
whatever JSON object a 200 answer holds; any other answer goes back to the client as it is.

    POST /login   {"username": ..., "password": ...} as JSON, or the same fields as an HTML form
                  (application/x-www-form-urlencoded: the browser login of /login.html)
                  200 {"sub", "name", "roles"} | 401 invalid_credentials | 400 bad_request
    GET  /whoami  echoes X-User (set by nginx from the verified token) and all request headers
    GET  /app/... the browser's protected page (templates/app.html): greets X-User, the
                  verified `sub` claim that nginx passes; 401 without it
    GET  /health  {"status": "ok"}

The login answers JSON either way: nginx turns a 200 into a token (for a browser: a cookie
and a 303 to return_to) and, for a browser, a refusal into a 303 to the login page.

Listens on DEMO_APP_HOST:DEMO_APP_PORT (default 127.0.0.1:5000). Users come from
users.json beside this file (DEMO_USERS_FILE overrides); add some with hash_password.py.
"""

import json
import os
import secrets
from pathlib import Path

from flask import Flask, jsonify, render_template, request

from hash_password import hash_password, verify_password

USERS_FILE = Path(os.environ.get("DEMO_USERS_FILE", Path(__file__).with_name("users.json")))
USERS = json.loads(USERS_FILE.read_text())
# Checked for unknown users too, so that the answer takes as long as for a wrong password.
UNKNOWN_USER_HASH = hash_password(secrets.token_hex(16))

app = Flask(__name__)


@app.post("/login")
def login():
    # JSON (API clients) or an HTML form (browsers). A form can be posted from any site, so
    # only a gateway that refuses cross-site form logins may accept it: nginx's jwt_login does
    # (jwt_login_redirect, Sec-Fetch-Site and Origin). Other fields (return_to) are nginx's.
    if request.is_json:
        body = request.get_json(silent=True)
    elif request.mimetype == "application/x-www-form-urlencoded":
        body = request.form.to_dict()
    else:
        body = None
    if not isinstance(body, dict):
        return jsonify(error="bad_request"), 400
    username, password = body.get("username"), body.get("password")
    if not isinstance(username, str) or not isinstance(password, str):
        return jsonify(error="bad_request"), 400

    user = USERS.get(username)
    stored = user["password"] if user else UNKNOWN_USER_HASH
    if not verify_password(password, stored) or user is None:
        return jsonify(error="invalid_credentials"), 401
    # These become the token's claims; nginx adds iat and exp.
    return jsonify(sub=username, name=user["name"], roles=user["roles"])


@app.get("/whoami")
def whoami():
    return jsonify(user=request.headers.get("X-User"), headers=dict(request.headers))


@app.get("/app/")
@app.get("/app/<path:page>")
def app_page(page=""):
    # nginx's location /app/ verified the session cookie and set X-User from its `sub` claim
    # (replacing any X-User the browser sent). Jinja escapes every value for HTML.
    user = request.headers.get("X-User")
    if not user:
        return "reach this page through nginx (X-User is missing)\n", 401, {
            "Content-Type": "text/plain; charset=utf-8"
        }
    html = render_template(
        "app.html",
        user=user,
        name=request.headers.get("X-User-Name", ""),
        path=request.full_path.rstrip("?"),
    )
    return html, 200, {
        "Cache-Control": "no-store",
        "X-Frame-Options": "DENY",
        "Content-Security-Policy": "default-src 'self'; frame-ancestors 'none'; "
        "form-action 'self'",
    }


@app.get("/health")
def health():
    return jsonify(status="ok")


if __name__ == "__main__":
    host = os.environ.get("DEMO_APP_HOST", "127.0.0.1")
    port = int(os.environ.get("DEMO_APP_PORT", "5000"))
    app.run(host=host, port=port)
