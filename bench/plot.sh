#!/bin/sh
# plot.sh storm|rules JSON PREFIX
#
# The bench's pictures, drawn with gnuplot from hotlwf-bench's JSON (jq
# extracts the series), so that they can be redrawn without re-running:
#
#   storm JSON PREFIX  (hotlwf-bench --json, a strategies run)
#     PREFIX-timeline.png  one panel per strategy, same axes: packets/s of the
#                          first repetition, 10 ms bins; red where a bin fell
#                          below half the panel's median (an outage), grey
#                          ticks under the bins in which SET_CONFIGs were sent
#     PREFIX-latency.png   one panel per strategy: the CDF of its
#                          reconfiguration latency (log x), the other
#                          strategies in grey behind it for comparison
#   rules JSON PREFIX  (hotlwf-bench --scale rules --json)
#     PREFIX.png           packets/s, compile time and snapshot + index bytes
#                          against the number of rules, one line per shape
set -eu
[ $# -eq 3 ] || { echo "usage: plot.sh storm|rules JSON PREFIX" >&2; exit 2; }
kind=$1 json=$2 prefix=$3
for tool in jq gnuplot; do
    command -v $tool >/dev/null || { echo "plot.sh: $tool is not installed (scripts/deps.sh)" >&2; exit 2; }
done
tmp=$(mktemp -d "${TMPDIR:-/tmp}/hlplot.XXXXXX")
trap 'rm -rf "$tmp"' EXIT

storm() {
    n=$(jq '.strategies | length' "$json")
    [ "$n" -gt 0 ] || { echo "plot.sh: no strategies in $json" >&2; exit 1; }
    cols=3
    rows=$(( (n + cols - 1) / cols ))
    # Same axes for every panel: up to 1.3 times the 99th percentile of every bin, so that a
    # single bin catching up a backlog does not flatten the others (it is drawn off the top).
    ymax=$(jq '[.strategies[].timeline_pps[]] | sort | .[(length * 0.99) | floor] * 1.3' "$json")
    setup=$(jq -r '"\(.reconfig_rate) reconfigurations/s, \(.cpus) CPUs, batch \(.batch), \(.rules) \(.rule_shape) rules"' "$json")
    title="$setup, first of $(jq -r .reps "$json") repetitions"
    # In pixels: 60 for the title, 50 between rows, 45 under the last one.
    h=$((rows * 260 + 60))
    top=$(awk -v h="$h" 'BEGIN { printf "%.3f", 1 - 80 / h }')
    vspace=$(awk -v h="$h" 'BEGIN { printf "%.3f", 85 / h }')
    bottom=$(awk -v h="$h" 'BEGIN { printf "%.3f", 45 / h }')
    panels() { # OUTPUT TITLE: one page of rows x cols panels
        echo "set terminal pngcairo size 1500,$h font 'sans,10'"
        echo "set output '$1'"
        echo "set multiplot layout $rows,$cols margins 0.05,0.98,$bottom,$top spacing 0.05,$vspace title '$2' font 'sans,13'"
    }
    i=0
    while [ $i -lt "$n" ]; do
        # t pps outage-or-NaN reconfigs-sent
        jq -r --argjson i $i '.strategies[$i] as $s
            | ($s.timeline_pps | sort | .[length / 2 | floor]) as $med
            | range(0; $s.timeline_pps | length) as $b
            | "\(($b + 0.5) * $s.timeline_bin_s) \($s.timeline_pps[$b]) \(if $s.timeline_pps[$b] < $med / 2 then $s.timeline_pps[$b] else "NaN" end) \($s.timeline_reconfigs[$b])"' \
            "$json" >"$tmp/t$i.dat"
        # latency (us) and cumulative fraction
        jq -r --argjson i $i '.strategies[$i].reconfig_cdf_us as $c
            | range(0; $c | length) as $k | "\($c[$k]) \($k / ($c | length - 1))"' "$json" >"$tmp/c$i.dat"
        i=$((i + 1))
    done

    {
        panels "$prefix-timeline.png" "Throughput during the storm: $title"
        echo "set xrange [0:*]; set yrange [0:$ymax]; set grid ytics lc rgb '#dddddd'"
        echo "set format y '%.1s%c'; set xlabel 'seconds' offset 0,0.5; set ylabel 'packets/s' offset 1,0"
        echo "set key off"
        i=0
        while [ $i -lt "$n" ]; do
            name=$(jq -r --argjson i $i '.strategies[$i].name' "$json")
            ok=$(jq -r --argjson i $i '.strategies[$i].runs_ok' "$json")
            dl=$(jq -r --argjson i $i 'if .strategies[$i].deadlock_detected then "deadlock: \(.strategies[$i].deadlock_callback) hung, found after \(.strategies[$i].deadlock_after_ms | floor) ms" else "no successful run" end' "$json")
            echo "set title '$name' font 'sans,12'"
            echo "unset label"
            [ "$ok" -gt 0 ] || echo "set label 1 '$dl' at graph 0.5, graph 0.5 center tc rgb '#b00000'"
            echo "plot '$tmp/t$i.dat' using 1:(\$4 > 0 ? $ymax * 0.03 : 1/0) with impulses lc rgb '#aaaaaa' lw 1, \\"
            echo "     '' using 1:2 with lines lc rgb '#1f4e99' lw 1.5, \\"
            echo "     '' using 1:3 with points pt 7 ps 0.5 lc rgb '#d00000'"
            i=$((i + 1))
        done
        echo "unset multiplot"
    } >"$tmp/timeline.gp"
    gnuplot "$tmp/timeline.gp"

    {
        panels "$prefix-latency.png" "Reconfiguration latency, SET\\\\_CONFIG sent to answered (CDF of all $(jq -r .reps "$json") repetitions): $setup"
        echo "set logscale x; set xrange [1:100000]; set yrange [0:1]; set grid xtics ytics lc rgb '#dddddd'"
        echo "set format x '10^{%T}'; set xlabel 'microseconds (log)' offset 0,0.5; set ylabel 'fraction' offset 1,0"
        echo "set key off"
        i=0
        while [ $i -lt "$n" ]; do
            name=$(jq -r --argjson i $i '.strategies[$i].name' "$json")
            p50=$(jq -r --argjson i $i '.strategies[$i].reconfig_p50_us' "$json")
            p99=$(jq -r --argjson i $i '.strategies[$i].reconfig_p99_us' "$json")
            done_n=$(jq -r --argjson i $i '.strategies[$i].reconfigs' "$json")
            echo "set title sprintf('$name: p50 %.0f us, p99 %.0f us', $p50, $p99) font 'sans,12'"
            echo "unset label"
            [ "$done_n" -gt 0 ] || echo "set label 1 'no reconfiguration completed' at graph 0.5, graph 0.5 center tc rgb '#b00000'"
            printf "plot "
            j=0
            while [ $j -lt "$n" ]; do
                [ $j -ne $i ] && printf "'%s' using 1:(\$1 > 0 ? \$2 : 1/0) with lines lc rgb '#cccccc' lw 1, " "$tmp/c$j.dat"
                j=$((j + 1))
            done
            echo "'$tmp/c$i.dat' using 1:(\$1 > 0 ? \$2 : 1/0) with lines lc rgb '#1f4e99' lw 2.5"
            i=$((i + 1))
        done
        echo "unset multiplot"
    } >"$tmp/latency.gp"
    gnuplot "$tmp/latency.gp"
    echo "plot.sh: $prefix-timeline.png $prefix-latency.png"
}

rules() {
    n=$(jq '.shapes | length' "$json")
    [ "$n" -gt 0 ] || { echo "plot.sh: no shapes in $json" >&2; exit 1; }
    i=0
    while [ $i -lt "$n" ]; do
        jq -r --argjson i $i '.shapes[$i].points[] | "\(.rules) \(.pps) \(.compile_ms) \((.snapshot_bytes + .index_bytes) / 1048576)"' \
            "$json" >"$tmp/r$i.dat"
        i=$((i + 1))
    done
    plot_all() { # column title-prefix
        printf "plot "
        i=0
        while [ $i -lt "$n" ]; do
            shape=$(jq -r --argjson i $i '.shapes[$i].shape' "$json")
            printf "'%s' using 1:%s with linespoints lw 2 pt %d ps 1.2 title '%s'%s" "$tmp/r$i.dat" "$1" \
                $((i + 5)) "$shape" "$([ $((i + 1)) -lt "$n" ] && echo ', ' || true)"
            i=$((i + 1))
        done
        echo
    }
    {
        echo "set terminal pngcairo size 1500,480 font 'sans,11'"
        echo "set output '$prefix.png'"
        echo "set multiplot layout 1,3 title 'Rule sets from 1 to 100,000 rules: classification on one core (received direction, both captures) and compilation in the driver' font 'sans,13'"
        echo "set logscale x; set format x '10^{%T}'; set xlabel 'rules (log)'; set grid lc rgb '#dddddd'"
        echo "set key top right; set lmargin 10"
        echo "set title 'packets/s classified'; set yrange [0:*]; set format y '%.1s%c'"
        plot_all 2
        echo "set title 'compile time (ms, log)'; set logscale y; set yrange [*:*]; set format y '%g'; set key top left"
        plot_all 3
        echo "set title 'snapshot + index (MiB, log; 2 CPUs of counters)'"
        plot_all 4
        echo "unset multiplot"
    } >"$tmp/rules.gp"
    gnuplot "$tmp/rules.gp"
    echo "plot.sh: $prefix.png"
}

case $kind in
storm) storm ;;
rules) rules ;;
*) echo "usage: plot.sh storm|rules JSON PREFIX" >&2; exit 2 ;;
esac
