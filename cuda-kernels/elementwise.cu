// Elementwise float32 kernels for the CUDA executor (io.condense.backend.cuda.CudaSession).
// Unary ops: op codes in ElementwiseOps.java (keep in sync). Binary ops broadcast NumPy-style up to rank 8:
// meta (device, int64) = outShape[rank], aStride[rank], bStride[rank] with stride 0 on broadcast dimensions.
#include "common.cuh"

enum { U_RELU = 0, U_SIGMOID, U_TANH, U_EXP, U_LOG, U_SQRT, U_NEG, U_ABS, U_LEAKY_RELU, U_CLIP, U_IDENTITY, U_ERF,
       U_GELU, U_RECIPROCAL };
enum { B_ADD = 0, B_SUB, B_MUL, B_DIV, B_MAX, B_MIN, B_POW };

__device__ __forceinline__ float ew_unary_op(int op, float x, float alpha, float beta) {
    switch (op) {
        case U_RELU: return x > 0.f ? x : (x == x ? 0.f : x);  // NaN stays NaN, as ONNX Runtime's Relu
        case U_SIGMOID: return 1.f / (1.f + expf(-x));
        case U_TANH: return tanhf(x);
        case U_EXP: return expf(x);
        case U_LOG: return logf(x);
        case U_SQRT: return sqrtf(x);
        case U_NEG: return -x;
        case U_ABS: return fabsf(x);
        case U_LEAKY_RELU: return x >= 0.f ? x : alpha * x;
        case U_CLIP: return fminf(fmaxf(x, alpha), beta);
        case U_ERF: return erff(x);
        case U_GELU: return 0.5f * x * (1.f + erff(x * 0.70710678118654752f));
        case U_RECIPROCAL: return 1.f / x;
        default: return x;  // U_IDENTITY
    }
}

__device__ __forceinline__ float ew_binary_op(int op, float a, float b) {
    switch (op) {
        case B_ADD: return a + b;
        case B_SUB: return a - b;
        case B_MUL: return a * b;
        case B_DIV: return a / b;
        case B_MAX: return fmaxf(a, b);
        case B_MIN: return fminf(a, b);
        default: return powf(a, b);  // B_POW
    }
}

extern "C" {

__global__ void ew_unary(int op, const float* __restrict__ x, float* __restrict__ y, long long n, float alpha, float beta) {
    CONDENSE_GRID_STRIDE(i, n) y[i] = ew_unary_op(op, x[i], alpha, beta);
}

// 16-byte loads/stores; n4 = n / 4, x and y 16-byte aligned (pool blocks are 256-byte aligned). The host runs
// ew_unary on the n % 4 tail.
__global__ void ew_unary_v4(int op, const float4* __restrict__ x, float4* __restrict__ y, long long n4, float alpha, float beta) {
    CONDENSE_GRID_STRIDE(i, n4) {
        float4 v = x[i];
        v.x = ew_unary_op(op, v.x, alpha, beta);
        v.y = ew_unary_op(op, v.y, alpha, beta);
        v.z = ew_unary_op(op, v.z, alpha, beta);
        v.w = ew_unary_op(op, v.w, alpha, beta);
        y[i] = v;
    }
}

// Same-shape operands.
__global__ void ew_binary_same(int op, const float* __restrict__ a, const float* __restrict__ b, float* __restrict__ y, long long n) {
    CONDENSE_GRID_STRIDE(i, n) y[i] = ew_binary_op(op, a[i], b[i]);
}

// General broadcast: meta = outShape[rank] ++ aStride[rank] ++ bStride[rank].
__global__ void ew_binary_bcast(int op, const float* __restrict__ a, const float* __restrict__ b, float* __restrict__ y,
                                long long n, int rank, const long long* __restrict__ meta) {
    CONDENSE_GRID_STRIDE(i, n) {
        long long rem = i, ia = 0, ib = 0;
        for (int d = rank - 1; d >= 0; d--) {
            long long dim = meta[d];
            long long idx = rem % dim;
            rem /= dim;
            ia += idx * meta[rank + d];
            ib += idx * meta[2 * rank + d];
        }
        y[i] = ew_binary_op(op, a[ia], b[ib]);
    }
}

// y[r, c] = x[r, c] + bias[c] (Gemm's C with shape [N] or [1, N]); rows x cols row-major.
__global__ void ew_add_row_bias(const float* __restrict__ x, const float* __restrict__ bias, float* __restrict__ y,
                                long long rows, int cols) {
    CONDENSE_GRID_STRIDE(i, rows * cols) y[i] = x[i] + bias[i % cols];
}

// y[n, c, ...] += bias[c]: Conv bias on an NCHW output, inner = H * W.
__global__ void ew_add_channel_bias(float* __restrict__ y, const float* __restrict__ bias, long long n, int channels, long long inner) {
    CONDENSE_GRID_STRIDE(i, n) y[i] += bias[(i / inner) % channels];
}

__global__ void ew_fill(float* __restrict__ y, float v, long long n) {
    CONDENSE_GRID_STRIDE(i, n) y[i] = v;
}

}  // extern "C"
