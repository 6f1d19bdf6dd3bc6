#!/usr/bin/env bash
# The real-Slurm test of the job templates (jobs/slurm/). Needs root on a Debian-like
# machine; run through ctest as cli.slurm (tests/cli/slurm.sh), or by hand:
#
#   LANDERMT=build/landermt LM_SOURCE_DIR=$PWD bash tests/slurm/run.sh
#
# 1. Installs slurm-wlm, munge and libpmix-dev when missing (apt-get).
# 2. Starts a private single-node cluster from a temp dir: munged on its own socket and
#    key, slurmctld and slurmd (in the foreground, as our children) with a generated
#    slurm.conf on free ports; nothing under /etc is touched, no systemd is needed.
# 3. Submits on a tiny synthetic en-de/en-fr corpus and model:
#      P  prep            (pipeline.sh --stages prep)                     srun
#      B  base model      (finetune.sbatch, train.mode=full)              mpirun
#      D, F, E  detect -> finetune -> evaluate  (pipeline.sh --after B)   srun
#      R  reference finetune, never interrupted                           srun
#      M  finetune requeued by Slurm (scontrol requeue)                   mpirun
#      Q  finetune requeued by Slurm (scontrol requeue)                   srun
#      K  finetune whose rank 1 is SIGKILLed                              srun
#      S1 slow steps (~3 s), plain scancel (SIGTERM to every process)    mpirun
#      S2 slow steps (~3 s), scancel --signal=TERM --batch               srun
#    F gets `scancel --signal=USR1 --batch` mid-run (what --signal=B:USR1@T does before
#    the time limit): it must save, exit 75, be requeued by the job script, resume and
#    end with train state byte-identical to R's. M and Q are requeued by Slurm itself
#    (as preemption with PreemptMode=REQUEUE does): logged as preemption, not failure;
#    M's ranks save first; both end identical to R. S1 and S2 must stop within a
#    micro-batch, save and exit 75 although a step is longer than mpirun's kill delay.
#    K must fail within 30 s and not be requeued. E must start only after F's final
#    run (afterok across the requeue). An undersized pipeline is refused before any
#    submission, and the pipeline's job logs land in the stages' run directories.
# 4. Stops what it started (jobs, slurmd, slurmctld, munged, by pid), also on failure.
# Environment: KEEP=1 keeps the temp dir; LM_SLURM_TIMEOUT (s, default 240) bounds the
# whole job phase.
set -uo pipefail
: "${LANDERMT:?set LANDERMT to the landermt executable}" "${LM_SOURCE_DIR:?set LM_SOURCE_DIR to the checkout}"
T_START=$SECONDS
LANDERMT=$(readlink -f "$LANDERMT")
SRC=$(readlink -f "$LM_SOURCE_DIR")
export LANDERMT OMPI_ALLOW_RUN_AS_ROOT=1 OMPI_ALLOW_RUN_AS_ROOT_CONFIRM=1
FAILS=0 CHECKS=0
log() { printf '[slurm-test %3ds] %s\n' "$((SECONDS - T_START))" "$*"; }
fail() { echo "FAIL: $*"; FAILS=$((FAILS + 1)); }
pass() { CHECKS=$((CHECKS + 1)); }
die() { echo "FAIL: $*"; FAILS=$((FAILS + 1)); exit 1; }

[[ $(id -u) == 0 ]] || die "needs root (tests/cli/slurm.sh skips in that case)"

# --- 1. packages ---------------------------------------------------------------------
# libpmix-dev: Slurm's mpi/pmix plugin dlopen()s the unversioned libpmix.so that only the
# -dev package ships; without it every `srun --mpi=pmix` step fails.
PKGS=(slurm-wlm munge libpmix-dev)
have_pkgs() {
  command -v slurmctld >/dev/null && command -v slurmd >/dev/null && command -v munged >/dev/null &&
    compgen -G "/usr/lib/*/pmix*/lib/libpmix.so" >/dev/null
}
if ! have_pkgs; then
  log "installing ${PKGS[*]}"
  export DEBIAN_FRONTEND=noninteractive
  apt_get() { apt-get -q -o DPkg::Lock::Timeout=300 "$@"; }
  { apt_get install -y --no-install-recommends "${PKGS[@]}" ||
    { apt_get update && apt_get install -y --no-install-recommends "${PKGS[@]}"; }; } >/tmp/lm-slurm-apt.log 2>&1 ||
    die "apt-get install ${PKGS[*]} failed: $(tail -3 /tmp/lm-slurm-apt.log)"
  have_pkgs || die "packages installed but slurmctld/slurmd/munged/libpmix.so still missing"
fi
log "packages ready ($(slurmctld -V))"

# --- 2. a private cluster --------------------------------------------------------------
T=$(mktemp -d "${TMPDIR:-/tmp}/lmslurm.XXXXXX")
chmod 755 "$T"   # munged wants every directory above its socket searchable by all
mkdir -p "$T"/{ctld,spool,log,munge}
export SLURM_CONF=$T/slurm.conf
MUNGED_PID="" CTLD_PID="" SLURMD_PID=""

# stop PID COMM: TERM, wait up to 10 s, then KILL - only if PID is still COMM.
stop() {
  local pid=$1 comm=$2
  [[ -n $pid && $(cat "/proc/$pid/comm" 2>/dev/null) == "$comm" ]] || return 0
  kill -TERM "$pid" 2>/dev/null
  for _ in $(seq 100); do [[ -d /proc/$pid ]] || return 0; sleep 0.1; done
  kill -KILL "$pid" 2>/dev/null
}
# Processes of our jobs (ranks, mpirun, srun, slurmstepd) carry our SLURM_CONF or tag.
# (This script, its subshells and the daemons themselves are left out.)
our_procs() {
  local p n
  for p in /proc/[0-9]*; do
    n=${p#/proc/}
    [[ " $$ $BASHPID $MUNGED_PID $CTLD_PID $SLURMD_PID " == *" $n "* ]] && continue
    [[ $(awk '/^PPid:/ { print $2 }' "$p/status" 2>/dev/null) == "$BASHPID" ]] && continue
    tr '\0' '\n' 2>/dev/null <"$p/environ" | grep -qxF -e "SLURM_CONF=$SLURM_CONF" -e "LM_SLURM_TEST=$T" &&
      echo "$n"
  done
}
cleanup() {
  local rc=$?
  trap - EXIT INT TERM
  if [[ -n $CTLD_PID && -d /proc/$CTLD_PID ]]; then
    local left; left=$(squeue -h -o %i 2>/dev/null | tr '\n' ' ')
    if [[ -n ${left// /} ]]; then
      log "cancelling jobs $left"
      # shellcheck disable=SC2086
      scancel $left 2>/dev/null
      for _ in $(seq 75); do [[ -z $(squeue -h -o %i 2>/dev/null) ]] && break; sleep 0.2; done
    fi
  fi
  # `scontrol shutdown` stops slurmd and slurmctld cleanly (a slurmctld whose slurmd is
  # already gone can take 10 s and more to exit); TERM/KILL by pid is the fallback.
  if [[ -n $CTLD_PID && -d /proc/$CTLD_PID ]] && scontrol shutdown >/dev/null 2>&1; then
    for _ in $(seq 100); do
      [[ -d /proc/$CTLD_PID || -d /proc/$SLURMD_PID ]] || break; sleep 0.1
    done
  fi
  stop "$SLURMD_PID" slurmd
  stop "$CTLD_PID" slurmctld
  local p; for p in $(our_procs); do kill -KILL "$p" 2>/dev/null; done
  stop "$MUNGED_PID" munged
  if [[ $rc != 0 || $FAILS != 0 ]]; then
    for f in "$T"/log/slurmctld.log "$T"/log/slurmd.log; do
      [[ -f $f ]] && { echo "--- last lines of $f"; tail -15 "$f"; }
    done
  fi
  if [[ ${KEEP:-0} == 1 ]]; then log "kept $T"; else rm -rf "$T"; fi
  exit "$rc"
}
trap cleanup EXIT
trap 'exit 130' INT TERM

# Two free TCP ports next to each other (from /proc/net/tcp*, no extra tools).
listening() { awk 'FNR > 1 && $4 == "0A" { split($2, a, ":"); print strtonum("0x" a[2]) }' /proc/net/tcp /proc/net/tcp6 2>/dev/null; }
used=" $(listening | tr '\n' ' ') "
for _ in $(seq 200); do
  PORT=$((20000 + RANDOM % 20000))
  [[ $used != *" $PORT "* && $used != *" $((PORT + 1)) "* ]] && break
done
HOST=$(hostname -s)
# (nproc honours OMP_NUM_THREADS, which ctest sets to 1.) At least 2 CPUs, so that a
# 2-rank job fits; more than the hardware has needs config_overrides.
REAL_CPUS=$(env -u OMP_NUM_THREADS -u OMP_THREAD_LIMIT nproc)
CPUS=$((REAL_CPUS < 2 ? 2 : REAL_CPUS))
OVERRIDES=""; ((CPUS > REAL_CPUS)) && OVERRIDES="SlurmdParameters=config_overrides"
MEM_MB=$(awk '/MemTotal/ { print int($2 / 1024) }' /proc/meminfo)

mungekey --create --keyfile="$T/munge/munge.key" 2>/dev/null ||
  dd if=/dev/urandom of="$T/munge/munge.key" bs=1024 count=1 status=none
chmod 700 "$T/munge"; chmod 400 "$T/munge/munge.key"
chmod 755 "$T/munge"   # the socket lives here too
munged -F --socket="$T/munge/sock" --key-file="$T/munge/munge.key" \
  --log-file="$T/log/munged.log" --pid-file="$T/munge/munged.pid" --seed-file="$T/munge/seed" \
  >>"$T/log/munged.out" 2>&1 &
MUNGED_PID=$!
for _ in $(seq 50); do [[ -S $T/munge/sock ]] && break; sleep 0.1; done
munge -n -S "$T/munge/sock" | unmunge -S "$T/munge/sock" >/dev/null 2>&1 ||
  die "munged does not answer: $(tail -3 "$T/log/munged.log" "$T/log/munged.out" 2>/dev/null)"

cat >"$SLURM_CONF" <<EOF
# landermt tests/slurm/run.sh: private single-node cluster in $T
ClusterName=lmtest
SlurmctldHost=$HOST(127.0.0.1)
SlurmctldPort=$PORT
SlurmdPort=$((PORT + 1))
AuthType=auth/munge
CredType=cred/munge
# Our own munged socket. cred_expire: a requeued job may start again only after its
# credential expired (default 120 s); 10 s keeps the requeue test short.
AuthInfo=socket=$T/munge/sock,cred_expire=10
SlurmUser=root
SlurmdUser=root
StateSaveLocation=$T/ctld
SlurmdSpoolDir=$T/spool
SlurmctldPidFile=$T/slurmctld.pid
SlurmdPidFile=$T/slurmd.pid
SlurmctldLogFile=$T/log/slurmctld.log
SlurmdLogFile=$T/log/slurmd.log
SlurmctldDebug=info
SlurmdDebug=info
# No cgroups (containers): processes tracked by parent pid, no binding.
ProctrackType=proctrack/linuxproc
TaskPlugin=task/none
JobAcctGatherType=jobacct_gather/none
AccountingStorageType=accounting_storage/none
JobCompType=jobcomp/none
SwitchType=switch/none
# Open MPI 4.1 on Debian speaks PMIx; srun --mpi=pmix is also passed explicitly.
MpiDefault=pmix
SelectType=select/cons_tres
SelectTypeParameters=CR_CPU
SchedulerType=sched/backfill
SchedulerParameters=sched_interval=2,bf_interval=5
DependencyParameters=kill_invalid_depend
KillWait=5
JobRequeue=1
ReturnToService=2
MinJobAge=600
InactiveLimit=0
MailProg=/bin/true
$OVERRIDES
NodeName=$HOST NodeAddr=127.0.0.1 CPUs=$CPUS RealMemory=$MEM_MB State=UNKNOWN
PartitionName=debug Nodes=$HOST Default=YES MaxTime=INFINITE State=UP
EOF
slurmctld -D -c -f "$SLURM_CONF" >>"$T/log/slurmctld.out" 2>&1 &
CTLD_PID=$!
for _ in $(seq 100); do scontrol ping 2>/dev/null | grep -q 'is UP' && break; sleep 0.1; done
scontrol ping 2>/dev/null | grep -q 'is UP' || die "slurmctld not answering: $(tail -3 "$T/log/slurmctld.log")"
LM_SLURM_TEST=$T slurmd -D -N "$HOST" -f "$SLURM_CONF" >>"$T/log/slurmd.out" 2>&1 &
SLURMD_PID=$!
state=""
for _ in $(seq 150); do
  state=$(sinfo -h -n "$HOST" -o %T 2>/dev/null | head -1)
  [[ $state == idle ]] && break
  sleep 0.2
done
[[ $state == idle ]] || die "node $HOST is '$state' after 30 s: $(scontrol show node "$HOST" | grep -o 'Reason=.*')"
log "cluster up: node $HOST ($CPUS CPUs), ports $PORT/$((PORT + 1)), state in $T"

# --- 3. data and jobs ------------------------------------------------------------------
cd "$T" || die "cd $T"
awk -v seed=1 -v count=2000 -v lang=de -f "$SRC/tests/data/synthetic_bitext.awk" >en-de.tsv
awk -v seed=2 -v count=2000 -v lang=fr -f "$SRC/tests/data/synthetic_bitext.awk" >en-fr.tsv
STEPS=300
FINAL=$(printf 'step_%08d.h5' $STEPS)
HAVE_EVAL=0
"$LANDERMT" --help 2>&1 | grep -q '^ *evaluate ' && HAVE_EVAL=1
cat >mt.yaml <<YAML
prep: {output: $T/mt.h5, tsv: ["en-de:$T/en-de.tsv", "en-fr:$T/en-fr.tsv"],
       languages: [], vocab_size: 600, dev_fraction: 0.05, test_fraction: 0.05}
model: {vocab_size: 600, hidden_size: 32, intermediate_size: 64, num_hidden_layers: 4,
        num_attention_heads: 4, num_key_value_heads: 2, checkpoint: $T/base/step_00000020.h5}
data: {corpus: $T/mt.h5, directions: [en-de, en-fr]}
train: {mode: landermt, neurons: $T/neurons.h5, batch_size: 8, seq_len: 96, steps: $STEPS,
        lr: 3.0e-3, warmup_steps: 2, min_lr: 3.0e-4, eval_every: 100, eval_batches: 2,
        save_every: 100, keep_last: 3, out_dir: $T/ft, log_every: 1}
detect: {output: $T/neurons.h5, max_sentences: 60, batch_size: 8}
layers: {k: 2}
YAML
((HAVE_EVAL)) && cat >>mt.yaml <<YAML
evaluate: {checkpoints: ["base:$T/base/step_00000020.h5", "landermt:$T/ft-landermt.h5"],
           max_sentences: 8, output: $T/eval}
translate: {max_new_tokens: 16}
YAML

# Every job: 2 tasks (pipeline.sh gives each the CPUs a node can give it: 1 here), a
# time limit well above the 300 s lead of finetune.sbatch's --signal=B:USR1@300. With
# the templates' --ntasks-per-node=2 one job runs at a time on 2 CPUs, which also keeps
# the ranks from oversubscribing the cores.
export LANDERMT_SBATCH_ARGS="--ntasks=2 --time=30"
export LANDERMT_SBATCH_PREP="--ntasks=1"
export LANDERMT_HOME=$SRC
submit() {  # submit NAME LAUNCHER SBATCH_ARGS... -- TEMPLATE ARGS...: prints the job id
  local name=$1 launcher=$2; shift 2
  local sb=(); while [[ $1 != -- ]]; do sb+=("$1"); shift; done; shift
  local tpl=$1; shift
  # shellcheck disable=SC2086
  LANDERMT_LAUNCHER=$launcher sbatch --parsable $LANDERMT_SBATCH_ARGS -J "lm-$name" -o "$T/$name.out" \
    "${sb[@]}" "$SRC/jobs/slurm/$tpl.sbatch" "$T/mt.yaml" "$@"
}
# A stage that cannot fit the partition (2 tasks x 2 CPUs on 2 CPUs) is refused before
# anything is submitted, with the reason and what to change.
if LANDERMT_SBATCH_FINETUNE="--cpus-per-task=2" bash "$SRC/jobs/slurm/pipeline.sh" --stages detect,finetune \
  mt.yaml >undersized.out 2>&1; then
  fail "pipeline.sh accepted a finetune of 2 tasks x 2 CPUs on a 2-CPU partition"
else
  grep -q "stage finetune does not fit partition debug" undersized.out && grep -q "^HINT:" undersized.out &&
    [[ -z $(squeue -h -o %i) ]] && pass || fail "undersized pipeline: $(cat undersized.out)"
fi
P=$(LANDERMT_LAUNCHER=srun bash "$SRC/jobs/slurm/pipeline.sh" --stages prep mt.yaml | awk '$1 == "prep" { print $2 }')
[[ -n $P ]] || die "pipeline.sh --stages prep submitted nothing"
B=$(submit base mpirun --dependency=afterok:"$P" -- finetune --set train.mode=full --set model.checkpoint= \
  --set train.neurons= --set train.steps=20 --set train.out_dir="$T/base" --set train.save_every=0 \
  --set train.eval_every=0)
stages=detect,finetune; ((HAVE_EVAL)) && stages+=,evaluate
# evaluate.sbatch first exports the newest checkpoint of train.out_dir (standalone).
LANDERMT_EXPORT="$T/ft=$T/ft-landermt.h5" LANDERMT_LAUNCHER=srun \
  bash "$SRC/jobs/slurm/pipeline.sh" --stages "$stages" --after "$B" mt.yaml >ids.txt ||
  die "pipeline.sh failed"
D=$(awk '$1 == "detect" { print $2 }' ids.txt)
F=$(awk '$1 == "finetune" { print $2 }' ids.txt)
E=$(awk '$1 == "evaluate" { print $2 }' ids.txt)
R=$(submit ref srun --dependency=afterok:"$D" -- finetune --set train.out_dir="$T/ref")
M=$(submit ftm mpirun --dependency=afterok:"$D" -- finetune --set train.out_dir="$T/ftm")
Q=$(submit ftq srun --dependency=afterok:"$D" -- finetune --set train.out_dir="$T/ftq")
SLOW=(--set train.mode=full --set model.checkpoint= --set train.neurons= --set train.steps=100000
  --set train.save_every=0 --set train.eval_every=0 --set debug.micro_batch_delay=1.5)
S1=$(submit slow1 mpirun --dependency=afterok:"$P" -- finetune "${SLOW[@]}" --set train.out_dir="$T/slow1")
S2=$(LANDERMT_REQUEUE=0 submit slow2 srun --dependency=afterok:"$P" -- finetune "${SLOW[@]}" --set train.out_dir="$T/slow2")
K=$(submit kill srun --dependency=afterok:"$D" -- finetune --set train.out_dir="$T/kill" --set train.steps=100000 \
  --set train.save_every=0 --set train.eval_every=0)
[[ -n $B && -n $D && -n $F && -n $R && -n $M && -n $Q && -n $K && -n $S1 && -n $S2 ]] ||
  die "submission failed (P=$P B=$B D=$D F=$F R=$R M=$M Q=$Q K=$K S1=$S1 S2=$S2)"
log "submitted prep $P, base $B, detect $D, finetune $F, evaluate ${E:-none}, ref $R, requeued $M (mpirun)" \
  "$Q (srun), killed $K, slow $S1 (mpirun) $S2 (srun)"

# job FIELD ID: one field of `scontrol show job` (no accounting database needed).
job() { scontrol show job -o "$2" 2>/dev/null | grep -o "\b$1=[^ ]*" | head -1 | cut -d= -f2-; }
final() { [[ $(job JobState "$1") =~ ^(COMPLETED|FAILED|CANCELLED|TIMEOUT|NODE_FAIL|OUT_OF_MEMORY|BOOT_FAIL|DEADLINE)$ ]]; }
out() { echo "$T/$1.out"; }
steps_logged() { local n; n=$(grep -c '^step ' "$1" 2>/dev/null); echo "${n:-0}"; }
# pid of rank 1 of job $1 (a task of a step: PMIX_RANK is set for srun tasks)
rank1_pid() {
  local p
  for p in $(our_procs); do
    tr '\0' '\n' 2>/dev/null <"/proc/$p/environ" | grep -qx "SLURM_JOB_ID=$1" || continue
    tr '\0' '\n' 2>/dev/null <"/proc/$p/environ" | grep -qx "PMIX_RANK=1" && { echo "$p"; return; }
  done
}

# Finetune log of pipeline job F: the pipeline names its output lm-<name>-<id>.out.
FOUT=$(job StdOut "$F")
signalled_F=0 signalled_M=0 signalled_Q=0 signalled_S1=0 signalled_S2=0 killed_K=0 kill_time=0
deadline=$((SECONDS + ${LM_SLURM_TIMEOUT:-240}))
all="$P $B $D $F $R $M $Q $K $S1 $S2 $E"
while ((SECONDS < deadline)); do
  if ((!signalled_F)) && (($(steps_logged "$FOUT") >= 5)); then
    scancel --signal=USR1 --batch "$F" && signalled_F=1 && log "finetune $F: scancel --signal=USR1 --batch"
  fi
  if ((!signalled_M)) && (($(steps_logged "$(out ftm)") >= 5)); then
    scontrol requeue "$M" && signalled_M=1 && log "finetune $M (mpirun): scontrol requeue"
  fi
  if ((!signalled_Q)) && (($(steps_logged "$(out ftq)") >= 5)); then
    scontrol requeue "$Q" && signalled_Q=1 && log "finetune $Q (srun): scontrol requeue"
  fi
  if ((!signalled_S1)) && (($(steps_logged "$(out slow1)") >= 1)); then
    sleep 0.5; scancel "$S1" && signalled_S1=1 && log "slow $S1 (mpirun): scancel"
  fi
  if ((!signalled_S2)) && (($(steps_logged "$(out slow2)") >= 1)); then
    sleep 0.5; scancel --signal=TERM --batch "$S2" && signalled_S2=1 && log "slow $S2 (srun): scancel --signal=TERM --batch"
  fi
  if ((!killed_K)) && (($(steps_logged "$(out kill)") >= 20)); then
    pid=$(rank1_pid "$K")
    if [[ -n $pid ]]; then
      kill -KILL "$pid" && killed_K=1 && kill_time=$SECONDS && log "job $K: SIGKILL to rank 1 (pid $pid)"
    fi
  fi
  if ((killed_K)) && [[ -z ${kill_end:-} ]] && final "$K"; then kill_end=$SECONDS; fi
  if ((killed_K)) && [[ -z ${kill_end:-} ]] && ((SECONDS - kill_time > 30)); then
    fail "job $K still $(job JobState "$K") 30 s after its rank 1 was killed (hang)"; scancel "$K"; kill_end=-1
  fi
  done_all=1
  for j in $all; do final "$j" || { done_all=0; break; }; done
  ((done_all)) && break
  sleep 0.2
done
((done_all)) || fail "jobs not finished after ${LM_SLURM_TIMEOUT:-240} s: $(for j in $all; do printf '%s=%s ' "$j" "$(job JobState "$j")"; done)"
((done_all)) && log "all jobs ended"

# --- 4. checks ---------------------------------------------------------------------------
# expect_job ID NAME STATE RESTARTS: final state and restart count
expect_job() {
  local st rs ec
  st=$(job JobState "$1"); rs=$(job Restarts "$1"); ec=$(job ExitCode "$1")
  if [[ $st == "$3" && $rs == "$4" ]]; then pass
  else fail "$2 (job $1): $st, $rs restarts, exit $ec; expected $3 with $4 restarts"
    sed 's/^/  | /' "$(job StdOut "$1")" 2>/dev/null | grep -v '^  | step ' | tail -8
  fi
}
has() {  # has FILE REGEX WHAT
  grep -Eq -- "$2" "$1" 2>/dev/null && pass || fail "$3: no /$2/ in $(basename "$1")"
}
same_state() {  # same_state A B: trained entries, optimizer moments, data cursors, RNG, loss
  # history and LANDeRMT routing of two checkpoints are identical
  /usr/bin/python3 - "$1" "$2" <<'PY'
import sys, h5py, numpy as np
a, b = h5py.File(sys.argv[1], "r"), h5py.File(sys.argv[2], "r")
names, bad = [], []
for top in ("train/packed", "train/cursors", "train/rng", "train/metrics", "landermt"):
    if isinstance(a[top], h5py.Dataset):
        names.append(top)
    else:
        a[top].visit(lambda n, g=top: names.append(g + "/" + n) if isinstance(a[g][n], h5py.Dataset) else None)
def value(d):  # numbers bit for bit, strings by value
    v = d[()]
    if isinstance(v, np.ndarray) and v.dtype.kind != "O":
        return v.tobytes()
    return repr(v.tolist() if isinstance(v, np.ndarray) else v)
bad = [n for n in names if value(a[n]) != value(b[n])]
print(f"  {len(names)} datasets compared, {len(bad)} differ {bad[:3]}")
sys.exit(1 if bad or not names else 0)
PY
}

expect_job "$P" prep COMPLETED 0
[[ -s $T/mt.h5 ]] && pass || fail "prep wrote no $T/mt.h5"
has "$(job StdOut "$P")" 'landermt-job .*launcher srun' "prep log"
expect_job "$B" "base (mpirun)" COMPLETED 0
[[ -f $T/base/step_00000020.h5 ]] && pass || fail "base: no step_00000020.h5"
has "$(out base)" 'run: .*/jobs/mpirun.sh -np 2' "base log"
expect_job "$D" detect COMPLETED 0
[[ -s $T/neurons.h5 ]] && pass || fail "detect wrote no neurons.h5"
[[ $(job StartTime "$D") > $(job EndTime "$B") || $(job StartTime "$D") == $(job EndTime "$B") ]] && pass ||
  fail "detect started $(job StartTime "$D") before base ended $(job EndTime "$B") (afterok)"
expect_job "$R" "reference finetune" COMPLETED 0

[[ $FOUT == "$T/ft/lm-finetune-$F.out" && $(job StdOut "$P") == "$T/lm-prep-$P.out" ]] && pass ||
  fail "pipeline job logs not in the run directories: $FOUT, $(job StdOut "$P")"
has "$(out ftm)" 'run: .*/jobs/mpirun.sh -np 2' "M log: mpirun through jobs/mpirun.sh"
for id in $M $Q; do
  has "$(job StdOut "$id")" "Slurm is requeueing this job" "requeue $id: stop reason logged"
  has "$(job StdOut "$id")" "exited with status [0-9]+ after [0-9]+ s: preempted, not failed" "requeue $id: preemption, not failure"
done
has "$(out ftm)" "^preemption signal at step [0-9]+: saving" "M: the ranks saved before the requeue (mpirun)"
has "$(out ftm)" "^saved .*step_" "M: the ranks' saved line is in the log"
for pair in "S1:$S1:slow1:mpirun:CANCELLED" "S2:$S2:slow2:srun:FAILED"; do
  IFS=: read -r tag id name launcher state <<<"$pair"
  [[ $(job JobState "$id") == "$state" ]] && pass || fail "$tag ($launcher): state $(job JobState "$id"), expected $state"
  has "$(out "$name")" "^step 2 stopped by a signal after|^preemption signal at step 1: saving" "$tag ($launcher): stopped within the step"
  has "$(out "$name")" "^saved .*slow./step_00000001.h5" "$tag ($launcher): saved"
  has "$(out "$name")" "landermt train exited with status 75" "$tag ($launcher): exit 75"
done
has "$(out slow1)" "stopped by Slurm .* not failed; its checkpoint is saved" "S1: scancel logged as a stop by Slurm"
for pair in "F:$F:$FOUT:ft:srun" "M:$M:$(out ftm):ftm:mpirun" "Q:$Q:$(out ftq):ftq:srun"; do
  IFS=: read -r tag id log dir launcher <<<"$pair"
  expect_job "$id" "preempted finetune ($launcher)" COMPLETED 1
  has "$log" "run: .*${launcher}[ .]" "$tag log"
  if [[ $tag == F ]]; then
    has "$log" 'batch shell got SIGUSR1' "$tag: signal reached the batch shell"
    has "$log" '^preemption signal at step [0-9]+: saving' "$tag: ranks saved"
    has "$log" 'landermt train exited with status 75' "$tag: exit 75"
    has "$log" "requeueing job $id" "$tag: requeue"
  fi
  has "$log" 'resumed from .*step_[0-9]+\.h5 at step [0-9]+|resume: no checkpoint' "$tag: resume"
  if [[ -f $T/$dir/$FINAL && -f $T/ref/$FINAL ]]; then
    same_state "$T/$dir/$FINAL" "$T/ref/$FINAL" && pass ||
      fail "$tag ($launcher): preempted+requeued run differs from the uninterrupted one"
  else
    fail "$tag: missing $T/$dir/$FINAL or $T/ref/$FINAL"
  fi
done

if ((killed_K)); then
  expect_job "$K" "killed rank" FAILED 0
  [[ ${kill_end:--1} -ge 0 ]] && log "job $K ended $((kill_end - kill_time)) s after its rank 1 was killed"
  has "$(out kill)" 'srun: error: .*task 1: Killed' "killed rank: srun names the dead task"
  has "$(out kill)" 'landermt train exited with status [1-9]' "killed rank: non-zero status"
else
  fail "rank 1 of job $K was never killed (state $(job JobState "$K"))"
fi

if [[ -n $E ]]; then
  # afterok holds through the requeue: evaluate starts after F's last run ended
  [[ $(job StartTime "$E") > $(job EndTime "$F") || $(job StartTime "$E") == $(job EndTime "$F") ]] && pass ||
    fail "evaluate started $(job StartTime "$E") before finetune's final end $(job EndTime "$F")"
  expect_job "$E" evaluate COMPLETED 0
  has "$(job StdOut "$E")" "export: .* $T/ft/$FINAL $T/ft-landermt.h5" "evaluate: export of the final checkpoint"
  has "$(job StdOut "$E")" '^evaluate landermt +en-de +BLEU' "evaluate: scores of the finetuned model"
  [[ -s $T/eval/eval.json && -s $T/eval/eval.md ]] && pass || fail "evaluate wrote no eval.json/eval.md in $T/eval"
else
  log "evaluate stage not submitted: this landermt has no evaluate command"
fi

log "done: $CHECKS checks, $FAILS failed, $((SECONDS - T_START)) s"
[[ $FAILS == 0 ]]
