#!/usr/bin/env bash
# Runs every cargo-fuzz target (fuzz/) for a fixed time: CI's smoke mode, and the longer runs whose
# figures SECURITY.md records.
#   scripts/fuzz-smoke.sh            20 s per target
#   scripts/fuzz-smoke.sh 300        5 min per target
#   FUZZ_TARGETS="jwt_verify" scripts/fuzz-smoke.sh 60
# cargo-fuzz needs nightly compiler flags (sanitizers, coverage); RUSTC_BOOTSTRAP=1 enables them on
# the stable toolchain, so no nightly toolchain is needed. Exits non-zero when a target finds a
# crash (the reproducer is left under fuzz/artifacts/<target>/).
set -euo pipefail
cd "$(dirname "$0")/.."

seconds=${1:-20}
targets=${FUZZ_TARGETS:-"mrkdwn_format jwt_verify workspace_domain chat_message"}
export RUSTC_BOOTSTRAP=1

if ! cargo fuzz --version >/dev/null 2>&1; then
    cargo install cargo-fuzz --locked --version 0.13.2
fi

# Seeds: inputs that reach deep into each check. The JWT seeds are correctly signed (with the
# target's secret) for another audience, so mutations start past the signature check.
seed() {
    mkdir -p "fuzz/corpus/$1"
    printf '%s' "$3" >"fuzz/corpus/$1/$2"
}
seed workspace_domain url 'https://Acme-Corp.slack.com/'
seed workspace_domain port 'acme.slack.com:443/messages'
for aud in other-service ovice-slac; do
    seed jwt_verify "$aud" "$(python3 - "$aud" <<'PY'
import base64, hashlib, hmac, json, sys, time
b64 = lambda b: base64.urlsafe_b64encode(b).rstrip(b"=").decode()
header = b64(json.dumps({"alg": "HS256", "typ": "JWT"}).encode())
claims = b64(json.dumps({"sub": "u1", "org": "org-1", "org_role": "owner", "svc_role": "service",
                         "exp": int(time.time()) + 86400, "aud": sys.argv[1]}).encode())
secret = b"fuzz-secret-fuzz-secret-fuzz-secret-01"
sig = b64(hmac.new(secret, f"{header}.{claims}".encode(), hashlib.sha256).digest())
print(f"{header}.{claims}.{sig}", end="")
PY
)"
done
# A ChatMessage: ids, names with markup, a sender (role MEMBER), text, one user mention, a link.
mkdir -p fuzz/corpus/chat_message
python3 - >fuzz/corpus/chat_message/seed <<'PY'
import sys
def field(n, b):
    return bytes([(n << 3) | 2, len(b)]) + b
sender = field(1, b"carol") + field(2, b"<@U1> Carol") + bytes([3 << 3, 2])
msg = (field(1, b"org-1") + field(2, b"space-1") + field(3, b"Lobby & co") + field(4, b"m1")
       + field(6, sender) + field(7, b"<!channel> lunch & <#C1>") + field(8, field(1, b"alice"))
       + field(9, b"https://o.example/a?b=1&c=2"))
sys.stdout.buffer.write(msg)
PY

cd fuzz
# cargo-fuzz's default build: optimised, with debug assertions and overflow checks on.
cargo fuzz build
status=0
for t in $targets; do
    mkdir -p "corpus/$t"
    log=$(mktemp)
    echo "== fuzz $t for ${seconds}s"
    if ! cargo fuzz run "$t" "corpus/$t" -- -max_total_time="$seconds" -print_final_stats=1 \
        -rss_limit_mb=2048 -max_len=8192 >"$log" 2>&1; then
        tail -n 40 "$log"
        echo "fuzz target $t FAILED: see fuzz/artifacts/$t/"
        status=1
    fi
    # The figures: executions, their rate, coverage and corpus at the end.
    execs=$(sed -n 's/^stat::number_of_executed_units: *//p' "$log" | tail -1)
    rate=$(sed -n 's/^stat::average_exec_per_sec: *//p' "$log" | tail -1)
    final=$(grep -E '^#[0-9]+' "$log" | tail -1 | grep -oE 'cov: [0-9]+ ft: [0-9]+ corp: [0-9]+/[0-9a-zA-Z]+' || true)
    crashes=$(ls "artifacts/$t" 2>/dev/null | wc -l)
    echo "fuzz $t: ${seconds}s, ${execs:-?} executions (${rate:-?}/s), ${final:-?}, crash artifacts: $crashes"
    rm -f "$log"
done
exit $status
