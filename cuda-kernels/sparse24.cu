// 2:4 structured sparsity along the last axis: keep the 2 largest |x| of every 4 (NaN as +Inf, ties to the lower
// index), and compression into values [rows][cols/2] + 2-bit index metadata (16-bit words, 4 groups per word,
// group g's nibble i0 | i1 << 2 at bits 4 * (g % 4)). Semantics: io.condense.backend.cuda.ref.Sparse24Ref.
#include "common.cuh"

__device__ __forceinline__ float s24_key(float v) { return isnan(v) ? __int_as_float(0x7f800000) : fabsf(v); }

// Bit p set = element p of the group kept. Exactly two bits are set.
__device__ __forceinline__ int s24_group_mask(float4 g) {
    float k[4] = {s24_key(g.x), s24_key(g.y), s24_key(g.z), s24_key(g.w)};
    int mask = 0;
#pragma unroll
    for (int i = 0; i < 4; i++) {
        int beaten = 0;
#pragma unroll
        for (int j = 0; j < 4; j++)
            if (j != i && (k[j] > k[i] || (k[j] == k[i] && j < i))) beaten++;
        if (beaten < 2) mask |= 1 << i;
    }
    return mask;
}

extern "C" {

// One thread per group of 4 (x 16-byte aligned, total size a multiple of 4): y = x * mask; mask (nullable) gets 0/1.
__global__ void sparse24_prune(const float4* __restrict__ x, float4* __restrict__ y, uchar4* __restrict__ mask, long long groups) {
    CONDENSE_GRID_STRIDE(g, groups) {
        float4 v = x[g];
        int m = s24_group_mask(v);
        float4 o = make_float4((m & 1) ? v.x : 0.f, (m & 2) ? v.y : 0.f, (m & 4) ? v.z : 0.f, (m & 8) ? v.w : 0.f);
        y[g] = o;
        if (mask) mask[g] = make_uchar4(m & 1, (m >> 1) & 1, (m >> 2) & 1, (m >> 3) & 1);
    }
}

// One thread per metadata word (up to 4 groups of a row): values[rows][cols/2], meta[rows][ceil(cols/16)].
__global__ void sparse24_compress(const float* __restrict__ x, float* __restrict__ values, uint16_t* __restrict__ meta,
                                  long long rows, int cols) {
    int groups = cols / 4, words = (groups + 3) / 4, half = cols / 2;
    CONDENSE_GRID_STRIDE(t, rows * words) {
        long long r = t / words;
        int w = (int)(t - r * words);
        unsigned int word = 0;
        for (int q = 0; q < 4; q++) {
            int g = 4 * w + q;
            if (g >= groups) break;
            const float* p = x + r * cols + 4 * g;
            float4 v = make_float4(p[0], p[1], p[2], p[3]);
            int m = s24_group_mask(v);
            int i0 = __ffs(m) - 1;
            int i1 = 31 - __clz(m);
            values[r * half + 2 * g] = p[i0];
            values[r * half + 2 * g + 1] = p[i1];
            word |= (unsigned)(i0 | (i1 << 2)) << (4 * q);
        }
        meta[r * words + w] = (uint16_t)word;
    }
}

// Gathers int8 weights by existing metadata (selection done on the float weights): values[rows][cols/2].
__global__ void sparse24_gather_s8(const int8_t* __restrict__ q, const uint16_t* __restrict__ meta,
                                   int8_t* __restrict__ values, long long rows, int cols) {
    int groups = cols / 4, words = (groups + 3) / 4, half = cols / 2;
    CONDENSE_GRID_STRIDE(t, rows * groups) {
        long long r = t / groups;
        int g = (int)(t - r * groups);
        int nib = (meta[r * words + g / 4] >> (4 * (g % 4))) & 0xF;
        values[r * half + 2 * g] = q[r * cols + 4 * g + (nib & 3)];
        values[r * half + 2 * g + 1] = q[r * cols + 4 * g + (nib >> 2)];
    }
}

// Inverse of sparse24_compress (zeros in the pruned places).
__global__ void sparse24_decompress(const float* __restrict__ values, const uint16_t* __restrict__ meta,
                                    float* __restrict__ y, long long rows, int cols) {
    int groups = cols / 4, words = (groups + 3) / 4, half = cols / 2;
    CONDENSE_GRID_STRIDE(t, rows * groups) {
        long long r = t / groups;
        int g = (int)(t - r * groups);
        int nib = (meta[r * words + g / 4] >> (4 * (g % 4))) & 0xF;
        float o[4] = {0.f, 0.f, 0.f, 0.f};
        o[nib & 3] = values[r * half + 2 * g];
        o[nib >> 2] = values[r * half + 2 * g + 1];
        float* d = y + r * cols + 4 * g;
        d[0] = o[0]; d[1] = o[1]; d[2] = o[2]; d[3] = o[3];
    }
}

}  // extern "C"
