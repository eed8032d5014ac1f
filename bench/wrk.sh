#!/usr/bin/env bash
# The shells under wrk, side by side in one run: each shell in turn (the order
# rotated every round) serves `GET /` with one thread pinned to core 0, wrk
# runs on core 1 with 64 connections, pipelined (depth 16, TechEmpower's
# headers) and not. The server's cost is its core's busy share from
# /proc/stat (user, system, irq and softirq: loopback TCP work lands there)
# divided into the requests it answered: "requests per server-core second".
#
#   bash bench/wrk.sh                                   # mio tokio smol hyper floor, 3 rounds of 5 s
#   SHELLS="mio hyper" ROUNDS=5 DURATION=10s bash bench/wrk.sh
#
# Needs wrk (apt-get install -y wrk) and two or more cores. Load goes to
# 127.0.0.1 only; every run stops by itself.
set -u
cd "$(dirname "$0")/.."
SHELLS=${SHELLS:-"mio tokio smol hyper floor"}
ROUNDS=${ROUNDS:-3}
DURATION=${DURATION:-5s}
PORT=${PORT:-18080}
OUT=${OUT:-wrk-out}
command -v wrk >/dev/null || { echo "wrk is not installed (apt-get install -y wrk)" >&2; exit 2; }
[ "$(nproc)" -ge 2 ] || { echo "needs two cores: one for the server, one for wrk" >&2; exit 2; }
cargo build --release -p nutshell >&2 || exit 1
BIN=target/release/nutshell
mkdir -p "$OUT"
RAW="$OUT/raw.tsv"
printf 'round\tshell\tmode\treq_per_s\tserver_busy\twrk_busy\tper_core_s\tsteal\n' > "$RAW"

# Busy and total jiffies of one CPU from /proc/stat, and its steal (time
# the hypervisor gave to someone else: a virtual machine's hidden noise).
cpu_jiffies() {
    awk -v cpu="cpu$1" '$1 == cpu { idle = $5 + $6; total = 0; for (i = 2; i <= NF; i++) total += $i; print total - idle, total, $9 }' /proc/stat
}

share() { # before_busy before_total after_busy after_total
    awk -v b0="$1" -v t0="$2" -v b1="$3" -v t1="$4" 'BEGIN { d = t1 - t0; if (d <= 0) print 0; else printf "%.3f", (b1 - b0) / d }'
}

run_cell() { # round shell mode
    local round=$1 shell=$2 mode=$3 args=()
    [ "$mode" = pipelined ] && args=(-s bench/pipeline.lua)
    read -r sb0 st0 ss0 < <(cpu_jiffies 0)
    read -r wb0 wt0 ws0 < <(cpu_jiffies 1)
    local text
    text=$(taskset -c 1 wrk -t1 -c64 -d"$DURATION" --timeout 5s \
        -H 'Host: localhost' -H 'Accept: text/plain,text/html;q=0.9,application/xhtml+xml;q=0.9,application/xml;q=0.8,*/*;q=0.7' \
        -H 'Connection: keep-alive' "${args[@]}" "http://127.0.0.1:$PORT/" ${args:+-- 16} 2>&1)
    read -r sb1 st1 ss1 < <(cpu_jiffies 0)
    read -r wb1 wt1 ws1 < <(cpu_jiffies 1)
    local steal
    steal=$(awk -v a="$((ss1 - ss0 + ws1 - ws0))" -v t="$((st1 - st0 + wt1 - wt0))" 'BEGIN { if (t > 0) printf "%.3f", a / t; else print 0 }')
    local rps server wrk_share
    rps=$(awk '/Requests\/sec/ { print $2 }' <<<"$text")
    server=$(share "$sb0" "$st0" "$sb1" "$st1")
    wrk_share=$(share "$wb0" "$wt0" "$wb1" "$wt1")
    if grep -q "Non-2xx\|Socket errors" <<<"$text"; then
        echo "  $shell $mode: wrk reported errors:" >&2
        grep "Non-2xx\|Socket errors" <<<"$text" >&2
    fi
    local per_core
    per_core=$(awk -v r="${rps:-0}" -v s="$server" 'BEGIN { if (s > 0) printf "%.0f", r / s; else print 0 }')
    printf '%s\t%s\t%s\t%s\t%s\t%s\t%s\t%s\n' "$round" "$shell" "$mode" "${rps:-0}" "$server" "$wrk_share" "$per_core" "$steal" >> "$RAW"
    echo "  round $round $shell $mode: ${rps:-0} req/s, server core ${server}, wrk core ${wrk_share}, ${per_core} req per server-core second, steal ${steal}" >&2
}

read -r -a order <<<"$SHELLS"
for round in $(seq 1 "$ROUNDS"); do
    for shell in "${order[@]}"; do
        taskset -c 0 "$BIN" serve --shell "$shell" --threads 1 --addr "127.0.0.1:$PORT" >"$OUT/$shell.log" 2>&1 &
        pid=$!
        for _ in $(seq 1 100); do
            (exec 3<>"/dev/tcp/127.0.0.1/$PORT") 2>/dev/null && break
            sleep 0.05
        done
        if ! kill -0 "$pid" 2>/dev/null; then
            echo "  $shell did not start (see $OUT/$shell.log)" >&2
            continue
        fi
        # A short warm-up, then the two cells.
        taskset -c 1 wrk -t1 -c64 -d1s "http://127.0.0.1:$PORT/" >/dev/null 2>&1
        run_cell "$round" "$shell" pipelined
        run_cell "$round" "$shell" plain
        kill -INT "$pid" 2>/dev/null
        wait "$pid" 2>/dev/null
    done
    # Rotate: the first shell goes last next round.
    order=("${order[@]:1}" "${order[0]}")
done

# Medians and spreads, and each shell's ratio to hyper and to the floor,
# taken within each round, then the median.
python3 - "$RAW" <<'PY'
import csv, statistics, sys
rows = list(csv.DictReader(open(sys.argv[1]), delimiter="\t"))
cells = {}
for r in rows:
    cells.setdefault((r["shell"], r["mode"]), []).append(r)
def med(xs): return statistics.median(xs) if xs else float("nan")
print(f"{'shell':8} {'mode':10} {'req/s':>10} {'server core':>11} {'wrk core':>8} {'req/core-s':>11} {'spread':>17} {'x hyper':>7} {'x floor':>7}")
for (shell, mode), rs in sorted(cells.items(), key=lambda kv: (kv[0][1], kv[0][0])):
    per = [float(r["per_core_s"]) for r in rs]
    ratios = {}
    for base in ("hyper", "floor"):
        vals = []
        for r in rs:
            other = [o for o in cells.get((base, mode), []) if o["round"] == r["round"]]
            if other and float(other[0]["per_core_s"]) > 0:
                vals.append(float(r["per_core_s"]) / float(other[0]["per_core_s"]))
        ratios[base] = f"{med(vals):.2f}" if vals else "-"
    wrk = med([float(r["wrk_busy"]) for r in rs])
    mark = " (wrk saturated: server not at full load)" if wrk >= 0.95 else ""
    steal = max(float(r.get("steal") or 0) for r in rs)
    if steal >= 0.05:
        mark += f" (steal up to {steal:.0%}: the host took CPU, figures unreliable)"
    print(f"{shell:8} {mode:10} {med([float(r['req_per_s']) for r in rs]):>10.0f} {med([float(r['server_busy']) for r in rs]):>11.2f} {wrk:>8.2f} {med(per):>11.0f} {min(per):>8.0f}-{max(per):<8.0f} {ratios['hyper']:>7} {ratios['floor']:>7}{mark}")
PY
