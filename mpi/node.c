// Node communicators, shared windows, slice groups (node.h).
#include "mpi/node.h"

#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "mpi/comm.h"
#include "mpi/comm_int.h"

static MPI_Comm g_node = MPI_COMM_NULL, g_slice = MPI_COMM_NULL;
static int g_node_rank, g_node_size = 1, g_node_index, g_node_count = 1;

typedef struct {
    MPI_Win win;
    void *base;
} SharedWin;
static SharedWin *g_wins;
static int g_n_wins;

int comm_nodes_init(int ranks_per_node) {
    if (g_node != MPI_COMM_NULL) MPI_Comm_free(&g_node), MPI_Comm_free(&g_slice);
    int rank = comm_rank(), size = comm_size();
    MPI_Comm shared;
    comm_check(MPI_Comm_split_type(MPI_COMM_WORLD, MPI_COMM_TYPE_SHARED, rank, MPI_INFO_NULL, &shared),
               "MPI_Comm_split_type");
    int shared_size;
    MPI_Comm_size(shared, &shared_size);
    int k = ranks_per_node > 0 ? ranks_per_node : shared_size;
    int ok = size % k == 0 && (ranks_per_node <= 0 || shared_size % k == 0), all_ok;
    MPI_Allreduce(&ok, &all_ok, 1, MPI_INT, MPI_LAND, MPI_COMM_WORLD);
    if (!all_ok) {
        if (rank == 0)
            fprintf(stderr, "error: %d ranks do not form nodes of %d ranks each (%d ranks share this "
                    "node's memory)\nHINT: launch the same number of ranks on every node%s\n", size, k,
                    shared_size, ranks_per_node > 0 ? ", a multiple of debug.ranks_per_node" : "");
        MPI_Comm_free(&shared);
        return 2;
    }
    comm_check(MPI_Comm_split(shared, ranks_per_node > 0 ? rank / k : 0, rank, &g_node), "MPI_Comm_split(node)");
    MPI_Comm_free(&shared);
    MPI_Comm_rank(g_node, &g_node_rank);
    MPI_Comm_size(g_node, &g_node_size);
    g_node_index = rank / g_node_size;  // ranks are numbered node by node (checked below)
    g_node_count = size / g_node_size;
    int first, mine = rank - g_node_rank;
    MPI_Allreduce(&mine, &first, 1, MPI_INT, MPI_MIN, g_node);
    ok = first == mine;  // a node's ranks are consecutive
    MPI_Allreduce(&ok, &all_ok, 1, MPI_INT, MPI_LAND, MPI_COMM_WORLD);
    if (!all_ok) {
        if (rank == 0)
            fprintf(stderr, "error: the ranks of a node are not numbered consecutively\n"
                    "HINT: map ranks by node (mpirun --map-by node is the wrong order; the default by-slot is right)\n");
        return 2;
    }
    comm_check(MPI_Comm_split(MPI_COMM_WORLD, g_node_rank, rank, &g_slice), "MPI_Comm_split(slice)");
    return 0;
}

int comm_node_rank(void) { return g_node_rank; }
int comm_node_size(void) { return g_node_size; }
int comm_node_index(void) { return g_node_index; }
int comm_node_count(void) { return g_node_count; }

MPI_Comm comm_group(int group, int *rank, int *size) {
    if (group == COMM_WORLD_GROUP) return comm_world_sum(rank, size);
    *rank = g_node_index, *size = g_node_count;
    return g_slice;
}

void *comm_shared_alloc(size_t bytes) {
    SharedWin w;
    MPI_Aint size = g_node_rank == 0 ? (MPI_Aint)(bytes ? bytes : 1) : 0;
    comm_check(MPI_Win_allocate_shared(size, 1, MPI_INFO_NULL, g_node, &w.base, &w.win),
               "MPI_Win_allocate_shared (node-shared training state)");
    MPI_Aint got;
    int unit;
    comm_check(MPI_Win_shared_query(w.win, 0, &got, &unit, &w.base), "MPI_Win_shared_query");
    g_wins = realloc(g_wins, sizeof *g_wins * (size_t)(g_n_wins + 1));
    g_wins[g_n_wins++] = w;
    if (g_node_rank == 0) memset(w.base, 0, bytes);
    comm_node_barrier();  // zeroed, and every rank has the window before anyone writes
    return w.base;
}

void comm_shared_free(void *p) {
    for (int i = 0; p && i < g_n_wins; i++) {
        if (g_wins[i].base != p) continue;
        MPI_Win_free(&g_wins[i].win);
        g_wins[i] = g_wins[--g_n_wins];
        return;
    }
}

void comm_node_barrier(void) {
    if (g_node == MPI_COMM_NULL) return;  // nodes not split: every rank is its own
    MPI_Request req;
    comm_check(MPI_Ibarrier(g_node, &req), "MPI_Ibarrier(node)");
    comm_wait_checked(&req, "a node barrier", COMM_SPIN_DATA);
}
