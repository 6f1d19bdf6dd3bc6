#include "cli/cli.h"
#include "mpi/comm.h"
#include "prep/prep.h"

// One process builds the corpus; under mpirun the other ranks return at
// once and wait in main's agreed exit status, which is rank 0's.
LmStatus cmd_prep(CliArgs *a) {
    if (comm_rank() != 0) return LM_OK;
    return prep_run(&a->cfg, a->config_text);
}
