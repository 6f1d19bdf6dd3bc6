// Memory of a training run, planned before anything is allocated and
// measured while it runs (docs/memory.md).
//
// Planned, per category, for one rank and once per node:
//   base      frozen weights: a Hugging Face model's matrices stay mapped
//             in their source dtype, shared by the node's ranks through the
//             page cache (the FFN of layers trained neuron by neuron is
//             released once packed); an HDF5 model is float32 per rank;
//   model     float32 tensors a rank holds besides: 1-D tensors, the
//             trainable whole tensors of full and layers mode;
//   state     the packed values, step gradient and AdamW moments (16 bytes
//             per trainable entry), per rank or once per node
//             (train.node_shared);
//   buffers   gradient bucket buffers;
//   acts      activations, their backward scratch and the logits.
// Measured: each rank's proportional set size (PSS: pages shared with other
// processes count a share each), split into anonymous memory, mapped files
// and shared memory, summed over the node's ranks for the node total.
#ifndef LM_MEMORY_H
#define LM_MEMORY_H

#include "io/config.h"
#include "model/model.h"

typedef struct {
    double base_node, model_rank, state_rank, state_node, buffers_rank, buffers_node, acts_rank;
} MemPlan;

typedef struct {
    const ModelConfig *cfg;
    int mapped;              // Hugging Face weights (mapped) vs HDF5 (float32 per rank)
    int source_bytes;        // bytes per value of the mapped weights (2: bf16/f16, 4: f32)
    const char *mode;        // train.mode
    int k;                   // selected layers (layers and neuron modes; lora.layers selected)
    double epsilon;          // share of general neurons (modes general / specific)
    int lora_rank;           // lora
    int lora_targets;        // linears with adapters per layer (lora)
    int B, T;                // micro-batch rows per rank, tokens per row
    int recompute, ce_chunk;
    int ranks_per_node, node_shared;
    int threads;             // per rank: attention keeps a (T,T) scratch per thread (0 = 1)
} MemSpec;

// Trainable entries of spec's mode (the packed size).
double mem_trainable(const MemSpec *s);
void mem_plan(const MemSpec *s, MemPlan *p);
// Bytes a node needs with ranks_per_node ranks; per rank alone.
double mem_node_bytes(const MemPlan *p, int ranks_per_node);
double mem_rank_bytes(const MemPlan *p);

// This process's PSS in MB: anonymous, file-mapped, shared memory (from
// /proc/self/smaps_rollup; 0 where the kernel does not report them).
void mem_measure(double *anon, double *file, double *shmem);
// MemAvailable of this machine in bytes (/proc/meminfo), or -1.
double mem_available(void);

// The plan of a configured run for a model of mc (its weights mapped when
// the checkpoint is a Hugging Face directory, source_bytes per value).
void mem_spec_config(const Config *c, const ModelConfig *mc, int mapped, int source_bytes, MemSpec *s);
// Before a training run allocates anything: its plan for this node from
// the model's configuration alone, refused (LM_ERUNTIME, the estimate by
// category and what would shrink it) when it exceeds the memory available
// (debug.memory_limit_mb replaces that, for tests). Collective. *plan gets
// the plan.
LmStatus mem_check_run(const Config *c, MemPlan *plan);
// This node's measured PSS in bytes (summed over the ranks of the machine);
// per = rank 0's anonymous, file and shared parts (MB), or NULL. Collective.
double mem_node_measured(double per[3]);
// After the first step: the plan next to the measured PSS of rank 0 and of
// the node, and the node's growth since `start` (mem_node_measured before
// the model was loaded: libraries and MPI excluded). Collective.
void mem_report(const MemPlan *plan, double start);
// `landermt plan CONFIG.json`: the table of docs/memory.md for a model.
LmStatus mem_plan_run(const Config *c, const char *config_json);

#endif
