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

dep=$AFTER
IFS=, read -r -a wanted <<<"$STAGES"
for s in "${wanted[@]}"; do
  case $s in prep|detect|finetune|evaluate) ;; *) echo "error: unknown stage '$s'" >&2; exit 2 ;; esac
done
for stage in prep detect finetune evaluate; do
  [[ ,$STAGES, == *,$stage,* ]] || continue
  var=LANDERMT_SBATCH_${stage^^}
  # shellcheck disable=SC2206
  args=(--parsable ${LANDERMT_SBATCH_ARGS:-} ${!var:-})
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
