// Checkpoints (io/ckpt.c, io/ckpt_landermt.c, io/ckpt_verify.c, through the
// model source of io/model_source.c): the model, its /landermt state, the
// training state and the verification a resume runs.
#include "fuzz.h"
#include "io/ckpt.h"
#include "io/ckpt_verify.h"
#include "io/model_source.h"

static void train_state(const char *path, Model *m) {
    TrainState ts;
    fuzz_begin();
    LmStatus st = ckpt_verify(path, m);
    fuzz_end(st, path);
    fuzz_begin();
    st = ckpt_read(path, m, &ts);
    if (st == LM_OK) train_state_free(&ts);
    fuzz_end(st, path);
}

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size) {
    const char *path = fuzz_file("m.h5", data, size);
    ModelSource s;
    Model m = {0};
    fuzz_begin();
    LmStatus st = model_source_open(&s, path);
    if (st == LM_OK) {
        st = model_source_load(&s, &m);
        CkptLandermt lm;
        if (st == LM_OK && (st = model_source_landermt(&s, &lm)) == LM_OK) ckpt_landermt_free(&lm);
        model_source_close(&s);
    }
    fuzz_end(st, path);
    // A trainable-only checkpoint is read against its base's table.
    ModelConfig cfg;
    fuzz_begin();
    st = m.data ? LM_OK : ckpt_read_config(path, &cfg);
    fuzz_end(st, path);
    if (!m.data && st == LM_OK) {
        model_table_init(&m, &cfg);
        if (m.numel <= ((size_t)1 << 20)) {
            model_free(&m);
            model_init(&m, &cfg);
        }
    }
    if (m.data) train_state(path, &m);
    if (m.tensors) model_free(&m);
    fuzz_clear();
    return 0;
}
