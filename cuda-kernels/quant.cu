// Quantize / dequantize with per-channel or blocked scales, and INT4 packing (two values per byte, low nibble first).
// Semantics: io.condense.backend.cuda.ref.QuantRef. NaN quantizes to the zero point.
#include "common.cuh"

__device__ __forceinline__ int cq_quantize(float x, float s, int z, int qmin, int qmax) {
    float v = cq_grid(x, s, z);
    if (isnan(v)) return z;
    return (int)cq_clamp(v, qmin, qmax);
}

extern "C" {

__global__ void quantize_per_channel_s8(const float* __restrict__ x, int8_t* __restrict__ q, const float* __restrict__ scale,
                                        const int* __restrict__ zp, long long n, int channels, long long inner, int qmin, int qmax) {
    CONDENSE_GRID_STRIDE(i, n) {
        int c = cq_channel(i, channels, inner);
        q[i] = (int8_t)cq_quantize(x[i], scale[c], zp ? zp[c] : 0, qmin, qmax);
    }
}

// isUnsigned != 0 reads q as uint8.
__global__ void dequantize_per_channel_s8(const int8_t* __restrict__ q, float* __restrict__ y, const float* __restrict__ scale,
                                          const int* __restrict__ zp, long long n, int channels, long long inner, int isUnsigned) {
    CONDENSE_GRID_STRIDE(i, n) {
        int c = cq_channel(i, channels, inner);
        int v = isUnsigned ? (int)(uint8_t)q[i] : (int)q[i];
        y[i] = __fmul_rn((float)(v - (zp ? zp[c] : 0)), scale[c]);
    }
}

// rows x cols row-major; scale[rows * ceil(cols / block)], zero point 0.
__global__ void quantize_blocked_s8(const float* __restrict__ x, int8_t* __restrict__ q, const float* __restrict__ scale,
                                    long long rows, int cols, int block, int qmin, int qmax) {
    int nb = (cols + block - 1) / block;
    CONDENSE_GRID_STRIDE(i, rows * cols) {
        long long r = i / cols;
        int k = (int)(i - r * cols);
        q[i] = (int8_t)cq_quantize(x[i], scale[r * nb + k / block], 0, qmin, qmax);
    }
}

__global__ void dequantize_blocked_s8(const int8_t* __restrict__ q, float* __restrict__ y, const float* __restrict__ scale,
                                      long long rows, int cols, int block) {
    int nb = (cols + block - 1) / block;
    CONDENSE_GRID_STRIDE(i, rows * cols) {
        long long r = i / cols;
        int k = (int)(i - r * cols);
        y[i] = __fmul_rn((float)q[i], scale[r * nb + k / block]);
    }
}

// One thread per output byte: elements 2i (low nibble) and 2i+1 (high nibble; 0 past the end).
__global__ void quantize_int4_packed(const float* __restrict__ x, uint8_t* __restrict__ packed, const float* __restrict__ scale,
                                     const int* __restrict__ zp, long long n, int channels, long long inner, int qmin, int qmax) {
    CONDENSE_GRID_STRIDE(p, (n + 1) / 2) {
        long long i0 = 2 * p, i1 = i0 + 1;
        int c0 = cq_channel(i0, channels, inner);
        int lo = cq_quantize(x[i0], scale[c0], zp ? zp[c0] : 0, qmin, qmax) & 0xF;
        int hi = 0;
        if (i1 < n) {
            int c1 = cq_channel(i1, channels, inner);
            hi = cq_quantize(x[i1], scale[c1], zp ? zp[c1] : 0, qmin, qmax) & 0xF;
        }
        packed[p] = (uint8_t)(lo | (hi << 4));
    }
}

__global__ void dequantize_int4_packed(const uint8_t* __restrict__ packed, float* __restrict__ y, const float* __restrict__ scale,
                                       const int* __restrict__ zp, long long n, int channels, long long inner, int isSigned) {
    CONDENSE_GRID_STRIDE(i, n) {
        int nib = (packed[i >> 1] >> ((i & 1) * 4)) & 0xF;
        int v = (isSigned && nib >= 8) ? nib - 16 : nib;
        int c = cq_channel(i, channels, inner);
        y[i] = __fmul_rn((float)(v - (zp ? zp[c] : 0)), scale[c]);
    }
}

// Blocked INT4 (e.g. weight-only quantization, block 32/64/128 along the last axis): rows x cols, cols even.
__global__ void quantize_blocked_int4_packed(const float* __restrict__ x, uint8_t* __restrict__ packed,
                                             const float* __restrict__ scale, long long rows, int cols, int block,
                                             int qmin, int qmax) {
    int nb = (cols + block - 1) / block;
    CONDENSE_GRID_STRIDE(p, rows * cols / 2) {
        long long i0 = 2 * p;
        long long r = i0 / cols;
        int k = (int)(i0 - r * cols);
        int lo = cq_quantize(x[i0], scale[r * nb + k / block], 0, qmin, qmax) & 0xF;
        int hi = cq_quantize(x[i0 + 1], scale[r * nb + (k + 1) / block], 0, qmin, qmax) & 0xF;
        packed[p] = (uint8_t)(lo | (hi << 4));
    }
}

}  // extern "C"
