#!/usr/bin/env bash
# Submits the LANDeRMT pipeline to Slurm as a chain of batch jobs:
#
#   prep -> detect -> finetune -> evaluate      (each --dependency=afterok on the one before)
#
#   jobs/slurm/pipeline.sh [OPTIONS] CONFIG.yaml [--set KEY=VALUE]...
#
# One config drives every stage (prep:, model:, data:, detect:, train:, evaluate:
# sections). For LANDeRMT it sets model.checkpoint (the pretrained base), train.mode:
# landermt, train.neurons equal to detect.output, and evaluate.checkpoints naming the
# finetuned checkpoint. The --set overrides go to every stage.
#
# Options:
#   --stages LIST   comma-separated stages to submit, in pipeline order
#                   [prep,detect,finetune,evaluate]
#   --after JOBID   the first submitted stage also waits for JOBID (afterok), e.g. an
#                   import job or a pipeline submitted earlier
#   --dry-run       print the sbatch commands instead of running them
# Environment:
#   LANDERMT_SBATCH_ARGS        extra sbatch arguments for every stage (e.g. "--account=x")
#   LANDERMT_SBATCH_PREP / _DETECT / _FINETUNE / _EVALUATE   extra sbatch arguments for
#                               one stage (e.g. LANDERMT_SBATCH_FINETUNE="--nodes=4 --time=2-0")
#   and those of jobs/slurm/common.sh (LANDERMT, LANDERMT_LAUNCHER, ...), which sbatch
#   passes on to the jobs with the rest of this shell's environment.
# Before submitting anything it checks, and stops with a message (exit 2 for the config,
# 1 for resources) when something cannot work:
#   - the config loads (`landermt train -c CONFIG ... --dump-config`);
#   - every stage fits its partition (`sbatch --test-only` with the stage's options);
#     the message shows the partition's nodes and CPUs and what the stage asks for.
# Per stage it adds, unless given in the options: --cpus-per-task = the partition's
# CPUs per node / the stage's tasks per node (what a node can give each rank), and
# --output=RUN_DIR/%x-%j.out, the run directory being the stage's output directory
# (prep.output's and detect.output's directory, train.out_dir, evaluate.output).
# Prints one line "STAGE JOBID" per submitted job. A failed stage leaves the later ones
# pending with reason DependencyNeverSatisfied (scancel them); a finetune job that is
# requeued after a preemption keeps evaluate waiting until it has finished.
set -euo pipefail

usage() { sed -n '2,/^set -euo/p' "$0" | sed '$d; s/^# \{0,1\}//'; exit "${1:-0}"; }

STAGES=prep,detect,finetune,evaluate
AFTER=""
DRY=0
while [[ $# -gt 0 ]]; do
  case $1 in
    --stages) STAGES=${2:?--stages needs a list}; shift 2 ;;
    --after) AFTER=${2:?--after needs a job id}; shift 2 ;;
    --dry-run) DRY=1; shift ;;
    -h|--help) usage 0 ;;
    -*) echo "error: unknown option $1 (before the config file)" >&2; usage 2 ;;
    *) break ;;
  esac
done
[[ $# -ge 1 ]] || { echo "error: no config file given" >&2; usage 2; }
CONFIG=$1; shift
[[ -f $CONFIG ]] || { echo "error: config file $CONFIG not found" >&2; exit 2; }
CONFIG=$(readlink -f "$CONFIG")

# The jobs find common.sh and the build through LANDERMT_HOME.
LANDERMT_HOME=$(cd "$(dirname "$0")/../.." && pwd)
export LANDERMT_HOME
[[ -n ${LANDERMT:-} && $LANDERMT == */* ]] && LANDERMT=$(readlink -f "$LANDERMT") && export LANDERMT
LM=${LANDERMT:-$LANDERMT_HOME/build/landermt}
[[ -x $LM ]] || LM=$(command -v landermt) ||
  { echo "error: no landermt executable (build it, or set LANDERMT)" >&2; exit 2; }

IFS=, read -r -a wanted <<<"$STAGES"
for s in "${wanted[@]}"; do
  case $s in prep|detect|finetune|evaluate) ;; *) echo "error: unknown stage '$s'" >&2; exit 2 ;; esac
done

# The resolved config: a config error stops everything here, not in a job hours later.
RESOLVED=$("$LM" train -c "$CONFIG" "$@" --dump-config 2>&1) ||
  { echo "error: the config does not load:" >&2; echo "$RESOLVED" >&2; exit 2; }
cfg() {  # cfg SECTION KEY: a value of the resolved config
  awk -v s="$1:" -v k="  $2:" '/^[a-z]/ { in_s = ($1 == s) } in_s && index($0, k) == 1 {
    v = substr($0, length(k) + 2); gsub(/^"|"$/, "", v); print v; exit }' <<<"$RESOLVED"
}
abs() { [[ $1 == /* ]] && echo "$1" || echo "$PWD/$1"; }
run_dir() {  # where a stage's job log goes: beside what it writes
  case $1 in
    prep) dirname "$(abs "$(cfg prep output)")" ;;
    detect) dirname "$(abs "$(cfg detect output)")" ;;
    finetune) abs "$(cfg train out_dir)" ;;
    evaluate) abs "$(cfg evaluate output)" ;;
  esac
}

# opt NAME SHORT ARGS...: the last value of --NAME=V / --NAME V / -SHORT V in ARGS (later
# options win, as sbatch lets the command line win over #SBATCH lines).
opt() {
  local name=$1 short=$2 v="" a; shift 2
  while (($#)); do
    a=$1; shift
    if [[ $a == "--$name="* ]]; then
      v=${a#*=}
    elif [[ ($a == "--$name" || (-n $short && $a == "-$short")) && $# -gt 0 ]]; then
      v=$1; shift
    fi
  done
  echo "$v"
}

# stage_args STAGE: fills ARGS with the stage's sbatch options (extra ones, then the
# derived --cpus-per-task and --output); TPL is the template.
stage_args() {
  local stage=$1 var=LANDERMT_SBATCH_${1^^} dir part cpn tpn ntasks nodes
  TPL=$LANDERMT_HOME/jobs/slurm/$stage.sbatch
  # shellcheck disable=SC2206
  ARGS=(${LANDERMT_SBATCH_ARGS:-} ${!var:-})
  local all
  mapfile -t all < <(sed -n 's/^#SBATCH //p' "$TPL")
  all+=("${ARGS[@]}")
  if [[ -z $(opt output o "${ARGS[@]}") ]]; then  # the template's own --output is replaced
    dir=$(run_dir "$stage")
    [[ $DRY == 1 ]] || mkdir -p "$dir" ||
      { echo "error: cannot create the run directory $dir of stage $stage" >&2; exit 1; }
    ARGS+=("--output=$dir/%x-%j.out")
  fi
  [[ -n $(opt cpus-per-task c "${all[@]}") ]] && return 0
  part=$(opt partition p "${all[@]}")
  [[ -n $part ]] || part=$(sinfo -h -o %P 2>/dev/null | sed -n 's/\*$//p' | head -1 || true)
  cpn=$(sinfo -h -p "$part" -o %c 2>/dev/null | sort -n | head -1 || true)
  tpn=$(opt ntasks-per-node "" "${all[@]}")
  if [[ -z $tpn ]]; then
    ntasks=$(opt ntasks n "${all[@]}") nodes=$(opt nodes N "${all[@]}")
    tpn=$(((${ntasks:-1} + ${nodes:-1} - 1) / ${nodes:-1}))
  fi
  [[ $cpn =~ ^[0-9]+$ && $tpn =~ ^[0-9]+$ ]] && ((tpn > 0 && cpn >= tpn)) &&
    ARGS+=("--cpus-per-task=$((cpn / tpn))")
  return 0
}

# fits STAGE: sbatch --test-only accepts the stage; else explain and exit 1 (a dry run
# only warns).
fits() {
  local out part facts all tag=error
  command -v sbatch >/dev/null || return 0
  out=$(sbatch --test-only "${ARGS[@]}" "$TPL" "$CONFIG" "$@" 2>&1) && return 0
  [[ $DRY == 1 ]] && tag=warning
  if ! grep -qiE "node configuration|allocation failure" <<<"$out"; then
    echo "$tag: stage $STAGE is refused by sbatch --test-only: $(tail -1 <<<"$out")" >&2
    echo "HINT: check that Slurm answers (sinfo) and the stage's sbatch options" >&2
    [[ $DRY == 1 ]] || exit 1
    return 0
  fi
  mapfile -t all < <(sed -n 's/^#SBATCH //p' "$TPL")
  all+=("${ARGS[@]}")
  part=$(opt partition p "${all[@]}")
  [[ -n $part ]] || part=$(sinfo -h -o %P 2>/dev/null | sed -n 's/\*$//p' | head -1 || true)
  facts=$(sinfo -h -p "$part" -o '%D node(s) with %c CPUs and %m MB each' 2>/dev/null | paste -sd';' || true)
  echo "$tag: stage $STAGE does not fit partition ${part:-?}: $(tail -1 <<<"${out##*error: }")" >&2
  echo "  partition ${part:-?}: ${facts:-unknown (sinfo)}" >&2
  echo "  $STAGE asks:$(printf ' %s' "${all[@]}" | grep -oE -- ' --?(nodes|N|ntasks-per-node|ntasks|n|cpus-per-task|c|mem|mem-per-cpu|partition|p)[= ][^ ]*' | tr -d '\n')" >&2
  echo "HINT: ask for fewer tasks or CPUs per node, e.g. LANDERMT_SBATCH_${STAGE^^}=\"--ntasks-per-node=1\"" \
    "or --cpus-per-task=1, or another partition (LANDERMT_SBATCH_ARGS=\"--partition=NAME\")" >&2
  [[ $DRY == 1 ]] || exit 1
}

declare -A STAGE_ARGS
for STAGE in prep detect finetune evaluate; do
  [[ ,$STAGES, == *,$STAGE,* ]] || continue
  stage_args "$STAGE"
  fits "$@"
  STAGE_ARGS[$STAGE]=$(printf '%q ' "${ARGS[@]}")
done

dep=$AFTER
for stage in prep detect finetune evaluate; do
  [[ ,$STAGES, == *,$stage,* ]] || continue
  eval "args=(--parsable ${STAGE_ARGS[$stage]})"
  [[ -n $dep ]] && args+=("--dependency=afterok:$dep")
  cmd=(sbatch "${args[@]}" "$LANDERMT_HOME/jobs/slurm/$stage.sbatch" "$CONFIG" "$@")
  if [[ $DRY == 1 ]]; then
    echo "${cmd[*]}"; dep="<$stage>"
  else
    out=$("${cmd[@]}") || { echo "error: sbatch of stage $stage failed" >&2; exit 1; }
    dep=${out%%;*}
    echo "$stage $dep"
  fi
done
