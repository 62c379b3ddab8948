#!/usr/bin/env bash
# Kill test of mid-run checkpoints (issue 14): runs the quick profile once
# uninterrupted, then KILLS times starts it afresh in its own folder,
# SIGKILLs it at a random moment (checkpoint_every small enough that kills
# land inside periods), runs the same command again until it finishes, and
# compares every final file byte for byte with the uninterrupted run's:
# config.json, scores.json, scores.arrow, tables.md, plots/ and runs/. In
# runs/*.json only the two fields that measure the process, wall_seconds
# and peak_mem_bytes (documented in bench.Runner), are left out. No
# checkpoint or lock may be left behind.
#
# Environment: BIN (default bin/sleepbench, built by `make test-kill`),
# KILLS (10), EVERY (checkpoint_every, 5), JOBS (1), SEED (of the kill
# moments, 1), WORK (scratch folder, default a new temporary one, deleted
# on success), ARGS (more flags for every run).
set -euo pipefail

BIN=${BIN:-bin/sleepbench}
KILLS=${KILLS:-10}
EVERY=${EVERY:-5}
JOBS=${JOBS:-1}
SEED=${SEED:-1}
ARGS=${ARGS:-}
WORK=${WORK:-$(mktemp -d "${TMPDIR:-/tmp}/sleepbench-killtest.XXXXXX")}
mkdir -p "$WORK"
RANDOM=$SEED

[ -x "$BIN" ] || { echo "killtest: $BIN not found (make build)" >&2; exit 2; }
# shellcheck disable=SC2206
FLAGS=(run -profile quick -jobs "$JOBS" -set checkpoint_every="$EVERY" $ARGS)
run() { # run OUT: the quick profile into OUT, progress to OUT.log
	"$BIN" "${FLAGS[@]}" -out "$1" 2>>"$1.log"
}
now_ms() { date +%s%3N; }

# strip FILE: a run record without the fields that measure the process.
strip() { grep -v -e '"wall_seconds":' -e '"peak_mem_bytes":' "$1"; }

# same A B: every file of B equals A's (see above); prints what differs.
same() {
	local a=$1 b=$2 bad=0 f
	if ! diff -r -q -x runs "$a" "$b" -x '*.log'; then bad=1; fi
	if ! diff <(cd "$a" && find runs -type f | sort) <(cd "$b" && find runs -type f | sort); then bad=1; fi
	while IFS= read -r f; do
		if ! cmp -s <(strip "$a/$f") <(strip "$b/$f"); then
			echo "differs: $f"
			diff <(strip "$a/$f") <(strip "$b/$f") | head -5
			bad=1
		fi
	done < <(cd "$a" && find runs -type f -name '*.json' | sort)
	for f in checkpoints; do
		if [ -e "$b/$f" ]; then echo "left behind: $b/$f"; find "$b/$f" | head; bad=1; fi
	done
	return $bad
}

echo "killtest: $BIN, quick profile, -jobs $JOBS, checkpoint_every=$EVERY, $KILLS kills, seed $SEED, in $WORK"
echo "killtest: CPU $(grep -m1 'model name' /proc/cpuinfo | cut -d: -f2- | sed 's/^ *//'), $(nproc) cores, load average $(cut -d' ' -f1-3 /proc/loadavg)"
t0=$(now_ms)
run "$WORK/ref"
ref_ms=$(( $(now_ms) - t0 ))
echo "killtest: uninterrupted run: $((ref_ms / 1000)).$(( (ref_ms % 1000) / 100 )) s"

failed=0
for i in $(seq 1 "$KILLS"); do
	out="$WORK/kill$i"
	# A moment between 3% and 97% of the uninterrupted run's time. When the
	# run finishes before it (the machine got faster), start afresh with
	# half the delay, so that every trial kills a run.
	delay_ms=$(( ref_ms * (30 + RANDOM % 941) / 1000 ))
	for try in 1 2 3 4 5 6; do
		rm -rf "$out" "$out.log"
		"$BIN" "${FLAGS[@]}" -out "$out" 2>>"$out.log" & # not through run(): $! must be sleepbench itself
		pid=$!
		sleep "$((delay_ms / 1000)).$(printf %03d $((delay_ms % 1000)))"
		if kill -KILL "$pid" 2>/dev/null; then
			wait "$pid" 2>/dev/null || true
			break
		fi
		wait "$pid" || true
		echo "killtest: kill $i: the run finished before $((delay_ms / 1000)).$(( (delay_ms % 1000) / 100 )) s; again with half the delay"
		delay_ms=$((delay_ms / 2))
		if [ "$try" -eq 6 ]; then echo "killtest: kill $i: no kill landed in 6 tries" >&2; exit 1; fi
	done
	# (A kill can land before the first run file or checkpoint exists:
	# find fails then, which pipefail would turn into an exit.)
	ckpts=$( (find "$out/checkpoints" -name '*.ckpt' 2>/dev/null || true) | wc -l)
	runs=$( (find "$out/runs" -name '*.json' 2>/dev/null || true) | wc -l)
	what="killed at $((delay_ms / 1000)).$(( (delay_ms % 1000) / 100 )) s with $runs run files and $ckpts checkpoints"
	t1=$(now_ms)
	reruns=0
	until run "$out"; do
		reruns=$((reruns + 1))
		if [ "$reruns" -ge 3 ]; then echo "killtest: kill $i: the rerun fails (see $out.log)"; tail -5 "$out.log"; exit 1; fi
	done
	rerun_ms=$(( $(now_ms) - t1 ))
	resumed=$(grep -c 'resuming from' "$out.log" || true)
	if same "$WORK/ref" "$out"; then
		echo "killtest: kill $i: $what; rerun $((rerun_ms / 1000)).$(( (rerun_ms % 1000) / 100 )) s, $resumed runs resumed from a checkpoint; identical"
	else
		echo "killtest: kill $i: $what; rerun resumed $resumed runs; DIFFERENT"
		failed=$((failed + 1))
	fi
done
total_ms=$(( $(now_ms) - t0 ))
echo "killtest: $failed of $KILLS differ; total $((total_ms / 1000)) s (load average $(cut -d' ' -f1-3 /proc/loadavg))"
if [ "$failed" -eq 0 ]; then
	rm -rf "$WORK"
	exit 0
fi
echo "killtest: folders kept in $WORK"
exit 1
