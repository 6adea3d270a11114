// Calibration statistics: abs-max per tensor / per channel and a 2048-bin |x| histogram.
// Semantics: io.condense.backend.cuda.ref.CalibRef. Results are float bits in unsigned ints (non-negative floats
// order like their bit patterns), so atomicMax gives an exact, order-independent maximum; zero them first.
#include "common.cuh"

extern "C" {

__global__ void absmax_per_tensor(const float* __restrict__ x, long long n, unsigned int* __restrict__ out) {
    float m = 0.f;
    CONDENSE_GRID_STRIDE(i, n) {
        float a = fabsf(x[i]);
        if (a > m) m = a;  // NaN ignored
    }
    m = cq_block_max(m);
    if (threadIdx.x == 0) atomicMax(out, __float_as_uint(m));
}

// grid.y walks channels, grid.x splits the outer*inner elements of each channel; out[channels].
__global__ void absmax_per_channel(const float* __restrict__ x, long long outer, int channels, long long inner,
                                   unsigned int* __restrict__ out) {
    long long per = outer * inner;
    for (int c = blockIdx.y; c < channels; c += gridDim.y) {
        float m = 0.f;
        for (long long j = (long long)blockIdx.x * blockDim.x + threadIdx.x; j < per; j += (long long)gridDim.x * blockDim.x) {
            long long o = j / inner, in = j - o * inner;
            float a = fabsf(x[(o * channels + c) * inner + in]);
            if (a > m) m = a;
        }
        m = cq_block_max(m);
        if (threadIdx.x == 0) atomicMax(&out[c], __float_as_uint(m));
    }
}

// counts[bins] (bins <= 4096) += histogram of |x| with bin = min((int)(|x| * invWidth), bins - 1); NaN skipped.
// Dynamic shared memory: bins * 4 bytes.
__global__ void histogram_abs(const float* __restrict__ x, long long n, float invWidth, int bins,
                              unsigned int* __restrict__ counts) {
    extern __shared__ unsigned int local[];
    for (int b = threadIdx.x; b < bins; b += blockDim.x) local[b] = 0;
    __syncthreads();
    CONDENSE_GRID_STRIDE(i, n) {
        float v = x[i];
        if (isnan(v)) continue;
        float a = __fmul_rn(fabsf(v), invWidth);
        int b = a >= (float)bins ? bins - 1 : __float2int_rz(a);
        atomicAdd(&local[b], 1u);
    }
    __syncthreads();
    for (int b = threadIdx.x; b < bins; b += blockDim.x) {
        unsigned int c = local[b];
        if (c) atomicAdd(&counts[b], c);
    }
}

}  // extern "C"
