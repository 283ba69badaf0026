#!/bin/sh
# The epoch read side executes no LOCK-prefixed instruction and no XCHG
# with memory (which is implicitly locked): DESIGN.md "The swap", step 3.
# A register-register XCHG is not locked: "xchg %ax,%ax" is the assembler's
# two-byte NOP for padding.
# usage: disasm_check.sh OBJDUMP HOTLWF.so
set -eu
objdump=$1
so=$2
status=0
for fn in HlEpochReadEnter HlEpochReadLeave; do
    body=$("$objdump" -d --no-show-raw-insn "$so" |
        awk -v fn="<$fn>:" '$2 == fn { p = 1; next } p && /^$/ { exit } p')
    if [ -z "$body" ]; then
        echo "FAIL: $fn not found in $so (inlined or renamed?)"
        status=1
        continue
    fi
    n=$(printf '%s\n' "$body" | wc -l)
    bad=$(printf '%s\n' "$body" | grep -E '[[:space:]]lock[[:space:]]|[[:space:]]xchg[a-z]*[[:space:]].*\(' || true)
    if [ -n "$bad" ]; then
        echo "FAIL: $fn has locked instructions:"
        printf '%s\n' "$bad"
        status=1
    else
        echo "ok: $fn, $n instructions, none locked"
    fi
done
exit $status
