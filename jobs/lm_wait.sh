# shellcheck shell=bash
# lm_wait PID: waits until the background child PID has ended and sets LM_RC to its exit
# status. A trapped signal makes `wait` return early (status > 128) while the child still
# runs - the trap forwarded the signal and the child is saving - so wait again; a second
# wait on a child whose status was collected already says 127: keep the first status.
# Sourced by jobs/mpirun.sh and jobs/slurm/common.sh.
lm_wait() {
  local pid=$1 last=""
  while :; do
    wait "$pid"; LM_RC=$?
    if ((LM_RC > 128)) && kill -0 "$pid" 2>/dev/null; then last=$LM_RC; continue; fi
    [[ $LM_RC == 127 && -n $last ]] && LM_RC=$last
    return 0
  done
}
