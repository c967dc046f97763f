#!/usr/bin/env python3
"""Token sets for bench/run, signed with the `cryptography` primitives (target/venv).

    run_tokens.py CONF_DIR OUT_DIR [HS256_DISTINCT [ASYMMETRIC_DISTINCT]]

CONF_DIR holds the keys of bench/run's nginx: hs.key (HMAC secret; the module strips one
trailing newline, so does this script), rsa.pem, ec.pem (P-256), ed.pem (Ed25519), private keys
in PEM. Writes one token per line into OUT_DIR:

    hs256.txt rs256.txt es256.txt eddsa.txt   one valid token each (the cached rows)
    forged.txt          HS256, valid claims, signed with a secret the server does not have
    malformed.txt       three segments, the header's JSON cut short (no cryptography needed)
    unknown-kid.txt     HS256 signed with the right secret, "kid":"unknown" (the ring has kid=bench)
    disallowed-alg.txt  HS256 signed with the right secret, for a location of jwt_algorithms RS256
    hs256-distinct.txt  HS256_DISTINCT (default 20000) distinct valid tokens
    rs256-distinct.txt es256-distinct.txt eddsa-distinct.txt
                        ASYMMETRIC_DISTINCT (default 4000) distinct valid tokens each

Every token expires 6 hours after it is made. The asymmetric sets are signed in a process pool
(RSA-2048 signing is the slow part: 4000 take about a second per core).
"""

import base64
import hashlib
import hmac
import json
import os
import sys
import time
from multiprocessing import Pool

from cryptography.hazmat.primitives import hashes, serialization
from cryptography.hazmat.primitives.asymmetric import ec, padding
from cryptography.hazmat.primitives.asymmetric.utils import decode_dss_signature

NOW = int(time.time())
EXP = NOW + 6 * 3600
KEYS = {}


def b64(data: bytes) -> str:
    return base64.urlsafe_b64encode(data).rstrip(b"=").decode("ascii")


def segment(obj) -> str:
    return b64(json.dumps(obj, separators=(",", ":")).encode())


def claims(sub: str) -> dict:
    return {"sub": sub, "roles": ["user"], "iat": NOW, "exp": EXP}


def hs256(secret: bytes, sub: str, extra_header=None) -> str:
    header = {"alg": "HS256", "typ": "JWT", **(extra_header or {})}
    signing_input = segment(header) + "." + segment(claims(sub))
    mac = hmac.new(secret, signing_input.encode("ascii"), hashlib.sha256).digest()
    return signing_input + "." + b64(mac)


def load_keys(conf: str) -> None:
    for name in ("rsa", "ec", "ed"):
        with open(os.path.join(conf, name + ".pem"), "rb") as f:
            KEYS[name] = serialization.load_pem_private_key(f.read(), password=None)


def asymmetric(job) -> list:
    """(alg, prefix, first, count) -> tokens; runs in a pool worker with KEYS loaded."""
    alg, prefix, first, count = job
    header = segment({"alg": alg, "typ": "JWT"})
    out = []
    for i in range(first, first + count):
        data = (header + "." + segment(claims(f"{prefix}-{i}"))).encode("ascii")
        if alg == "RS256":
            sig = KEYS["rsa"].sign(data, padding.PKCS1v15(), hashes.SHA256())
        elif alg == "ES256":
            r, s = decode_dss_signature(KEYS["ec"].sign(data, ec.ECDSA(hashes.SHA256())))
            sig = r.to_bytes(32, "big") + s.to_bytes(32, "big")
        else:  # EdDSA
            sig = KEYS["ed"].sign(data)
        out.append(data.decode("ascii") + "." + b64(sig))
    return out


def main() -> None:
    if len(sys.argv) not in (3, 4, 5):
        sys.exit(__doc__)
    conf, out = sys.argv[1], sys.argv[2]
    hs_distinct = int(sys.argv[3]) if len(sys.argv) > 3 else 20000
    asym_distinct = int(sys.argv[4]) if len(sys.argv) > 4 else 4000
    with open(os.path.join(conf, "hs.key"), "rb") as f:
        secret = f.read()
    if secret.endswith(b"\r\n"):
        secret = secret[:-2]
    elif secret.endswith(b"\n"):
        secret = secret[:-1]

    # Asymmetric jobs first, in chunks, so the pool is busy while HS256 is made here.
    chunk = 250
    jobs = []
    for alg, name in (("RS256", "rs256"), ("ES256", "es256"), ("EdDSA", "eddsa")):
        jobs.append((alg, name + "-cached", 0, 1))
        for first in range(0, asym_distinct, chunk):
            jobs.append((alg, name + "-distinct", first, min(chunk, asym_distinct - first)))
    pool = Pool(os.cpu_count() or 2, initializer=load_keys, initargs=(conf,))
    pending = pool.map_async(asymmetric, jobs)

    other = hashlib.sha256(secret + b"-not-the-key").hexdigest().encode()
    valid = hs256(secret, "hs256-cached-0")
    _, body, signature = valid.split(".")
    truncated_header = b64(b'{"alg":"HS256","typ":"JWT"')
    sets = {
        "hs256": [valid],
        "forged": [hs256(other, "forged-0")],
        "malformed": [f"{truncated_header}.{body}.{signature}"],
        "unknown-kid": [hs256(secret, "unknown-kid-0", {"kid": "unknown"})],
        "disallowed-alg": [hs256(secret, "disallowed-alg-0")],
        "hs256-distinct": [hs256(secret, f"hs256-distinct-{i}") for i in range(hs_distinct)],
    }
    sets["rs256"], sets["es256"], sets["eddsa"] = [], [], []
    for (alg, prefix, _, _), tokens in zip(jobs, pending.get()):
        name = prefix.replace("-cached", "")
        sets.setdefault(name, []).extend(tokens)
    pool.close()
    pool.join()

    os.makedirs(out, exist_ok=True)
    for name, tokens in sets.items():
        assert len(set(tokens)) == len(tokens), name
        with open(os.path.join(out, name + ".txt"), "w") as f:
            f.write("\n".join(tokens) + "\n")


if __name__ == "__main__":
    main()
