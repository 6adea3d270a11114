package io.condense.bench;

import io.condense.backend.cuda.CudaDevice;
import io.condense.backend.cuda.CudaException;
import io.condense.backend.cuda.CudaKernels;
import io.condense.backend.cuda.CudaMemory;
import io.condense.backend.cuda.CudaRuntime;
import io.condense.backend.cuda.CudaStream;
import io.condense.backend.cuda.DeviceBuffer;
import io.condense.backend.cuda.KernelArgs;
import io.condense.backend.cuda.LaunchConfig;
import io.condense.backend.cuda.ref.Sparse24Ref;
import org.bytedeco.cuda.cublas.cublasContext;
import org.bytedeco.cuda.cublas.cublasLtContext;
import org.bytedeco.cuda.cublas.cublasLtMatmulDescOpaque_t;
import org.bytedeco.cuda.cublas.cublasLtMatrixLayoutOpaque_t;
import org.bytedeco.cuda.cudart.CUevent_st;
import org.bytedeco.cuda.global.cublas;
import org.bytedeco.cuda.global.cudart;
import org.bytedeco.javacpp.FloatPointer;
import org.bytedeco.javacpp.IntPointer;
import org.bytedeco.javacpp.Loader;
import org.bytedeco.javacpp.PointerPointer;

import java.util.ArrayList;
import java.util.Arrays;
import java.util.List;
import java.util.Random;

/**
 * GPU benchmarks (WRITTEN BUT NOT YET RUN ON A GPU): memory-bound kernels in GB/s against a device-to-device copy,
 * INT8 GEMM (own dp4a kernel) against cuBLASLt INT8, cuBLAS FP16 and FP32, and the 2:4 sparse kernel against the
 * dense one. Times are medians of CUDA-event-timed repetitions after warm-up. Usage (see ci/README.md):
 * {@code ci/gpu-run.sh bench [--elements N] [--reps R]}.
 */
public final class GpuBench {
    private static final List<String[]> ROWS = new ArrayList<>();
    private static CudaStream stream;
    private static int reps = 20;

    public static void main(String[] args) {
        long n = 1L << 28; // 256 Mi floats = 1 GiB
        for (int i = 0; i < args.length; i++) {
            switch (args[i]) {
                case "--elements" -> n = Long.parseLong(args[++i]);
                case "--reps" -> reps = Integer.parseInt(args[++i]);
                case "--info" -> { info(); return; }
                default -> throw new IllegalArgumentException("unknown option " + args[i]);
            }
        }
        info();
        CudaRuntime.require();
        CudaRuntime.use(0);
        CudaDevice d = CudaRuntime.devices().get(0);
        stream = new CudaStream(true);
        memoryBound(d, n);
        gemms(d);
        System.out.println();
        System.out.printf("%-44s %12s %14s%n", "benchmark (" + d.name() + ")", "median ms", "rate");
        for (String[] r : ROWS) System.out.printf("%-44s %12s %14s%n", r[0], r[1], r[2]);
    }

    static void info() {
        CudaRuntime.Status s = CudaRuntime.status();
        System.out.println("CUDA available: " + s.available() + (s.available() ? "" : " (" + s.reason() + ")")
                + ", driver " + s.driverVersion() + ", runtime " + s.runtimeVersion() + ", devices " + s.devices());
        System.out.println("kernels: " + (CudaKernels.directory() == null ? CudaKernels.missingReason() : CudaKernels.directory()));
    }

    interface Work { void run(); }

    /** Median milliseconds of {@code work} on the stream, timed with events, after 3 warm-ups. */
    static double time(Work work) {
        CUevent_st a = new CUevent_st(), b = new CUevent_st();
        CudaRuntime.check("cudaEventCreate", cudart.cudaEventCreate(a));
        CudaRuntime.check("cudaEventCreate", cudart.cudaEventCreate(b));
        try {
            for (int i = 0; i < 3; i++) work.run();
            double[] t = new double[reps];
            float[] ms = new float[1];
            for (int i = 0; i < reps; i++) {
                CudaRuntime.check("cudaEventRecord", cudart.cudaEventRecord(a, stream.handle()));
                work.run();
                CudaRuntime.check("cudaEventRecord", cudart.cudaEventRecord(b, stream.handle()));
                CudaRuntime.check("cudaEventSynchronize", cudart.cudaEventSynchronize(b));
                CudaRuntime.check("cudaEventElapsedTime", cudart.cudaEventElapsedTime(ms, a, b));
                t[i] = ms[0];
            }
            CudaRuntime.check("after benchmark", cudart.cudaGetLastError());
            Arrays.sort(t);
            return t[reps / 2];
        } finally {
            cudart.cudaEventDestroy(a);
            cudart.cudaEventDestroy(b);
        }
    }

    static void row(String name, double ms, String rate) { ROWS.add(new String[] {name, String.format("%.3f", ms), rate}); }

    static String gbs(double bytes, double ms) { return String.format("%.0f GB/s", bytes / ms / 1e6); }

    static String tops(double ops, double ms) { return String.format("%.1f TOPS", ops / ms / 1e9); }

    /** Fills a device buffer with random floats (a 16 MiB random block copied over it). */
    static void randomFloats(DeviceBuffer b, long count, long seed) {
        int chunk = (int) Math.min(count, 1 << 22);
        float[] h = new float[chunk];
        Random r = new Random(seed);
        for (int i = 0; i < chunk; i++) h[i] = (float) r.nextGaussian();
        try (DeviceBuffer src = DeviceBuffer.allocate(4L * chunk)) {
            CudaMemory.upload(src, h);
            for (long off = 0; off < count; off += chunk) {
                long len = Math.min(chunk, count - off);
                CudaRuntime.check("cudaMemcpy D2D", cudart.cudaMemcpy(CudaRuntime.pointer(b.address() + 4 * off), src.pointer(), 4 * len,
                        cudart.cudaMemcpyDeviceToDevice));
            }
        }
    }

    static void launch(String module, String kernel, LaunchConfig cfg, KernelArgs a) {
        CudaKernels.module(module).launch(kernel, cfg, stream, a);
    }

    static void memoryBound(CudaDevice d, long n) {
        int sms = d.multiprocessors();
        LaunchConfig flat = LaunchConfig.elementwise(n, 256, 1, sms, 16);
        LaunchConfig flat4 = LaunchConfig.elementwise(n / 4, 256, 1, sms, 16);
        try (DeviceBuffer x = DeviceBuffer.allocate(4 * n); DeviceBuffer y = DeviceBuffer.allocate(4 * n);
             DeviceBuffer scale = DeviceBuffer.allocate(4 * 4096); DeviceBuffer q = DeviceBuffer.allocate(n);
             DeviceBuffer out = DeviceBuffer.allocate(4 * 4096); DeviceBuffer hist = DeviceBuffer.allocate(4 * 2048)) {
            randomFloats(x, n, 1);
            float[] s = new float[4096];
            Arrays.fill(s, 0.05f);
            CudaMemory.upload(scale, s);
            double copy = time(() -> CudaRuntime.check("cudaMemcpyAsync", cudart.cudaMemcpyAsync(y.pointer(), x.pointer(), 4 * n,
                    cudart.cudaMemcpyDeviceToDevice, stream.handle())));
            row("D2D copy (read+write)", copy, gbs(8.0 * n, copy));
            try (KernelArgs a = new KernelArgs().i32(0).ptr(x).ptr(y).i64(n).f32(0).f32(0)) {
                double t = time(() -> launch("elementwise", "ew_unary", flat, a));
                row("relu ew_unary (4B in, 4B out)", t, gbs(8.0 * n, t));
            }
            try (KernelArgs a = new KernelArgs().i32(0).ptr(x).ptr(y).i64(n / 4).f32(0).f32(0)) {
                double t = time(() -> launch("elementwise", "ew_unary_v4", flat4, a));
                row("relu ew_unary_v4 (float4)", t, gbs(8.0 * n, t));
            }
            try (KernelArgs a = new KernelArgs().ptr(x).ptr(y).ptr(scale).ptr(0L).i64(n).i32(1).i64(n).i32(-128).i32(127)) {
                double t = time(() -> launch("fakequant", "fq_forward", flat, a));
                row("fake-quant INT8 per-tensor", t, gbs(8.0 * n, t));
            }
            try (KernelArgs a = new KernelArgs().ptr(x).ptr(y).ptr(scale).ptr(0L).i64(n).i32(4096).i64(n / 4096).i32(-8).i32(7)) {
                double t = time(() -> launch("fakequant", "fq_forward", flat, a));
                row("fake-quant INT4 per-channel (4096)", t, gbs(8.0 * n, t));
            }
            try (KernelArgs a = new KernelArgs().ptr(x).ptr(q).ptr(scale).ptr(0L).i64(n).i32(4096).i64(n / 4096).i32(-128).i32(127)) {
                double t = time(() -> launch("quant", "quantize_per_channel_s8", flat, a));
                row("quantize INT8 per-channel (4B in, 1B out)", t, gbs(5.0 * n, t));
            }
            try (KernelArgs a = new KernelArgs().ptr(x).i64(n).ptr(out)) {
                double t = time(() -> launch("calib", "absmax_per_tensor", flat, a));
                row("abs-max per tensor (4B in)", t, gbs(4.0 * n, t));
            }
            try (KernelArgs a = new KernelArgs().ptr(x).i64(n).f32(2048f / 4f).i32(2048).ptr(hist)) {
                LaunchConfig h = new LaunchConfig(flat.gridX(), 1, 256, 4 * 2048);
                double t = time(() -> launch("calib", "histogram_abs", h, a));
                row("histogram 2048 bins (4B in)", t, gbs(4.0 * n, t));
            }
            try (KernelArgs a = new KernelArgs().ptr(x).ptr(y).ptr(0L).i64(n / 4)) {
                double t = time(() -> launch("sparse24", "sparse24_prune", flat4, a));
                row("2:4 prune (4B in, 4B out)", t, gbs(8.0 * n, t));
            }
        }
    }

    static void gemms(CudaDevice d) {
        try {
            Loader.load(cublas.class);
        } catch (Throwable t) {
            System.out.println("cuBLAS not loadable: " + CudaRuntime.status().reason() + " " + t);
        }
        cublasContext h = new cublasContext();
        check("cublasCreate", cublas.cublasCreate_v2(h));
        check("cublasSetStream", cublas.cublasSetStream_v2(h, stream.handle()));
        cublasLtContext lt = new cublasLtContext();
        check("cublasLtCreate", cublas.cublasLtCreate(lt));
        for (int[] mnk : new int[][] {{4096, 4096, 4096}, {128, 4096, 4096}, {16, 4096, 4096}}) {
            int m = mnk[0], n = mnk[1], k = mnk[2];
            String sz = m + "x" + n + "x" + k;
            double ops = 2.0 * m * n * k;
            try (DeviceBuffer a8 = DeviceBuffer.allocate((long) m * k); DeviceBuffer b8 = DeviceBuffer.allocate((long) n * k);
                 DeviceBuffer y = DeviceBuffer.allocate(4L * m * n); DeviceBuffer s = DeviceBuffer.allocate(4L * n);
                 DeviceBuffer bv = DeviceBuffer.allocate((long) n * k / 2); DeviceBuffer bm = DeviceBuffer.allocate(2L * n * (k / 16));
                 DeviceBuffer af = DeviceBuffer.allocate(4L * m * k); DeviceBuffer bf = DeviceBuffer.allocate(4L * n * k);
                 DeviceBuffer ws = DeviceBuffer.allocate(32L << 20)) {
                byte[] ha = new byte[m * k], hb = new byte[n * k];
                Random r = new Random(m);
                r.nextBytes(ha);
                r.nextBytes(hb);
                CudaMemory.upload(a8, ha);
                CudaMemory.upload(b8, hb);
                float[] hs = new float[n];
                Arrays.fill(hs, 1e-3f);
                CudaMemory.upload(s, hs);
                randomFloats(af, (long) m * k, 2);
                randomFloats(bf, (long) n * k, 3);
                // 2:4 operands from the random weights
                float[] w = new float[n * k];
                for (int i = 0; i < w.length; i++) w[i] = hb[i];
                Sparse24Ref.Compressed c = Sparse24Ref.compress(w, n, k);
                CudaMemory.upload(bv, Sparse24Ref.compressValues(hb, c.meta(), n, k));
                byte[] meta = new byte[2 * c.meta().length];
                java.nio.ByteBuffer.wrap(meta).order(java.nio.ByteOrder.LITTLE_ENDIAN).asShortBuffer().put(c.meta());
                CudaMemory.upload(bm, meta);

                LaunchConfig tiles = LaunchConfig.tiles2d(m, n, 64, 64, 256, 0);
                try (KernelArgs ka = new KernelArgs().ptr(a8).ptr(b8).ptr(y).ptr(s).ptr(0L).i32(m).i32(n).i32(k)) {
                    double t = time(() -> launch("int8_gemm", "int8_gemm_dp4a", tiles, ka));
                    row("INT8 dp4a GEMM " + sz, t, tops(ops, t));
                }
                try (KernelArgs ka = new KernelArgs().ptr(a8).ptr(b8).ptr(y).ptr(s).ptr(0L).i32(m).i32(n).i32(k)) {
                    LaunchConfig t128 = LaunchConfig.tiles2d(m, n, 64, 64, 128, 0);
                    double t = time(() -> launch("int8_gemm", "int8_gemm_mma", t128, ka));
                    row("INT8 mma.sync GEMM " + sz, t, tops(ops, t));
                }
                try (KernelArgs ka = new KernelArgs().ptr(a8).ptr(bv).ptr(bm).ptr(y).ptr(s).ptr(0L).i32(m).i32(n).i32(k)) {
                    double t = time(() -> launch("int8_gemm", "int8_gemm_sparse24_dp4a", tiles, ka));
                    row("INT8 2:4 dp4a GEMM " + sz + " (dense-equiv)", t, tops(ops, t));
                }
                try (FloatPointer one = new FloatPointer(1f); FloatPointer zero = new FloatPointer(0f)) {
                    double t = time(() -> check("cublasSgemm", cublas.cublasSgemm_v2(h, cublas.CUBLAS_OP_T, cublas.CUBLAS_OP_N, n, m, k, one,
                            new FloatPointer(bf.pointer()), k, new FloatPointer(af.pointer()), k, zero, new FloatPointer(y.pointer()), n)));
                    row("cuBLAS SGEMM fp32 " + sz, t, tops(ops, t));
                    // FP16 operands: reinterpret the float buffers' first halves as half data (values irrelevant for timing
                    // but finite: the bit patterns of N(0,1) floats' low/high halves are finite halves or subnormals)
                    double t16 = time(() -> check("cublasGemmEx fp16", cublas.cublasGemmEx(h, cublas.CUBLAS_OP_T, cublas.CUBLAS_OP_N, n, m, k,
                            one, bf.pointer(), cudart.CUDA_R_16F, k, af.pointer(), cudart.CUDA_R_16F, k, zero, y.pointer(),
                            cudart.CUDA_R_32F, n, cublas.CUBLAS_COMPUTE_32F, cublas.CUBLAS_GEMM_DEFAULT)));
                    row("cuBLAS GemmEx fp16->fp32 " + sz, t16, tops(ops, t16));
                }
                double tlt = ltInt8(lt, a8, b8, y, ws, m, n, k);
                if (tlt > 0) row("cuBLASLt INT8->INT32 " + sz, tlt, tops(ops, tlt));
            } catch (CudaException e) {
                row("GEMM " + sz + " failed: " + e.getMessage(), 0, "-");
            }
        }
        cublas.cublasLtDestroy(lt);
        cublas.cublasDestroy_v2(h);
    }

    /** cuBLASLt INT8 GEMM, TN layout (A^T from our row-major [M,K], B as column-major [K,N]), int32 output. */
    static double ltInt8(cublasLtContext lt, DeviceBuffer a, DeviceBuffer b, DeviceBuffer c, DeviceBuffer ws, int m, int n, int k) {
        PointerPointer<cublasLtMatmulDescOpaque_t> pd = new PointerPointer<>(1);
        PointerPointer<cublasLtMatrixLayoutOpaque_t> pa = new PointerPointer<>(1), pb = new PointerPointer<>(1), pc = new PointerPointer<>(1);
        check("cublasLtMatmulDescCreate", cublas.cublasLtMatmulDescCreate(pd, cublas.CUBLAS_COMPUTE_32I, cudart.CUDA_R_32I));
        cublasLtMatmulDescOpaque_t desc = pd.get(cublasLtMatmulDescOpaque_t.class, 0);
        try (IntPointer opT = new IntPointer(new int[] {cublas.CUBLAS_OP_T}); IntPointer one = new IntPointer(new int[] {1});
             IntPointer zero = new IntPointer(new int[] {0})) {
            check("cublasLtMatmulDescSetAttribute", cublas.cublasLtMatmulDescSetAttribute(desc, cublas.CUBLASLT_MATMUL_DESC_TRANSA, opT, 4));
            check("cublasLtMatrixLayoutCreate", cublas.cublasLtMatrixLayoutCreate(pa, cudart.CUDA_R_8I, k, m, k));
            check("cublasLtMatrixLayoutCreate", cublas.cublasLtMatrixLayoutCreate(pb, cudart.CUDA_R_8I, k, n, k));
            check("cublasLtMatrixLayoutCreate", cublas.cublasLtMatrixLayoutCreate(pc, cudart.CUDA_R_32I, m, n, m));
            cublasLtMatrixLayoutOpaque_t la = pa.get(cublasLtMatrixLayoutOpaque_t.class, 0), lb = pb.get(cublasLtMatrixLayoutOpaque_t.class, 0),
                    lc = pc.get(cublasLtMatrixLayoutOpaque_t.class, 0);
            try {
                return time(() -> check("cublasLtMatmul", cublas.cublasLtMatmul(lt, desc, one, a.pointer(), la, b.pointer(), lb, zero,
                        c.pointer(), lc, c.pointer(), lc, null, ws.pointer(), ws.bytes(), stream.handle())));
            } catch (CudaException e) {
                row("cuBLASLt INT8 " + m + "x" + n + "x" + k + " failed: " + e.errorName(), 0, "-");
                return -1;
            } finally {
                cublas.cublasLtMatrixLayoutDestroy(la);
                cublas.cublasLtMatrixLayoutDestroy(lb);
                cublas.cublasLtMatrixLayoutDestroy(lc);
                cublas.cublasLtMatmulDescDestroy(desc);
            }
        }
    }

    static void check(String call, int rc) {
        if (rc != 0) throw new CudaException(call, rc, cublas.cublasGetStatusName(rc).getString());
    }
}
