#!/usr/bin/env python3
"""Token sets for bench/soak: HS256 tokens made with the standard library only (hmac, base64).

    soak_tokens.py SECRET_FILE OUT_DIR [UNIQUE]

SECRET_FILE is the jwt_key_file of the soak's nginx; the module strips one trailing newline, and
so does this script. Writes one token per line into OUT_DIR:

    cached.txt   8 valid tokens (role user), reused all the time: cache hits after the first use
    unique.txt   UNIQUE (default 20000) distinct valid tokens: far more than jwt_cache_size 1024,
                 so the cache keeps evicting and the signature is checked again
    forged.txt   1000 tokens that must be rejected, 4 kinds in turn: claims changed after signing,
                 signed with another secret, signature cut short, "alg":"none"
    expired.txt  8 correctly signed tokens whose exp is an hour ago
    admin.txt    8 valid tokens with role admin (pass jwt_require)
    user.txt     8 valid tokens with role user (fail jwt_require: 403)
"""

import base64
import hashlib
import hmac
import json
import os
import sys
import time


def b64(data: bytes) -> str:
    return base64.urlsafe_b64encode(data).rstrip(b"=").decode("ascii")


def segment(obj) -> str:
    return b64(json.dumps(obj, separators=(",", ":")).encode())


def sign(secret: bytes, claims: dict, header=None) -> str:
    signing_input = segment(header or {"alg": "HS256", "typ": "JWT"}) + "." + segment(claims)
    mac = hmac.new(secret, signing_input.encode("ascii"), hashlib.sha256).digest()
    return signing_input + "." + b64(mac)


def main() -> None:
    if len(sys.argv) not in (3, 4):
        sys.exit(__doc__)
    with open(sys.argv[1], "rb") as f:
        secret = f.read()
    if secret.endswith(b"\r\n"):
        secret = secret[:-2]
    elif secret.endswith(b"\n"):
        secret = secret[:-1]
    out = sys.argv[2]
    unique = int(sys.argv[3]) if len(sys.argv) == 4 else 20000
    now = int(time.time())
    exp = now + 6 * 3600

    def valid(sub: str, role: str = "user", expires: int = exp) -> str:
        return sign(secret, {"sub": sub, "role": role, "iat": now, "exp": expires})

    other_secret = hashlib.sha256(secret + b"-not-the-key").hexdigest().encode()
    forged = []
    for i in range(1000):
        claims = {"sub": f"forged-{i}", "role": "admin", "iat": now, "exp": exp}
        kind = i % 4
        if kind == 0:  # signed as a user, then promoted to admin
            head, _, sig = valid(f"forged-{i}").split(".")
            forged.append(f"{head}.{segment(claims)}.{sig}")
        elif kind == 1:  # signed with a key the server does not have
            forged.append(sign(other_secret, claims))
        elif kind == 2:  # genuine token, signature cut short
            forged.append(valid(f"forged-{i}")[:-8])
        else:  # unsecured JWS
            forged.append(f'{segment({"alg": "none", "typ": "JWT"})}.{segment(claims)}.')

    sets = {
        "cached": [valid(f"cached-{i}") for i in range(8)],
        "unique": [valid(f"unique-{i}") for i in range(unique)],
        "forged": forged,
        "expired": [valid(f"expired-{i}", expires=now - 3600) for i in range(8)],
        "admin": [valid(f"admin-{i}", role="admin") for i in range(8)],
        "user": [valid(f"user-{i}") for i in range(8)],
    }
    os.makedirs(out, exist_ok=True)
    for name, tokens in sets.items():
        with open(os.path.join(out, name + ".txt"), "w") as f:
            f.write("\n".join(tokens) + "\n")


if __name__ == "__main__":
    main()
