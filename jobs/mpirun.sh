#!/usr/bin/env bash
# mpirun for landermt whose stop signals save a checkpoint:
#
#   jobs/mpirun.sh -np 4 build/landermt train -c cfg.yaml     # any mpirun arguments
#
# Ctrl-C, `kill -TERM`, `timeout`, a hang-up: the ranks save at once (within the current
# micro-batch) and every one exits 75; `train.resume: auto` continues. A second signal
# aborts the job. The exit status is mpirun's (75 after a stop, as the ranks return).
#
# Why: Open MPI 4.1's mpirun answers SIGTERM, SIGINT and SIGHUP by aborting the job - it
# sends the ranks SIGCONT, waits odls_base_sigkill_timeout seconds (default 1), sends
# SIGTERM, waits as long again, sends SIGKILL, and exits 1 whatever the ranks returned. A
# rank in a step longer than that is killed before it can save. SIGUSR1 mpirun forwards to
# every rank untouched. So this wrapper
#   - starts mpirun with SIGTERM and SIGINT blocked (Perl's POSIX module; the signal mask
#     survives exec and Open MPI keeps such signals pending for ever), so a signal sent to
#     every process of the job - Ctrl-C to the terminal's process group, timeout(1),
#     Slurm's scancel under proctrack/linuxproc - cannot start that abort; the ranks are
#     started with an empty mask and still get what is sent to them directly;
#   - turns the first SIGTERM, SIGINT or SIGHUP it receives into SIGUSR1 for mpirun (the
#     ranks save and exit 75) and a second one into SIGHUP (mpirun's abort);
#   - passes SIGUSR1 on.
# Without Perl it runs mpirun as is, with a warning. Send signals to this script (or its
# process group), not to the mpirun inside: that one ignores SIGTERM and SIGINT.
# Environment: LANDERMT_MPIRUN  the mpirun to run [mpirun]
set -uo pipefail
source "$(dirname "${BASH_SOURCE[0]}")/lm_wait.sh"
log() { printf '[landermt-mpirun] %s\n' "$*" >&2; }

MPIRUN=${LANDERMT_MPIRUN:-mpirun}
if perl -MPOSIX -e 1 2>/dev/null; then
  # shellcheck disable=SC2016
  block=(perl -MPOSIX -e 'sigprocmask(SIG_BLOCK, POSIX::SigSet->new(SIGTERM, SIGINT)) or die "sigprocmask: $!";
                          exec {$ARGV[0]} @ARGV or die "cannot run $ARGV[0]: $!"')
else
  log "warning: no perl with POSIX: mpirun runs unprotected (SIGTERM/SIGINT to it kill the ranks)"
  block=()
fi

stops=0 child=""
on_stop() {
  stops=$((stops + 1))
  [[ -n $child ]] || return 0
  if ((stops == 1)); then
    log "got SIG$1: asking the ranks to save and stop (SIGUSR1 to mpirun; a second signal aborts)"
    kill -USR1 "$child" 2>/dev/null
  else
    log "got SIG$1 again: aborting the job (SIGHUP to mpirun)"
    kill -HUP "$child" 2>/dev/null
  fi
  return 0
}
trap 'on_stop TERM' TERM
trap 'on_stop INT' INT
trap 'on_stop HUP' HUP
trap '[[ -n $child ]] && kill -USR1 "$child" 2>/dev/null' USR1
"${block[@]}" "$MPIRUN" "$@" &
child=$!
lm_wait "$child"
exit "$LM_RC"
