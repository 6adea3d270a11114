// Shared helpers for condense's CUDA kernels. Every kernel is extern "C" (stable names for cuModuleGetFunction),
// uses 64-bit element indices and grid-stride loops, and spells out rounding (__fdiv_rn, __fmul_rn, rintf) so the
// results do not depend on -use_fast_math or FMA contraction. The Java references in
// src/main/java/io/condense/backend/cuda/ref define the exact semantics.
#pragma once
#if defined(__CUDACC_RTC__) || defined(CONDENSE_NO_STDINT)  // NVRTC (CudaKernels' run-time compilation path) has no C library headers
typedef signed char int8_t;
typedef unsigned char uint8_t;
typedef unsigned short uint16_t;
#else
#include <stdint.h>
#endif

#define CONDENSE_GRID_STRIDE(i, n) \
    for (long long i = (long long)blockIdx.x * blockDim.x + threadIdx.x; i < (n); i += (long long)gridDim.x * blockDim.x)

// rint(x / s) + z, before clamping (float32; half-to-even).
__device__ __forceinline__ float cq_grid(float x, float s, int z) { return rintf(__fdiv_rn(x, s)) + (float)z; }

// Clamp to [qmin, qmax]; NaN stays NaN (both comparisons are false).
__device__ __forceinline__ float cq_clamp(float v, int qmin, int qmax) {
    return v < (float)qmin ? (float)qmin : (v > (float)qmax ? (float)qmax : v);
}

// Channel of flat element i in a [outer, channels, inner] layout.
__device__ __forceinline__ int cq_channel(long long i, int channels, long long inner) {
    return channels == 1 ? 0 : (int)((i / inner) % channels);
}

// Sum over a block (blockDim.x a multiple of 32, at most 1024); the result is valid in thread 0.
__device__ __forceinline__ float cq_block_sum(float v) {
    __shared__ float warpSums[32];
    for (int o = 16; o > 0; o >>= 1) v += __shfl_down_sync(0xffffffffu, v, o);
    int lane = threadIdx.x & 31, warp = threadIdx.x >> 5;
    if (lane == 0) warpSums[warp] = v;
    __syncthreads();
    v = threadIdx.x < (blockDim.x >> 5) ? warpSums[lane] : 0.f;
    if (warp == 0) for (int o = 16; o > 0; o >>= 1) v += __shfl_down_sync(0xffffffffu, v, o);
    __syncthreads();
    return v;
}

// Max over a block of non-negative values (NaN never enters: callers use `a > m`); valid in thread 0.
__device__ __forceinline__ float cq_block_max(float v) {
    __shared__ float warpMax[32];
    for (int o = 16; o > 0; o >>= 1) v = fmaxf(v, __shfl_down_sync(0xffffffffu, v, o));
    int lane = threadIdx.x & 31, warp = threadIdx.x >> 5;
    if (lane == 0) warpMax[warp] = v;
    __syncthreads();
    v = threadIdx.x < (blockDim.x >> 5) ? warpMax[lane] : 0.f;
    if (warp == 0) for (int o = 16; o > 0; o >>= 1) v = fmaxf(v, __shfl_down_sync(0xffffffffu, v, o));
    __syncthreads();
    return v;
}
