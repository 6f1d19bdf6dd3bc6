// Internals of mpi/comm.c shared with mpi/node.c: fatal error checking and
// waiting on a request under the hang deadline.
#ifndef LM_COMM_INT_H
#define LM_COMM_INT_H

#include <mpi.h>

#define COMM_SPIN_DATA 0.05  // s of continuous polling once every rank is there

// Any MPI failure: one message naming `what`, then MPI_Abort of the job.
void comm_check(int rc, const char *what);
// Waits for req; under a deadline (comm_set_deadline) a wait past it
// probes the other ranks and ends the job naming the silent ones.
void comm_wait_checked(MPI_Request *req, const char *what, double spin);
// Whether collectives run under the deadline.
int comm_checked(void);
// The communicator of a CommSum group, with this rank's rank and the size
// (node.c; the world's comes from comm_world_sum).
MPI_Comm comm_group(int group, int *rank, int *size);
MPI_Comm comm_world_sum(int *rank, int *size);

#endif
