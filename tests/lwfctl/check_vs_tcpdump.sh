#!/usr/bin/env bash
# `lwfctl check` must agree, packet for packet, with a verdict computed
# independently from tcpdump: for each rule, tcpdump -# says which packets
# its expression matches; the first applicable matching rule wins, else the
# default. Run for every rules file in RULES_DIR x every capture in
# CAPTURE_DIR x direction in/out x no adapter and each adapter a rule names.
#
#   check_vs_tcpdump.sh LWFCTL TCPDUMP CAPTURE_DIR RULES_DIR
#
# Rules files here use a subset of the syntax the script can read without
# lwfctl's parser: whole-line comments, `default ACTION`, and
# `ACTION DIR [on SELECTOR] "EXPR"` with SELECTOR written as --adapter takes it.
set -uo pipefail

LWFCTL=$1 TCPDUMP=$2 CAPTURES=$3 RULES=$4
WORK=$(mktemp -d)
trap 'rm -rf "$WORK"' EXIT
die() { echo "FAIL: $*" >&2; exit 1; }

shopt -s nullglob
captures=("$CAPTURES"/*.pcap "$CAPTURES"/*.pcapng)
rulefiles=("$RULES"/*.rules)
((${#captures[@]} > 0)) || die "no capture in $CAPTURES"
((${#rulefiles[@]} > 0)) || die "no rules file in $RULES"

# tcpdump -# counts the packets it prints, not their place in the file, so
# a filtered run's numbers are not file positions. Each packet is keyed by
# its timestamp and every captured byte (not the decode: tcpdump's TCP
# decoder is stateful, its relative sequence numbers depend on which packets
# were printed before). The packets EXPR matches are a subsequence of all
# packets; walking both in order recovers their positions. Packets with the
# same key would also get the same verdict, so the walk cannot mislabel one.
tcpdump_keys() {
    local cap=$1 expr=$2
    "$TCPDUMP" -r "$cap" -nn -tt -xx -# "$expr" 2>"$WORK/tcpdump.err" >"$WORK/tcpdump.out" ||
        die "tcpdump -r $cap '$expr': $(cat "$WORK/tcpdump.err")"
    awk '/^ *[0-9]+  / { if (n++) print k; k = $2; next }
         { k = k "|" $0 }
         END { if (n) print k }' "$WORK/tcpdump.out"
}

# File positions (from 1) of the packets EXPR matches, one per line.
tcpdump_matches() {
    local cap=$1 expr=$2
    tcpdump_keys "$cap" "$expr" >"$WORK/keys.sub"
    awk -v all="$WORK/keys.all" '
        { while ((getline k < all) > 0) { j++; if (k == $0) { print j; next } }
          exit 1 }' "$WORK/keys.sub" ||
        die "$cap: packets tcpdump matches for '$expr' are not found among all its packets"
}

checked=0
for rules in "${rulefiles[@]}"; do
    actions=() dirs=() sels=() exprs=() default=pass
    lineno=0
    while IFS= read -r line || [[ -n $line ]]; do
        lineno=$((lineno + 1))
        [[ $line =~ ^[[:space:]]*(#.*)?$ ]] && continue
        if [[ $line =~ ^default[[:space:]]+(pass|drop)[[:space:]]*$ ]]; then
            default=${BASH_REMATCH[1]}
        elif [[ $line =~ ^(pass|drop)[[:space:]]+(in|out|both)([[:space:]]+on[[:space:]]+([^[:space:]\"]+))?[[:space:]]+\"([^\"]*)\"[[:space:]]*$ ]]; then
            actions+=("${BASH_REMATCH[1]}") dirs+=("${BASH_REMATCH[2]}")
            sels+=("${BASH_REMATCH[4]}") exprs+=("${BASH_REMATCH[5]}")
        else
            die "$rules:$lineno: line outside the subset this script reads: $line"
        fi
    done <"$rules"
    adapters=("")
    for s in "${sels[@]}"; do [[ -n $s && ! " ${adapters[*]} " =~ " $s " ]] && adapters+=("$s"); done

    for cap in "${captures[@]}"; do
        tcpdump_keys "$cap" "" >"$WORK/keys.all"
        npackets=$(wc -l <"$WORK/keys.all")
        [[ -n $npackets ]] || die "$cap: tcpdump reads no packet"
        for i in "${!exprs[@]}"; do tcpdump_matches "$cap" "${exprs[$i]}" >"$WORK/match.$i"; done
        for dir in in out; do
            for adapter in "${adapters[@]}"; do
                # Rules that apply here, in file order, as "index action".
                : >"$WORK/applicable"
                for i in "${!exprs[@]}"; do
                    [[ ${dirs[$i]} == both || ${dirs[$i]} == "$dir" ]] || continue
                    [[ -z ${sels[$i]} || ${sels[$i]} == "$adapter" ]] || continue
                    echo "$i ${actions[$i]}" >>"$WORK/applicable"
                done
                awk -v n="$npackets" -v def="$default" -v work="$WORK" '
                    { idx[++r] = $1; act[r] = $2
                      f = work "/match." $1
                      while ((getline p < f) > 0) hit[$1, p] = 1
                      close(f) }
                    END {
                      for (p = 1; p <= n; p++) {
                        v = p " default " def
                        for (k = 1; k <= r; k++)
                          if ((idx[k], p) in hit) { v = p " " (idx[k] + 1) " " act[k]; break }
                        print v
                      } }' "$WORK/applicable" </dev/null >"$WORK/expected"
                args=(check "$rules" --pcap "$cap" --direction "$dir")
                [[ -n $adapter ]] && args+=(--adapter "$adapter")
                "$LWFCTL" "${args[@]}" >"$WORK/actual" 2>"$WORK/lwfctl.err" ||
                    die "lwfctl ${args[*]} exited $?: $(cat "$WORK/lwfctl.err")"
                if ! cmp -s "$WORK/expected" "$WORK/actual"; then
                    first=$(diff "$WORK/expected" "$WORK/actual" | head -n 4)
                    p=$(paste "$WORK/expected" "$WORK/actual" | awk -F'\t' '$1 != $2 { split($1, a, " "); split($2, b, " "); print (a[1] != "" ? a[1] : b[1]); exit }')
                    echo "FAIL: lwfctl ${args[*]}" >&2
                    echo "  first differing packet $p: expected '$(sed -n "${p}p" "$WORK/expected")', lwfctl says '$(sed -n "${p}p" "$WORK/actual")'" >&2
                    echo "  tcpdump: $("$TCPDUMP" -r "$cap" -nn -t -# 2>/dev/null | awk -v p="$p" '$1 == p' | head -n 1)" >&2
                    echo "$first" >&2
                    exit 1
                fi
                checked=$((checked + npackets))
            done
        done
    done
    echo "ok $(basename "$rules"): ${#exprs[@]} rules, default $default"
done
echo "ok: $checked verdicts agree with tcpdump"
