"""Password hashing for the demo users (scrypt with a per-user salt).

As a command, prints a users.json entry for a new user:

    python3 demo/hash_password.py carol --name "Carol" --role user
    (asks for the password; or pass it on stdin: echo secret | ... --stdin)

Stored form: "scrypt$N$r$p$<salt hex>$<hash hex>".
"""

import argparse
import getpass
import hashlib
import hmac
import json
import secrets
import sys

# scrypt cost: 2^14 iterations, 16 MiB of memory, about 50 ms per check.
N, R, P = 2**14, 8, 1
SALT_BYTES = 16
HASH_BYTES = 32


def _scrypt(password: str, salt: bytes, n: int, r: int, p: int) -> bytes:
    return hashlib.scrypt(password.encode(), salt=salt, n=n, r=r, p=p,
                          maxmem=256 * n * r, dklen=HASH_BYTES)


def hash_password(password: str) -> str:
    salt = secrets.token_bytes(SALT_BYTES)
    digest = _scrypt(password, salt, N, R, P)
    return f"scrypt${N}${R}${P}${salt.hex()}${digest.hex()}"


def verify_password(password: str, stored: str) -> bool:
    """True when `password` matches `stored`; compares in constant time."""
    try:
        scheme, n, r, p, salt, expected = stored.split("$")
        if scheme != "scrypt":
            return False
        digest = _scrypt(password, bytes.fromhex(salt), int(n), int(r), int(p))
    except ValueError:
        return False
    return hmac.compare_digest(digest, bytes.fromhex(expected))


def main() -> None:
    parser = argparse.ArgumentParser(description="Print a users.json entry for a demo user.")
    parser.add_argument("username")
    parser.add_argument("--name", help="display name (default: the username)")
    parser.add_argument("--role", action="append", default=[], help="repeat for several roles")
    parser.add_argument("--stdin", action="store_true", help="read the password from stdin")
    args = parser.parse_args()

    if args.stdin:
        password = sys.stdin.readline().rstrip("\n")
    else:
        password = getpass.getpass("password: ")
        if password != getpass.getpass("again: "):
            sys.exit("passwords differ")
    if not password:
        sys.exit("empty password")

    entry = {"name": args.name or args.username, "roles": args.role,
             "password": hash_password(password)}
    print(json.dumps({args.username: entry}, indent=2))


if __name__ == "__main__":
    main()
