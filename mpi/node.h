// Node-level sharing: the ranks of one node (or, for tests, of an
// emulated node of k consecutive ranks) allocate memory every one of them
// maps (MPI-3 shared windows), synchronise among themselves, and form
// slice groups across nodes — the ranks with the same node rank — between
// which node-shared state is kept consistent (docs/architecture.md).
#ifndef LM_NODE_H
#define LM_NODE_H

#include <stddef.h>

// Splits the world into nodes: ranks_per_node 0 = the real nodes (shared
// memory domains); k > 0 = consecutive groups of k ranks, which must lie on
// one real node each (exit 2 otherwise) and divide the rank count. Every
// node must have the same number of ranks (node-shared training needs it).
// Collective; may be called again to re-split.
int comm_nodes_init(int ranks_per_node);
int comm_node_rank(void);   // rank within the node
int comm_node_size(void);
int comm_node_index(void);  // which node
int comm_node_count(void);

// Zeroed memory shared by the node's ranks (collective over the node; the
// node's rank 0 allocates it). Freed with comm_shared_free (collective).
void *comm_shared_alloc(size_t bytes);
void comm_shared_free(void *p);
// All ranks of this node (under the hang deadline).
void comm_node_barrier(void);

#endif
