#!/usr/bin/env bash
# Runs one fuzz target for a while on one CPU core, resuming its previous
# session if there is one. Usage: fuzz/run.sh TARGET SECONDS [CORE]
#   TARGET: verify load_keys jwk der bearer_cookie issue remote_jwks token_members
# Findings land in fuzz/out/TARGET/default/{crashes,hangs}; see README.md.
set -euo pipefail
cd "$(dirname "$0")"
target=$1 seconds=$2 core=${3:-1}
case $target in
    verify) dicts=(-x dict/json.dict -x dict/token.dict) ;;
    issue | jwk | remote_jwks | token_members) dicts=(-x dict/json.dict) ;;
    load_keys) dicts=(-x dict/json.dict -x dict/pem.dict) ;;
    der) dicts=(-x dict/pem.dict) ;;
    bearer_cookie) dicts=(-x dict/cookie.dict) ;;
    *) echo "unknown target $target" >&2; exit 2 ;;
esac
input=corpus/$target
# "-i -" resumes from the existing output directory.
mkdir -p out
[[ -d out/$target/default/queue ]] && input=-
# Containers rarely let AFL tune the CPU governor or core dumps; neither
# changes what is found, only (slightly) the speed.
export AFL_SKIP_CPUFREQ=1 AFL_I_DONT_CARE_ABOUT_MISSING_CRASHES=1
export AFL_NO_UI=1
exec cargo afl fuzz -b "$core" -V "$seconds" -m none -i "$input" -o "out/$target" \
    "${dicts[@]}" "target/release/$target"
