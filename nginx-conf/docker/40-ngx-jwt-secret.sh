#!/bin/sh
# Run by the nginx image's entrypoint (/docker-entrypoint.d/) before nginx starts: creates the
# demo's HMAC secret when there is none. docker-compose.yml mounts ./nginx-conf/secret here,
# so the secret survives restarts and is the one the local demo (scripts/demo) uses.
set -eu

key=/etc/nginx/secret/jwt.key
if [ ! -s "$key" ]; then
    umask 077
    mkdir -p "$(dirname "$key")"
    # 64 random bytes, written as 128 hex characters.
    head -c 64 /dev/urandom | od -An -v -tx1 | tr -d ' \n' > "$key.tmp"
    mv "$key.tmp" "$key"
    echo "$0: generated $key"
fi
