// INT8 GEMM (CUDA cores: dp4a; tensor cores: mma.sync) with int32 accumulation and per-output-channel dequantized float output:
//   Y[m, n] = bias ? fma((float)acc, scale[n], bias[n]) : (float)acc * scale[n],  acc = sum_k A[m,k] * B[n,k]
// A: int8 [M, K] row-major (activations), B: int8 [N, K] row-major (weights [out, in]), scale[n] = sA * sB[n].
// Semantics: io.condense.backend.cuda.ref.Int8GemmRef (results must match exactly).
//
// int8_gemm_dp4a: CUDA-core kernel with __dp4a (4 int8 MACs per instruction), 64x64 tile per 256-thread block,
//   4x4 outputs per thread. Needs K % 4 == 0 and 4-byte aligned rows (the host pads K with zeros).
//   Portable CUDA-core path. Faster: int8_gemm_mma below (tensor cores) and cuBLASLt (CUDA_R_8I inputs,
//   CUBLAS_COMPUTE_32I), which benchmarks/gpu compares against.
// int8_gemm_mma: tensor cores through mma.sync.aligned.m16n8k32.row.col.s32.s8.s8.s32 (sm_80 and later; on sm_90
//   the faster wgmma path is not used). 128-thread blocks (4 warps) on a 64x64 tile, each warp 32x32 = 2x4 mma tiles,
//   K tiles of 64 bytes through padded shared memory (row stride 20 words: conflict-free fragment loads).
//   Same operands, K % 4 == 0 requirement and epilogue as int8_gemm_dp4a, so it must match it exactly.
// int8_gemm_sparse24_dp4a: B given 2:4-compressed (values [N, K/2] + metadata [N, K/16] uint16). Per 8 K elements
//   one __byte_perm gathers the 4 activation bytes that meet the 4 kept weights, then one __dp4a: half the weight
//   bytes and half the MACs of the dense kernel. Needs K % 32 == 0. Tensor-core 2:4 (mma.sp on sm_80/sm_90) is
//   NOT implemented here: the intended fast path is cuSPARSELt (libcusparseLt.so.0, shipped as
//   nvidia-cusparselt-cu13), for which the JavaCPP presets 1.5.14 have no binding; see native/README.md.
#include "common.cuh"

#define TM 64
#define TN 64
#define TKW 8  // K tile in 32-bit words (32 int8 values)

__device__ __forceinline__ float ig_epilogue(int acc, float s, const float* __restrict__ bias, int n) {
    float f = __int2float_rn(acc);
    return bias ? __fmaf_rn(f, s, bias[n]) : __fmul_rn(f, s);
}

extern "C" {

__global__ void __launch_bounds__(256) int8_gemm_dp4a(const int8_t* __restrict__ A, const int8_t* __restrict__ B,
                                                      float* __restrict__ Y, const float* __restrict__ scale,
                                                      const float* __restrict__ bias, int M, int N, int K) {
    __shared__ int As[TM][TKW + 1];
    __shared__ int Bs[TN][TKW + 1];
    const int tx = threadIdx.x & 15, ty = threadIdx.x >> 4;
    const int m0 = blockIdx.y * TM, n0 = blockIdx.x * TN;
    const int K4 = K >> 2;
    const int* A4 = reinterpret_cast<const int*>(A);
    const int* B4 = reinterpret_cast<const int*>(B);
    int acc[4][4];
#pragma unroll
    for (int i = 0; i < 4; i++)
#pragma unroll
        for (int j = 0; j < 4; j++) acc[i][j] = 0;

    for (int k0 = 0; k0 < K4; k0 += TKW) {
        for (int l = threadIdx.x; l < TM * TKW; l += blockDim.x) {
            int r = l / TKW, c = l % TKW, gk = k0 + c;
            int gm = m0 + r, gn = n0 + r;
            As[r][c] = (gm < M && gk < K4) ? A4[(size_t)gm * K4 + gk] : 0;
            Bs[r][c] = (gn < N && gk < K4) ? B4[(size_t)gn * K4 + gk] : 0;
        }
        __syncthreads();
#pragma unroll
        for (int c = 0; c < TKW; c++) {
            int a[4], b[4];
#pragma unroll
            for (int i = 0; i < 4; i++) a[i] = As[ty + 16 * i][c];
#pragma unroll
            for (int j = 0; j < 4; j++) b[j] = Bs[tx + 16 * j][c];
#pragma unroll
            for (int i = 0; i < 4; i++)
#pragma unroll
                for (int j = 0; j < 4; j++) acc[i][j] = __dp4a(a[i], b[j], acc[i][j]);
        }
        __syncthreads();
    }
#pragma unroll
    for (int i = 0; i < 4; i++) {
        int m = m0 + ty + 16 * i;
        if (m >= M) continue;
#pragma unroll
        for (int j = 0; j < 4; j++) {
            int n = n0 + tx + 16 * j;
            if (n < N) Y[(size_t)m * N + n] = ig_epilogue(acc[i][j], scale[n], bias, n);
        }
    }
}

#define MMA_TKW 16      // K tile in 32-bit words (64 int8 values)
#define MMA_STRIDE 20   // padded row stride in words

__device__ __forceinline__ void mma_s8_16x8x32(int (&c)[4], int a0, int a1, int a2, int a3, int b0, int b1) {
#if defined(__CUDA_ARCH__) && __CUDA_ARCH__ >= 800
    asm volatile("mma.sync.aligned.m16n8k32.row.col.s32.s8.s8.s32 {%0,%1,%2,%3}, {%4,%5,%6,%7}, {%8,%9}, {%0,%1,%2,%3};\n"
                 : "+r"(c[0]), "+r"(c[1]), "+r"(c[2]), "+r"(c[3])
                 : "r"(a0), "r"(a1), "r"(a2), "r"(a3), "r"(b0), "r"(b1));
#else
    __trap();  // built for sm_80+ only (build.sh); never reached
#endif
}

__global__ void __launch_bounds__(128) int8_gemm_mma(const int8_t* __restrict__ A, const int8_t* __restrict__ B,
                                                     float* __restrict__ Y, const float* __restrict__ scale,
                                                     const float* __restrict__ bias, int M, int N, int K) {
    __shared__ int As[TM * MMA_STRIDE];
    __shared__ int Bs[TN * MMA_STRIDE];
    const int lane = threadIdx.x & 31, warp = threadIdx.x >> 5;
    const int g = lane >> 2, t = lane & 3;                  // groupID, threadID_in_group
    const int wm = (warp >> 1) * 32, wn = (warp & 1) * 32;  // warp's 32x32 sub-tile
    const int m0 = blockIdx.y * TM, n0 = blockIdx.x * TN;
    const int K4 = K >> 2;
    const int* A4 = reinterpret_cast<const int*>(A);
    const int* B4 = reinterpret_cast<const int*>(B);
    int acc[2][4][4];
#pragma unroll
    for (int i = 0; i < 2; i++)
#pragma unroll
        for (int j = 0; j < 4; j++)
#pragma unroll
            for (int e = 0; e < 4; e++) acc[i][j][e] = 0;

    for (int k0 = 0; k0 < K4; k0 += MMA_TKW) {
        for (int l = threadIdx.x; l < TM * MMA_TKW; l += blockDim.x) {
            int r = l / MMA_TKW, c = l % MMA_TKW, gk = k0 + c;
            int gm = m0 + r, gn = n0 + r;
            As[r * MMA_STRIDE + c] = (gm < M && gk < K4) ? A4[(size_t)gm * K4 + gk] : 0;
            Bs[r * MMA_STRIDE + c] = (gn < N && gk < K4) ? B4[(size_t)gn * K4 + gk] : 0;
        }
        __syncthreads();
#pragma unroll
        for (int kk = 0; kk < MMA_TKW; kk += 8) {  // two k32 steps per tile
            int a[2][4], b[4][2];
#pragma unroll
            for (int i = 0; i < 2; i++) {
                const int* r0 = As + (wm + 16 * i + g) * MMA_STRIDE + kk + t;
                const int* r8 = r0 + 8 * MMA_STRIDE;
                a[i][0] = r0[0]; a[i][1] = r8[0]; a[i][2] = r0[4]; a[i][3] = r8[4];
            }
#pragma unroll
            for (int j = 0; j < 4; j++) {
                const int* c0 = Bs + (wn + 8 * j + g) * MMA_STRIDE + kk + t;
                b[j][0] = c0[0]; b[j][1] = c0[4];
            }
#pragma unroll
            for (int i = 0; i < 2; i++)
#pragma unroll
                for (int j = 0; j < 4; j++) mma_s8_16x8x32(acc[i][j], a[i][0], a[i][1], a[i][2], a[i][3], b[j][0], b[j][1]);
        }
        __syncthreads();
    }
#pragma unroll
    for (int i = 0; i < 2; i++)
#pragma unroll
        for (int j = 0; j < 4; j++)
#pragma unroll
            for (int e = 0; e < 4; e++) {
                int m = m0 + wm + 16 * i + g + (e >> 1) * 8;
                int n = n0 + wn + 8 * j + 2 * t + (e & 1);
                if (m < M && n < N) Y[(size_t)m * N + n] = ig_epilogue(acc[i][j][e], scale[n], bias, n);
            }
}

// Bv: int8 [N, K/2] kept weights, Bm: uint16 [N, K/16] metadata (Sparse24Ref layout). K % 32 == 0.
__global__ void __launch_bounds__(256) int8_gemm_sparse24_dp4a(const int8_t* __restrict__ A, const int8_t* __restrict__ Bv,
                                                               const uint16_t* __restrict__ Bm, float* __restrict__ Y,
                                                               const float* __restrict__ scale, const float* __restrict__ bias,
                                                               int M, int N, int K) {
    __shared__ int As[TM][TKW + 1];        // 32 activations per row
    __shared__ int Bs[TN][TKW / 2 + 1];    // their 16 kept weights per row
    __shared__ unsigned int Ms[TN];        // 8 groups x 4 bits of metadata per row
    const int tx = threadIdx.x & 15, ty = threadIdx.x >> 4;
    const int m0 = blockIdx.y * TM, n0 = blockIdx.x * TN;
    const int K4 = K >> 2, KV4 = K >> 3, KM = K >> 4;
    const int* A4 = reinterpret_cast<const int*>(A);
    const int* B4 = reinterpret_cast<const int*>(Bv);
    int acc[4][4];
#pragma unroll
    for (int i = 0; i < 4; i++)
#pragma unroll
        for (int j = 0; j < 4; j++) acc[i][j] = 0;

    for (int k0 = 0; k0 < K4; k0 += TKW) {
        for (int l = threadIdx.x; l < TM * TKW; l += blockDim.x) {
            int r = l / TKW, c = l % TKW, gm = m0 + r;
            As[r][c] = gm < M ? A4[(size_t)gm * K4 + k0 + c] : 0;
        }
        for (int l = threadIdx.x; l < TN * (TKW / 2); l += blockDim.x) {
            int r = l / (TKW / 2), c = l % (TKW / 2), gn = n0 + r;
            Bs[r][c] = gn < N ? B4[(size_t)gn * KV4 + k0 / 2 + c] : 0;
        }
        if (threadIdx.x < TN) {
            int gn = n0 + threadIdx.x, w = k0 >> 2;  // metadata word index: 16 K values per word
            Ms[threadIdx.x] = gn < N ? ((unsigned)Bm[(size_t)gn * KM + w] | ((unsigned)Bm[(size_t)gn * KM + w + 1] << 16)) : 0u;
        }
        __syncthreads();
        unsigned int meta[4];
#pragma unroll
        for (int j = 0; j < 4; j++) meta[j] = Ms[tx + 16 * j];
#pragma unroll
        for (int p = 0; p < 4; p++) {  // groups 2p and 2p+1 = activation words 2p, 2p+1 = weight word p
            int a0[4], a1[4], b[4];
            unsigned sel[4];
#pragma unroll
            for (int i = 0; i < 4; i++) { a0[i] = As[ty + 16 * i][2 * p]; a1[i] = As[ty + 16 * i][2 * p + 1]; }
#pragma unroll
            for (int j = 0; j < 4; j++) {
                b[j] = Bs[tx + 16 * j][p];
                unsigned nb = (meta[j] >> (8 * p)) & 0xFFu;
                unsigned g0 = nb & 0xFu, g1 = nb >> 4;
                sel[j] = (g0 & 3u) | ((g0 >> 2) << 4) | ((4u + (g1 & 3u)) << 8) | ((4u + (g1 >> 2)) << 12);
            }
#pragma unroll
            for (int i = 0; i < 4; i++)
#pragma unroll
                for (int j = 0; j < 4; j++)
                    acc[i][j] = __dp4a((int)__byte_perm(a0[i], a1[i], sel[j]), b[j], acc[i][j]);
        }
        __syncthreads();
    }
#pragma unroll
    for (int i = 0; i < 4; i++) {
        int m = m0 + ty + 16 * i;
        if (m >= M) continue;
#pragma unroll
        for (int j = 0; j < 4; j++) {
            int n = n0 + tx + 16 * j;
            if (n < N) Y[(size_t)m * N + n] = ig_epilogue(acc[i][j], scale[n], bias, n);
        }
    }
}

// Per-tensor symmetric activation quantization for the GEMM input: q = clamp(rint(x / s), -128, 127), NaN -> 0,
// written into an [M, Kpad] buffer with zero padding for k >= K.
__global__ void quantize_rows_s8_padded(const float* __restrict__ x, int8_t* __restrict__ q, float s, long long M, int K, int Kpad) {
    CONDENSE_GRID_STRIDE(i, M * Kpad) {
        long long m = i / Kpad;
        int k = (int)(i - m * Kpad);
        int v = 0;
        if (k < K) {
            float g = cq_grid(x[m * K + k], s, 0);
            v = isnan(g) ? 0 : (int)cq_clamp(g, -128, 127);
        }
        q[i] = (int8_t)v;
    }
}

}  // extern "C"
