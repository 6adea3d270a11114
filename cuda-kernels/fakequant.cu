// Fake quantization (quantize + dequantize in float) for quantization-aware training.
// Semantics: io.condense.backend.cuda.ref.FakeQuantRef. INT8 / INT4 / unsigned are the same kernels with other
// [qmin, qmax]; per-tensor is channels = 1, inner = n. zp may be null (zero point 0).
#include "common.cuh"

extern "C" {

// y = (clamp(rint(x/s) + z) - z) * s
__global__ void fq_forward(const float* __restrict__ x, float* __restrict__ y, const float* __restrict__ scale,
                           const int* __restrict__ zp, long long n, int channels, long long inner, int qmin, int qmax) {
    CONDENSE_GRID_STRIDE(i, n) {
        int c = cq_channel(i, channels, inner);
        float s = scale[c];
        int z = zp ? zp[c] : 0;
        float q = cq_clamp(cq_grid(x[i], s, z), qmin, qmax);
        y[i] = __fmul_rn(q - (float)z, s);
    }
}

// Straight-through estimator with clipping: dx = dy where qmin <= rint(x/s) + z <= qmax, else 0.
__global__ void fq_backward_ste(const float* __restrict__ x, const float* __restrict__ dy, float* __restrict__ dx,
                                const float* __restrict__ scale, const int* __restrict__ zp, long long n, int channels,
                                long long inner, int qmin, int qmax) {
    CONDENSE_GRID_STRIDE(i, n) {
        int c = cq_channel(i, channels, inner);
        float v = cq_grid(x[i], scale[c], zp ? zp[c] : 0);
        dx[i] = (v >= (float)qmin && v <= (float)qmax) ? dy[i] : 0.f;
    }
}

// LSQ backward. Launch: grid.y walks channels (c = blockIdx.y, += gridDim.y), grid.x splits the outer*inner
// elements of a channel; dscale[channels] must be zeroed before the launch and receives
// gradScale * sum(dy * g) through one float atomicAdd per block (summation order is not deterministic).
__global__ void fq_backward_lsq(const float* __restrict__ x, const float* __restrict__ dy, float* __restrict__ dx,
                                float* __restrict__ dscale, const float* __restrict__ scale, const int* __restrict__ zp,
                                long long outer, int channels, long long inner, int qmin, int qmax, float gradScale) {
    long long per = outer * inner;
    for (int c = blockIdx.y; c < channels; c += gridDim.y) {
        float s = scale[c];
        int z = zp ? zp[c] : 0;
        float part = 0.f;
        for (long long j = (long long)blockIdx.x * blockDim.x + threadIdx.x; j < per; j += (long long)gridDim.x * blockDim.x) {
            long long o = j / inner, in = j - o * inner;
            long long i = (o * channels + c) * inner + in;
            float xs = __fdiv_rn(x[i], s);
            float r = rintf(xs);
            float v = r + (float)z;
            float g, d = 0.f;
            if (v >= (float)qmin && v <= (float)qmax) { g = r - xs; d = dy[i]; }
            else if (v < (float)qmin) g = (float)(qmin - z);
            else if (v > (float)qmax) g = (float)(qmax - z);
            else g = 0.f;  // NaN
            dx[i] = d;
            if (g != 0.f) part += dy[i] * g;
        }
        float sum = cq_block_sum(part);
        if (threadIdx.x == 0) atomicAdd(&dscale[c], sum * gradScale);
    }
}

}  // extern "C"
