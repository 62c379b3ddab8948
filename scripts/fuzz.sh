#!/usr/bin/env bash
# Fuzz campaign: runs every fuzz target of sleepbench, one after another,
# for FUZZTIME each, and prints a table of executions per target. Exits
# non-zero if any target fails (a crash, a broken property, a build
# error); Go then writes the failing input to the package's
# testdata/fuzz/<Target>/ folder, where go test replays it as a seed:
# commit it with the fix.
#
#   FUZZTIME      time per target, a Go duration (default 10m)
#   FUZZ_WORKERS  fuzzing processes per target (default 1: the machine is shared)
#   FUZZ_TARGETS  space-separated subset of the targets below, by name
#   FUZZ_MINIMIZE -fuzzminimizetime (default 200x: Go's 60 s default spends
#                 a minute minimising each new input, which looks like a
#                 stall; see datasets/main_test.go)
#   FUZZ_LOGS     folder for each target's full output (default a temporary folder)
#
# Run from the repository root, as `make fuzz` does.
set -u

FUZZTIME=${FUZZTIME:-10m}
FUZZ_WORKERS=${FUZZ_WORKERS:-1}
FUZZ_MINIMIZE=${FUZZ_MINIMIZE:-200x}
FUZZ_LOGS=${FUZZ_LOGS:-$(mktemp -d "${TMPDIR:-/tmp}/sleepbench-fuzz.XXXXXX")}

# package:target, in the order they run.
ALL="
./datasets:FuzzOpen
./datasets:FuzzTokenizers
./datasets:FuzzImportText
./datasets:FuzzImportJSONL
./models:FuzzLoadCheckpoint
./results:FuzzLoadRun
./results:FuzzLoadSummary
"

selected=""
if [ -n "${FUZZ_TARGETS:-}" ]; then
	for want in $FUZZ_TARGETS; do
		hit=""
		for t in $ALL; do
			[ "${t#*:}" = "$want" ] && hit=$t
		done
		if [ -z "$hit" ]; then
			echo "fuzz.sh: unknown target $want (targets: $(for t in $ALL; do printf '%s ' "${t#*:}"; done))" >&2
			exit 2
		fi
		selected="$selected $hit"
	done
else
	selected=$ALL
fi

mkdir -p "$FUZZ_LOGS"
rows=""
failed=0
deadline=0
for t in $selected; do
	pkg=${t%%:*}
	name=${t#*:}
	log="$FUZZ_LOGS/$name.log"
	echo "== $name ($pkg): $FUZZTIME, $FUZZ_WORKERS worker(s); output in $log"
	corpus="$pkg/testdata/fuzz/$name"
	before=$(ls "$corpus" 2>/dev/null)
	start=$(date +%s)
	go test -run '^$' -fuzz "^${name}\$" -fuzztime "$FUZZTIME" -fuzzminimizetime "$FUZZ_MINIMIZE" \
		-parallel "$FUZZ_WORKERS" "$pkg" >"$log" 2>&1
	rc=$?
	secs=$(( $(date +%s) - start ))
	# The last progress line holds the total: "fuzz: elapsed: 10m0s, execs: 123456 (2057/sec), ...".
	execs=$(grep -o 'execs: [0-9]*' "$log" | tail -n 1 | grep -o '[0-9]*$')
	execs=${execs:-0}
	after=$(ls "$corpus" 2>/dev/null)
	if [ "$rc" -eq 0 ]; then
		status=ok
	elif [ "$before" = "$after" ] && grep -q '^    context deadline exceeded$' "$log" &&
		[ "$(grep -c -e '^--- FAIL' -e '^    ' "$log")" -eq 2 ]; then
		# Go's fuzz coordinator can report its own -fuzztime deadline as a
		# failure when a worker is mid-execution (Go issue 75804, fixed in
		# Go 1.27): no input failed and none was written.
		status=ok-deadline
		deadline=1
	else
		status=FAIL
		failed=1
		grep -v '^fuzz: elapsed' "$log" | head -n 40
	fi
	rows="$rows$name $pkg $secs $execs $(( execs / (secs > 0 ? secs : 1) )) $status
"
done

echo
printf '%-20s %-11s %8s %14s %9s  %s\n' target package seconds executions per_s status
printf '%s' "$rows" | while read -r name pkg secs execs rate status; do
	[ -n "$name" ] && printf '%-20s %-11s %8s %14s %9s  %s\n' "$name" "$pkg" "$secs" "$execs" "$rate" "$status"
done
echo "(FUZZTIME=$FUZZTIME, FUZZ_WORKERS=$FUZZ_WORKERS; seconds include building the test binary; logs in $FUZZ_LOGS)"
if [ "$deadline" -ne 0 ]; then
	echo "ok-deadline: go test ended with \"context deadline exceeded\" at the end of FUZZTIME and wrote no failing input: Go's fuzz coordinator reporting its own deadline (Go issue 75804, fixed in Go 1.27), not a failure of the target"
fi
if [ "$failed" -ne 0 ]; then
	echo "fuzz.sh: a target failed; its input is under the package's testdata/fuzz/" >&2
	exit 1
fi
