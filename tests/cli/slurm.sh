#!/usr/bin/env bash
# ctest entry of the real-Slurm test (tests/slurm/run.sh): a private single-node
# cluster runs the jobs/slurm templates - pipeline with afterok, srun --mpi=pmix and
# mpirun launches, preemption -> exit 75 -> requeue -> bit-exact resume, rank failure.
# Skipped only where Slurm daemons cannot run at all: not root, or neither the Slurm
# packages nor apt-get to install them.
: "${LANDERMT:?}" "${LM_SOURCE_DIR:?}"
if [[ $(id -u) != 0 ]]; then
  echo "skipped: the Slurm test starts munged, slurmctld and slurmd and needs root (uid $(id -u))"
  exit 0
fi
if ! command -v slurmctld >/dev/null && ! command -v apt-get >/dev/null; then
  echo "skipped: no Slurm (slurmctld) and no apt-get to install slurm-wlm munge libpmix-dev"
  exit 0
fi
exec bash "$LM_SOURCE_DIR/tests/slurm/run.sh"
