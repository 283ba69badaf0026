#!/bin/sh
# check_no_lock.sh OBJECT FUNCTION...: fails if any FUNCTION's machine code in
# OBJECT holds a LOCK-prefixed instruction or an XCHG with a memory operand
# (implicitly locked on x86; register-register XCHG, e.g. the 2-byte NOP
# `xchg %ax,%ax` compilers pad with, is not), or if a FUNCTION is missing (a renamed or inlined read side must not
# make the check pass by checking nothing). The issue's promise is "no
# interlocked instruction on epoch's datapath"; this holds the binary to it.
set -eu
obj=$1
shift
dis=$(objdump -d --no-show-raw-insn "$obj")
status=0
for fn in "$@"; do
    body=$(printf '%s\n' "$dis" | awk -v fn="<$fn>:" '
        $2 == fn { on = 1; next }
        on && /^$/ { exit }
        on { print }')
    if [ -z "$body" ]; then
        echo "FAIL: $fn not found in $obj" >&2
        status=1
        continue
    fi
    bad=$(printf '%s\n' "$body" | grep -Ei '[[:space:]]lock[[:space:]]|[[:space:]]xchg[a-z]*[[:space:]].*\(' || true)
    if [ -n "$bad" ]; then
        echo "FAIL: $fn has interlocked instructions:" >&2
        printf '%s\n' "$bad" >&2
        status=1
    else
        echo "ok: $fn ($(printf '%s\n' "$body" | wc -l) instructions, none locked)"
    fi
done
exit $status
