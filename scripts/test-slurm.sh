#!/usr/bin/env bash
# test-slurm.sh — runs a profile as a Slurm job array on a real
# single-node Slurm cluster started on this machine, merges the shards in
# a dependent job, and compares the merged folder with an unsharded run of
# the same profile.
#
#   scripts/test-slurm.sh            (make test-slurm; run as root)
#
# It installs Debian's slurm-wlm and munge (apt-get), writes a munge key
# and a minimal slurm.conf into a temporary folder, and starts munged,
# slurmctld and slurmd there (their own sockets, ports 16817-16818, state
# and logs: nothing under /etc is used). It submits
#
#   sbatch --array=0-3  sleepbench run -profile $PROFILE -out SHARED/shard-$SLURM_ARRAY_TASK_ID -jobs 1
#   sbatch --dependency=afterok:<array>  sleepbench merge -out SHARED/merged SHARED/shard-{0..3}
#
# where each task reads its shard from SLURM_ARRAY_TASK_ID and
# SLURM_ARRAY_TASK_COUNT (no -shard flag), runs the same profile unsharded
# outside Slurm, and compares the two folders: every file byte for byte,
# except that in runs/*.json the two lines wall_seconds and
# peak_mem_bytes (which measure the process, not the run) are left out.
#
# Every daemon it started is stopped when it ends, on failure too.
#
# Environment: PROFILE (default quick), KEEP=1 keeps the temporary folder.
set -euo pipefail

PROFILE=${PROFILE:-quick}
TASKS=4
REPO=$(cd "$(dirname "$0")/.." && pwd)
start=$(date +%s)
say() { echo "test-slurm: $*"; }

if [ "$(id -u)" != 0 ]; then
	echo "test-slurm: must run as root (it installs packages and starts slurmd)" >&2
	exit 2
fi

need=()
for c in munged slurmctld slurmd sbatch; do
	command -v "$c" >/dev/null || need=(slurm-wlm munge)
done
if [ ${#need[@]} -gt 0 ]; then
	say "installing Debian packages ${need[*]}"
	apt-get update -qq
	DEBIAN_FRONTEND=noninteractive apt-get -o DPkg::Lock::Timeout=600 install -y -qq "${need[@]}" >/dev/null
fi
say "Debian slurm-wlm $(dpkg-query -W -f='${Version}' slurm-wlm), munge $(dpkg-query -W -f='${Version}' munge)"

WORK=$(mktemp -d /tmp/sleepbench-slurm.XXXXXX)
chmod 755 "$WORK"
PIDS=()
cleanup() {
	rc=$?
	set +e
	if [ -n "${SLURM_CONF:-}" ] && [ -S "$WORK/munge/socket" ]; then
		# Jobs first (their slurmstepd would outlive slurmd), then daemons.
		scancel --quiet --full --state=PENDING,RUNNING --user=root 2>/dev/null
		for _ in $(seq 30); do
			[ -z "$(squeue -h 2>/dev/null)" ] && break
			sleep 1
		done
	fi
	for ((i = ${#PIDS[@]} - 1; i >= 0; i--)); do
		kill "${PIDS[i]}" 2>/dev/null
	done
	for p in "${PIDS[@]}"; do
		for _ in $(seq 20); do
			kill -0 "$p" 2>/dev/null || break
			sleep 0.5
		done
		kill -9 "$p" 2>/dev/null
		wait "$p" 2>/dev/null
	done
	if [ "$rc" != 0 ]; then
		for f in "$WORK"/log/*.log "$WORK"/shared/slurm-*.out; do
			[ -f "$f" ] && { echo "---- $f (last 20 lines)"; tail -n 20 "$f"; }
		done
	fi
	if [ "${KEEP:-}" = 1 ] || [ "$rc" != 0 ]; then
		say "kept $WORK"
	else
		rm -rf "$WORK"
	fi
	say "daemons stopped; exit status $rc; $(($(date +%s) - start)) s in all"
}
trap cleanup EXIT
trap 'exit 130' INT TERM

mkdir -p "$WORK"/{munge,log,state,spool,shared,bin}
chmod 700 "$WORK/munge"

say "building sleepbench"
(cd "$REPO" && go build -o "$WORK/bin/sleepbench" ./cmd/sleepbench)
BIN=$WORK/bin/sleepbench

# munge: a fresh key, its own socket.
dd if=/dev/urandom of="$WORK/munge/munge.key" bs=1024 count=1 status=none
chmod 400 "$WORK/munge/munge.key"
munged --foreground --force --socket="$WORK/munge/socket" --key-file="$WORK/munge/munge.key" \
	--pid-file="$WORK/munge/munged.pid" --log-file="$WORK/log/munged.log" \
	--seed-file="$WORK/munge/munged.seed" 2>>"$WORK/log/munged.log" &
PIDS+=($!)
for _ in $(seq 50); do [ -S "$WORK/munge/socket" ] && break; sleep 0.1; done
[ -S "$WORK/munge/socket" ] || { echo "test-slurm: munged did not start" >&2; exit 1; }

HOST=$(hostname -s)
CPUS=$(nproc)
export SLURM_CONF=$WORK/slurm.conf
cat >"$SLURM_CONF" <<EOF
ClusterName=sleepbench-test
SlurmctldHost=$HOST(127.0.0.1)
SlurmUser=root
SlurmdUser=root
SlurmctldPort=16817
SlurmdPort=16818
AuthType=auth/munge
AuthInfo=socket=$WORK/munge/socket
CredType=cred/munge
StateSaveLocation=$WORK/state
SlurmdSpoolDir=$WORK/spool
SlurmctldPidFile=$WORK/slurmctld.pid
SlurmdPidFile=$WORK/slurmd.pid
SlurmctldLogFile=$WORK/log/slurmctld.log
SlurmdLogFile=$WORK/log/slurmd.log
ProctrackType=proctrack/linuxproc
TaskPlugin=task/none
SwitchType=switch/none
MpiDefault=none
SelectType=select/cons_tres
SelectTypeParameters=CR_CPU
SchedulerType=sched/backfill
JobAcctGatherType=jobacct_gather/none
AccountingStorageType=accounting_storage/none
ReturnToService=2
MailProg=/bin/true
NodeName=$HOST NodeAddr=127.0.0.1 CPUs=$CPUS State=UNKNOWN
PartitionName=test Nodes=$HOST Default=YES MaxTime=INFINITE State=UP
EOF

slurmctld -D -i -f "$SLURM_CONF" >>"$WORK/log/slurmctld.out" 2>&1 &
PIDS+=($!)
slurmd -D -f "$SLURM_CONF" -N "$HOST" >>"$WORK/log/slurmd.out" 2>&1 &
PIDS+=($!)
for _ in $(seq 60); do
	state=$(sinfo -h -n "$HOST" -o %t 2>/dev/null || true)
	case "$state" in idle*|mix*|alloc*) break ;; esac
	sleep 1
done
say "node $HOST: ${state:-no answer} ($CPUS CPUs)"
case "$state" in idle*|mix*|alloc*) ;; *) echo "test-slurm: the node did not come up" >&2; exit 1 ;; esac

SHARED=$WORK/shared
# Each array task reads its shard from SLURM_ARRAY_TASK_ID/COUNT.
array=$(sbatch --parsable --array=0-$((TASKS - 1)) --cpus-per-task=1 --chdir="$REPO" \
	--output="$SHARED/slurm-%A_%a.out" --job-name=sleepbench-shard \
	--wrap="exec $BIN run -profile $PROFILE -jobs 1 -out $SHARED/shard-\$SLURM_ARRAY_TASK_ID")
dirs=""
for ((i = 0; i < TASKS; i++)); do dirs="$dirs $SHARED/shard-$i"; done
merge=$(sbatch --parsable --dependency=afterok:"$array" --kill-on-invalid-dep=yes --cpus-per-task=1 --chdir="$REPO" \
	--output="$SHARED/slurm-merge-%j.out" --job-name=sleepbench-merge \
	--wrap="exec $BIN merge -out $SHARED/merged$dirs")
say "submitted array job $array ($TASKS tasks, profile $PROFILE) and merge job $merge (afterok:$array)"

# Wait for the merge job to leave the queue.
t0=$(date +%s)
while [ -n "$(squeue -h -j "$merge" 2>/dev/null)" ]; do
	if [ $(($(date +%s) - t0)) -gt 3600 ]; then
		echo "test-slurm: timed out after an hour" >&2
		exit 1
	fi
	sleep 2
done
slurm_s=$(($(date +%s) - t0))
for ((i = 0; i < TASKS; i++)); do
	grep -h "shard\|finished in" "$SHARED/slurm-${array}_$i.out" | sed "s/^/  task $i: /" || true
done
cat "$SHARED"/slurm-merge-*.out 2>/dev/null | sed 's/^/  merge: /'
if [ ! -f "$SHARED/merged/scores.json" ]; then
	echo "test-slurm: the merge job wrote no merged folder (a shard failed, so Slurm cancelled it; see the logs below)" >&2
	exit 1
fi
say "array and merge done in $slurm_s s"

say "unsharded run of the same profile (-jobs 1, outside Slurm)"
t0=$(date +%s)
(cd "$REPO" && "$BIN" run -profile "$PROFILE" -jobs 1 -out "$WORK/unsharded" >"$WORK/log/unsharded.log" 2>&1) || { tail -n 20 "$WORK/log/unsharded.log"; exit 1; }
grep "finished in" "$WORK/log/unsharded.log" | sed "s/^/  /"
say "unsharded run done in $(($(date +%s) - t0)) s"

# Compare: every file of either folder, byte for byte; run files without
# the two lines that measure the process.
strip() { sed -E '/^  "(wall_seconds|peak_mem_bytes)": /d' "$1"; }
fail=0
n=0
files=$( (cd "$WORK/unsharded" && find . -type f; cd "$SHARED/merged" && find . -type f) | sort -u)
for f in $files; do
	a=$WORK/unsharded/$f b=$SHARED/merged/$f
	n=$((n + 1))
	if [ ! -f "$a" ] || [ ! -f "$b" ]; then
		echo "  only in one folder: $f"
		fail=1
	elif [[ $f == ./runs/*.json ]]; then
		cmp -s <(strip "$a") <(strip "$b") || { echo "  differs: $f"; fail=1; }
	else
		cmp -s "$a" "$b" || { echo "  differs: $f"; fail=1; }
	fi
done
if [ "$fail" != 0 ]; then
	echo "test-slurm: FAIL: the merged shards differ from the unsharded run" >&2
	exit 1
fi
runs=$(cd "$SHARED/merged" && find runs -name '*.json' | wc -l)
say "PASS: $n files ($runs run files) of the merged shards equal the unsharded run's"
