// Safetensors: exact F16/BF16 widening (every bit pattern), round to
// nearest even when narrowing, writer -> reader round trips, and a clear
// error naming the file and tensor for every kind of damaged file.
#include <math.h>
#include <stdint.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include "harness.h"
#include "util/half.h"
#include "io/safetensors.h"
#include "util/rng.h"

static uint32_t bits(float f) {
    uint32_t u;
    memcpy(&u, &f, 4);
    return u;
}

// -------------------------------------------------------------- widening

// Reference values from the format definitions, computed with ldexp.
static double f16_ref(uint16_t h) {
    int s = h >> 15, e = (h >> 10) & 31, m = h & 1023;
    double v = e == 0 ? ldexp(m, -24) : e == 31 ? (m ? NAN : INFINITY) : ldexp(1024 + m, e - 25);
    return s ? -v : v;
}

static double bf16_ref(uint16_t b) {
    int s = b >> 15, e = (b >> 7) & 255, m = b & 127;
    double v = e == 0 ? ldexp(m, -133) : e == 255 ? (m ? NAN : INFINITY) : ldexp(128 + m, e - 134);
    return s ? -v : v;
}

static void test_widen_every_pattern(void) {
    int bad16 = 0, badb = 0, nan_payload = 0;
    for (uint32_t h = 0; h < 65536; h++) {
        float a = half_f16_to_f32((uint16_t)h), b = half_bf16_to_f32((uint16_t)h);
        double ra = f16_ref((uint16_t)h), rb = bf16_ref((uint16_t)h);
        bad16 += isnan(ra) ? !isnan(a) : ((double)a != ra || !signbit(a) != !signbit(ra));
        badb += isnan(rb) ? !isnan(b) : ((double)b != rb || !signbit(b) != !signbit(rb));
        if (isnan(ra)) nan_payload += ((bits(a) >> 13) & 1023) != (h & 1023);
#ifdef __FLT16_MAX__
        _Float16 x;  // the compiler's own conversion as a second opinion
        memcpy(&x, &h, 2);
        bad16 += !isnan(ra) && bits((float)x) != bits(a);
#endif
    }
    CHECK(bad16 == 0, "%d float16 patterns widen wrongly", bad16);
    CHECK(badb == 0, "%d bfloat16 patterns widen wrongly", badb);
    CHECK(nan_payload == 0, "%d float16 NaN payloads lost", nan_payload);
    CHECK(half_f16_to_f32(0x0001) == (float)ldexp(1, -24), "smallest float16 subnormal");
    CHECK(half_f16_to_f32(0x03FF) == (float)ldexp(1023, -24), "largest float16 subnormal");
    CHECK(half_f16_to_f32(0x7BFF) == 65504.0f, "largest float16");
}

// ------------------------------------------------------------- narrowing

static void test_narrow_round_trip_and_ties(void) {
    int bad = 0, ties = 0;
    for (uint32_t h = 0; h < 0x7C00; h++) {  // every finite positive float16 (and +0)
        float a = half_f16_to_f32((uint16_t)h);
        bad += half_f32_to_f16(a) != h || half_f32_to_f16(-a) != (h | 0x8000);
        if (h + 1 == 0x7C00) break;
        float b = half_f16_to_f32((uint16_t)(h + 1)), mid = (a + b) / 2;  // exact in float32
        uint16_t even = (h & 1) ? (uint16_t)(h + 1) : (uint16_t)h;
        ties += half_f32_to_f16(mid) != even;
        ties += half_f32_to_f16(nextafterf(mid, INFINITY)) != h + 1;
        ties += half_f32_to_f16(nextafterf(mid, 0)) != h;
    }
    CHECK(bad == 0, "%d float16 values do not survive float32 and back", bad);
    CHECK(ties == 0, "%d float16 midpoints rounded wrongly", ties);
    CHECK(half_f32_to_f16(65519.996f) == 0x7BFF, "just below the overflow threshold -> 65504");
    CHECK(half_f32_to_f16(65520.0f) == 0x7C00, "65520 rounds to infinity");
    CHECK(half_f32_to_f16((float)ldexp(1, -25)) == 0, "2^-25 ties to zero");
    CHECK(half_f32_to_f16(nextafterf((float)ldexp(1, -25), 1)) == 1, "above 2^-25 -> smallest subnormal");
    CHECK(half_f32_to_f16((float)ldexp(1, -30)) == 0, "underflow to zero");
    int badb = 0;
    for (uint32_t b = 0; b < 0x7F80; b++) {  // every finite positive bfloat16
        float a = half_bf16_to_f32((uint16_t)b);
        badb += half_f32_to_bf16(a) != b;
        if (b + 1 == 0x7F80) break;
        float mid = a / 2 + half_bf16_to_f32((uint16_t)(b + 1)) / 2;  // no overflow at the top
        badb += half_f32_to_bf16(mid) != ((b & 1) ? b + 1 : b);
        badb += half_f32_to_bf16(nextafterf(mid, INFINITY)) != b + 1;
    }
    CHECK(badb == 0, "%d bfloat16 round trips or midpoints wrong", badb);
    CHECK(half_f32_to_bf16(3.4028235e38f) == 0x7F80, "FLT_MAX rounds to bfloat16 infinity");
}

static void test_narrow_random_against_compiler(void) {
#ifdef __FLT16_MAX__
    Rng r;
    rng_seed(&r, 5);
    int bad = 0;
    for (int i = 0; i < 200000; i++) {
        uint32_t u = (uint32_t)rng_next(&r);
        float f;
        memcpy(&f, &u, 4);
        if (!isfinite(f) || fabsf(f) >= 65520.0f) continue;
        _Float16 x = (_Float16)f;
        uint16_t want;
        memcpy(&want, &x, 2);
        bad += half_f32_to_f16(f) != want;
    }
    CHECK(bad == 0, "%d random floats narrow differently from the compiler's float16", bad);
#endif
}

// ---------------------------------------------------------- round trips

static const StSpec SPECS[] = {
    {"a.weight", 2, {3, 5}}, {"b.bias", 1, {7}}, {"empty", 2, {0, 4}}, {"scalar", 0, {0}}};

static void test_write_read_round_trip(void) {
    float vals[3 * 5 + 7 + 1];
    Rng r;
    rng_seed(&r, 3);
    for (int i = 0; i < 23; i++) vals[i] = rng_normal(&r) * 3.0f;
    vals[4] = 1e-7f;  // a float16 subnormal
    for (int d = 0; d < 3; d++) {
        const char *path = tmp_file("rt.safetensors");
        StWriter w;
        static const char *const meta[] = {"format", "pt"};
        CHECK(st_writer_open(&w, path, (StDtype)d, SPECS, 4, meta, 1) == LM_OK, "open %d", d);
        CHECK(st_writer_put(&w, vals, 10) == LM_OK && st_writer_put(&w, vals + 10, 13) == LM_OK, "put");
        CHECK(st_writer_commit(&w) == LM_OK, "commit dtype %s", st_dtype_name((StDtype)d));
        StFile f;
        CHECK(st_open(&f, path) == LM_OK, "reopen");
        const StTensor *a = st_find(&f, "a.weight"), *b = st_find(&f, "b.bias"), *s = st_find(&f, "scalar");
        CHECK(a && b && s && st_find(&f, "empty") && !st_find(&f, "nope") && f.n == 4, "tensors listed");
        CHECK(a && a->ndim == 2 && a->shape[0] == 3 && a->shape[1] == 5 && a->dtype == (StDtype)d, "shape");
        CHECK(s && s->ndim == 0 && s->numel == 1, "scalar");
        uint64_t hl;
        memcpy(&hl, f.map, 8);
        CHECK(hl % 8 == 0 && ((const char *)f.map)[8] == '{', "header padded to 8 bytes");
        char header[512] = "";
        memcpy(header, (const char *)f.map + 8, hl < sizeof header ? hl : sizeof header - 1);
        CHECK(strstr(header, "\"__metadata__\":{\"format\":\"pt\"}") != NULL, "metadata: %s", header);
        float got[23];
        if (a && b && s) {
            st_read_f32(&f, a, got), st_read_f32(&f, b, got + 15), st_read_f32(&f, s, got + 22);
            int bad = 0;
            for (int i = 0; i < 23; i++) {
                float want = d == ST_F32 ? vals[i] : d == ST_BF16 ? half_bf16_to_f32(half_f32_to_bf16(vals[i]))
                                                                  : half_f16_to_f32(half_f32_to_f16(vals[i]));
                bad += bits(got[i]) != bits(want);
            }
            CHECK(bad == 0, "%d values differ after a %s round trip", bad, st_dtype_name((StDtype)d));
        }
        st_close(&f);
    }
}

static void test_writer_refusals(void) {
    const char *path = tmp_file("refuse.safetensors");
    StWriter w;
    float v[23] = {0};
    v[3] = NAN;
    capture_begin();
    st_writer_open(&w, path, ST_BF16, SPECS, 4, NULL, 0);
    LmStatus st = st_writer_put(&w, v, 23);
    const char *err = capture_end();
    check_error(st, LM_ERUNTIME, err, "tensor a.weight[3] = nan is not a finite bfloat16");
    st_writer_abandon(&w);
    CHECK(access(path, F_OK) != 0, "no file after an abandoned write");
    v[3] = 70000.0f;  // finite, beyond float16
    capture_begin();
    st_writer_open(&w, path, ST_F16, SPECS, 4, NULL, 0);
    st = st_writer_put(&w, v, 23);
    err = capture_end();
    check_error(st, LM_ERUNTIME, err, "tensor a.weight[3] = 70000 is not a finite float16");
    st_writer_abandon(&w);
    capture_begin();
    st_writer_open(&w, path, ST_F32, SPECS, 4, NULL, 0);
    st_writer_put(&w, v, 5);
    st = st_writer_commit(&w);
    err = capture_end();
    check_error(st, LM_EUSAGE, err, "tensor a.weight is incomplete");
    CHECK(access(path, F_OK) != 0, "no file after an incomplete write");
    StSpec twice[] = {{"x", 1, {2}}, {"x", 1, {2}}};
    capture_begin();
    st = st_writer_open(&w, path, ST_F32, twice, 2, NULL, 0);
    err = capture_end();
    check_error(st, LM_EUSAGE, err, "tensor x is listed twice");
    capture_begin();
    st = st_writer_open(&w, "/nonexistent-dir/x.safetensors", ST_F32, SPECS, 4, NULL, 0);
    err = capture_end();
    check_error(st, LM_ERUNTIME, err, "cannot create /nonexistent-dir/x.safetensors.tmp.");
}

// ---------------------------------------------------------- damaged files

// 8-byte header length (hl, or the JSON's own length when hl < 0), the
// header, then data_len bytes of data (value 0x3F80: bfloat16/float32 ones).
static const char *raw_file(const char *name, const char *header, long long hl, size_t data_len) {
    const char *path = tmp_file(name);
    FILE *f = fopen(path, "wb");
    uint64_t n = hl < 0 ? strlen(header) : (uint64_t)hl;
    fwrite(&n, 8, 1, f);
    fputs(header, f);
    for (size_t i = 0; i < data_len; i++) fputc(i % 2 ? 0x3F : 0x80, f);
    fclose(f);
    return path;
}

static void expect_open_error(const char *path, const char *needle) {
    StFile f;
    capture_begin();
    LmStatus st = st_open(&f, path);
    const char *err = capture_end();
    check_error(st, LM_ERUNTIME, err, needle);
    CHECK(strstr(err, path) != NULL, "the error names the file: %s", err);
}

#define T1 "\"t\":{\"dtype\":\"BF16\",\"shape\":[2,2],\"data_offsets\":[0,8]}"

static void test_damaged_files(void) {
    const char *p = tmp_file("empty.safetensors");
    fclose(fopen(p, "wb"));
    expect_open_error(p, "the file is empty");
    p = tmp_file("short.safetensors");
    FILE *f = fopen(p, "wb");
    fputs("abc", f), fclose(f);
    expect_open_error(p, "truncated: 3 bytes, less than the 8-byte header length");
    expect_open_error(raw_file("beyond.st", "{" T1 "}", 4000, 8), "header length 4000 goes beyond the end");
    expect_open_error(raw_file("json.st", "{\"t\":{\"dtype\":\"BF16\",,}}", -1, 8),
                      "JSON header is malformed at line 1, column 22");
    expect_open_error(raw_file("array.st", "[1, 2]", -1, 0), "the JSON header is not an object");
    expect_open_error(raw_file("i8.st", "{\"q\":{\"dtype\":\"I8\",\"shape\":[8],\"data_offsets\":[0,8]}}", -1, 8),
                      "tensor q: dtype I8 is not supported");
    expect_open_error(raw_file("f8.st", "{\"q\":{\"dtype\":\"F8_E4M3\",\"shape\":[8],\"data_offsets\":[0,8]}}", -1, 8),
                      "tensor q: dtype F8_E4M3 is not supported");
    expect_open_error(raw_file("q4.st", "{\"q\":{\"dtype\":\"Q4\",\"shape\":[8],\"data_offsets\":[0,8]}}", -1, 8),
                      "tensor q: dtype Q4 is not supported");
    expect_open_error(raw_file("nodtype.st", "{\"q\":{\"shape\":[8],\"data_offsets\":[0,8]}}", -1, 8),
                      "tensor q: \"dtype\" is missing");
    expect_open_error(raw_file("size.st", "{\"t\":{\"dtype\":\"F32\",\"shape\":[2,2],\"data_offsets\":[0,8]}}", -1, 16),
                      "tensor t: data_offsets [0, 8] hold 8 bytes, but dtype F32 and shape (4 elements) need 16");
    expect_open_error(raw_file("range.st", "{\"t\":{\"dtype\":\"BF16\",\"shape\":[2,2],\"data_offsets\":[8,16]}}", -1, 8),
                      "tensor t: data_offsets [8, 16] are outside the data section (8 bytes)");
    expect_open_error(raw_file("trunc.st", "{" T1 "}", -1, 5), "outside the data section (5 bytes): the file is truncated");
    expect_open_error(raw_file("order.st", "{\"t\":{\"dtype\":\"BF16\",\"shape\":[0],\"data_offsets\":[8,0]}}", -1, 8),
                      "tensor t: data_offsets [8, 0] are outside");
    expect_open_error(raw_file("overlap.st", "{" T1 ",\"u\":{\"dtype\":\"BF16\",\"shape\":[4],\"data_offsets\":[4,12]}}", -1, 12),
                      "tensor u: bytes [4, 12) overlap those of tensor t [0, 8)");
    expect_open_error(raw_file("noff.st", "{\"t\":{\"dtype\":\"BF16\",\"shape\":[4]}}", -1, 8),
                      "tensor t: \"data_offsets\" must be [begin, end] integers");
    expect_open_error(raw_file("neg.st", "{\"t\":{\"dtype\":\"BF16\",\"shape\":[-4],\"data_offsets\":[0,8]}}", -1, 8),
                      "tensor t: shape[0] is not a non-negative integer");
    expect_open_error(raw_file("huge.st", "{\"t\":{\"dtype\":\"BF16\",\"shape\":[4294967296,4294967296],\"data_offsets\":[0,8]}}", -1, 8),
                      "more elements than any file can hold");
    expect_open_error(raw_file("dims.st", "{\"t\":{\"dtype\":\"BF16\",\"shape\":[1,1,1,1,1,1,1,1,1],\"data_offsets\":[0,2]}}", -1, 2),
                      "\"shape\" must be an array of at most 8 sizes");
    expect_open_error(raw_file("dup.st", "{" T1 "," T1 "}", -1, 8), "duplicate object key");
    expect_open_error(raw_file("meta.st", "{\"__metadata__\":[1]," T1 "}", -1, 8), "\"__metadata__\" is not an object");
    expect_open_error(raw_file("metav.st", "{\"__metadata__\":{\"format\":1}," T1 "}", -1, 8),
                      "__metadata__ value \"format\" is not a string");
    expect_open_error(raw_file("small.st", "{}", 1, 0), "header length 1 is not in [2, ");
    // A valid file with metadata, padding and an empty tensor opens.
    StFile ok;
    p = raw_file("ok.st", "{\"__metadata__\":{\"format\":\"pt\"}," T1 ",\"e\":{\"dtype\":\"F32\",\"shape\":[0],\"data_offsets\":[8,8]}}   ", -1, 8);
    CHECK(st_open(&ok, p) == LM_OK && ok.n == 2, "metadata, trailing spaces and an empty tensor are fine");
    st_close(&ok);
}

static void test_nonfinite_weight(void) {
    // bfloat16 0x7FC0 = NaN at element 2
    const char *p = tmp_file("nan.safetensors");
    FILE *f = fopen(p, "wb");
    const char *h = "{\"w\":{\"dtype\":\"BF16\",\"shape\":[4],\"data_offsets\":[0,8]}}";
    uint64_t n = strlen(h);
    uint16_t v[4] = {0x3F80, 0x3F80, 0x7FC0, 0x3F80};
    fwrite(&n, 8, 1, f), fputs(h, f), fwrite(v, 2, 4, f), fclose(f);
    StFile sf;
    CHECK(st_open(&sf, p) == LM_OK, "the header is fine");
    float out[4];
    capture_begin();
    LmStatus st = st_read_f32(&sf, st_find(&sf, "w"), out);
    const char *err = capture_end();
    check_error(st, LM_ERUNTIME, err, "tensor w[2] is nan; refusing to load non-finite weights");
    st_close(&sf);
}

int main(void) {
    RUN(test_widen_every_pattern);
    RUN(test_narrow_round_trip_and_ties);
    RUN(test_narrow_random_against_compiler);
    RUN(test_write_read_round_trip);
    RUN(test_writer_refusals);
    RUN(test_damaged_files);
    RUN(test_nonfinite_weight);
    return harness_finish();
}
