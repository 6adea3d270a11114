package io.condense.backend.cuda;

import io.condense.backend.cuda.ref.ChannelLayout;
import io.condense.backend.cuda.ref.QRange;

/**
 * Typed launchers for the quantization kernels (fakequant.cu, calib.cu, quant.cu, sparse24.cu, int8_gemm.cu) on
 * device buffers. Semantics: the classes in {@code io.condense.backend.cuda.ref}. All launches go on {@code stream}
 * (null = legacy default stream); buffers must stay alive until the stream has run them.
 */
public final class CudaQuantKernels {
    /** Where launches and memsets go: the GPU, or a recorder in tests (checks argument lists without a GPU). */
    interface Launcher {
        void launch(String module, String kernel, LaunchConfig cfg, CudaStream stream, KernelArgs args);

        void memset(DeviceBuffer dst, int value, long bytes, CudaStream stream);
    }

    static final Launcher GPU = new Launcher() {
        @Override
        public void launch(String module, String kernel, LaunchConfig cfg, CudaStream stream, KernelArgs args) {
            CudaKernels.module(module).launch(kernel, cfg, stream, args);
        }

        @Override
        public void memset(DeviceBuffer dst, int value, long bytes, CudaStream stream) { CudaMemory.fill(dst, value, bytes, stream); }
    };

    private final CudaDevice device;
    private final CudaStream stream;
    private final Launcher launcher;
    private static final int BLOCK = 256;

    public CudaQuantKernels(CudaDevice device, CudaStream stream) { this(device, stream, GPU); }

    CudaQuantKernels(CudaDevice device, CudaStream stream, Launcher launcher) {
        this.device = device;
        this.stream = stream;
        this.launcher = launcher;
    }

    private LaunchConfig flat(long n) { return LaunchConfig.elementwise(n, BLOCK, 1, device.multiprocessors(), 8); }

    private LaunchConfig channels(ChannelLayout l) {
        long per = l.outer() * l.inner();
        int maxX = (int) Math.max(1, Math.min(1024, (long) device.multiprocessors() * 8 / Math.max(1, Math.min(l.channels(), 65535)) + 1));
        return LaunchConfig.perChannel(l.channels(), per, BLOCK, maxX);
    }

    private void launch(String module, String kernel, LaunchConfig cfg, CudaStream s, KernelArgs a) {
        try (a) {
            launcher.launch(module, kernel, cfg, s, a);
        }
    }

    /** y = fake-quantized x; zp may be null. */
    public void fakeQuantForward(DeviceBuffer x, DeviceBuffer y, DeviceBuffer scale, DeviceBuffer zp, ChannelLayout l, QRange r) {
        launch("fakequant", "fq_forward", flat(l.size()), stream, new KernelArgs().ptr(x).ptr(y).ptr(scale).ptr(zp)
                .i64(l.size()).i32(l.channels()).i64(l.inner()).i32(r.qmin()).i32(r.qmax()));
    }

    public void fakeQuantBackwardSte(DeviceBuffer x, DeviceBuffer dy, DeviceBuffer dx, DeviceBuffer scale, DeviceBuffer zp,
                                     ChannelLayout l, QRange r) {
        launch("fakequant", "fq_backward_ste", flat(l.size()), stream, new KernelArgs().ptr(x).ptr(dy).ptr(dx).ptr(scale).ptr(zp)
                .i64(l.size()).i32(l.channels()).i64(l.inner()).i32(r.qmin()).i32(r.qmax()));
    }

    /** dscale (channels floats) is zeroed here, then accumulated. */
    public void fakeQuantBackwardLsq(DeviceBuffer x, DeviceBuffer dy, DeviceBuffer dx, DeviceBuffer dscale, DeviceBuffer scale,
                                     DeviceBuffer zp, ChannelLayout l, QRange r, float gradScale) {
        launcher.memset(dscale, 0, 4L * l.channels(), stream);
        launch("fakequant", "fq_backward_lsq", channels(l), stream, new KernelArgs().ptr(x).ptr(dy).ptr(dx).ptr(dscale).ptr(scale)
                .ptr(zp).i64(l.outer()).i32(l.channels()).i64(l.inner()).i32(r.qmin()).i32(r.qmax()).f32(gradScale));
    }

    /** out: one uint (float bits) per channel, zeroed here. Read back with Float.intBitsToFloat. */
    public void absMax(DeviceBuffer x, DeviceBuffer out, ChannelLayout l) {
        launcher.memset(out, 0, 4L * l.channels(), stream);
        if (l.channels() == 1) {
            launch("calib", "absmax_per_tensor", flat(l.size()), stream, new KernelArgs().ptr(x).i64(l.size()).ptr(out));
        } else {
            launch("calib", "absmax_per_channel", channels(l), stream, new KernelArgs().ptr(x).i64(l.outer()).i32(l.channels())
                    .i64(l.inner()).ptr(out));
        }
    }

    /** Adds the |x| histogram into counts (bins uints, NOT zeroed here so that batches accumulate). */
    public void histogram(DeviceBuffer x, long n, float range, int bins, DeviceBuffer counts) {
        LaunchConfig f = flat(n);
        LaunchConfig cfg = new LaunchConfig(f.gridX(), 1, BLOCK, 4 * bins);
        launch("calib", "histogram_abs", cfg, stream, new KernelArgs().ptr(x).i64(n)
                .f32(io.condense.backend.cuda.ref.CalibRef.invBinWidth(bins, range)).i32(bins).ptr(counts));
    }

    public void quantizePerChannel(DeviceBuffer x, DeviceBuffer q, DeviceBuffer scale, DeviceBuffer zp, ChannelLayout l, QRange r) {
        launch("quant", "quantize_per_channel_s8", flat(l.size()), stream, new KernelArgs().ptr(x).ptr(q).ptr(scale).ptr(zp)
                .i64(l.size()).i32(l.channels()).i64(l.inner()).i32(r.qmin()).i32(r.qmax()));
    }

    public void dequantizePerChannel(DeviceBuffer q, DeviceBuffer y, DeviceBuffer scale, DeviceBuffer zp, ChannelLayout l, boolean unsigned) {
        launch("quant", "dequantize_per_channel_s8", flat(l.size()), stream, new KernelArgs().ptr(q).ptr(y).ptr(scale).ptr(zp)
                .i64(l.size()).i32(l.channels()).i64(l.inner()).i32(unsigned ? 1 : 0));
    }

    public void quantizeBlocked(DeviceBuffer x, DeviceBuffer q, DeviceBuffer scale, long rows, int cols, int block, QRange r) {
        launch("quant", "quantize_blocked_s8", flat(rows * cols), stream, new KernelArgs().ptr(x).ptr(q).ptr(scale)
                .i64(rows).i32(cols).i32(block).i32(r.qmin()).i32(r.qmax()));
    }

    public void quantizeInt4Packed(DeviceBuffer x, DeviceBuffer packed, DeviceBuffer scale, DeviceBuffer zp, ChannelLayout l, QRange r) {
        launch("quant", "quantize_int4_packed", flat((l.size() + 1) / 2), stream, new KernelArgs().ptr(x).ptr(packed).ptr(scale)
                .ptr(zp).i64(l.size()).i32(l.channels()).i64(l.inner()).i32(r.qmin()).i32(r.qmax()));
    }

    public void dequantizeInt4Packed(DeviceBuffer packed, DeviceBuffer y, DeviceBuffer scale, DeviceBuffer zp, ChannelLayout l, boolean signed) {
        launch("quant", "dequantize_int4_packed", flat(l.size()), stream, new KernelArgs().ptr(packed).ptr(y).ptr(scale).ptr(zp)
                .i64(l.size()).i32(l.channels()).i64(l.inner()).i32(signed ? 1 : 0));
    }

    /** y = 2:4-pruned x (rows x cols, cols % 4 == 0); mask may be null. */
    public void sparse24Prune(DeviceBuffer x, DeviceBuffer y, DeviceBuffer mask, long elements) {
        launch("sparse24", "sparse24_prune", flat(elements / 4), stream, new KernelArgs().ptr(x).ptr(y).ptr(mask).i64(elements / 4));
    }

    public void sparse24Compress(DeviceBuffer x, DeviceBuffer values, DeviceBuffer meta, long rows, int cols) {
        long words = rows * ((cols / 4 + 3) / 4);
        launch("sparse24", "sparse24_compress", flat(words), stream, new KernelArgs().ptr(x).ptr(values).ptr(meta).i64(rows).i32(cols));
    }

    public void sparse24GatherS8(DeviceBuffer q, DeviceBuffer meta, DeviceBuffer values, long rows, int cols) {
        launch("sparse24", "sparse24_gather_s8", flat(rows * (cols / 4)), stream, new KernelArgs().ptr(q).ptr(meta).ptr(values).i64(rows).i32(cols));
    }

    /** Y[M,N] = dequantized A[M,K] x B[N,K]^T; K % 4 == 0. bias may be null. */
    public void int8Gemm(DeviceBuffer a, DeviceBuffer b, DeviceBuffer y, DeviceBuffer scale, DeviceBuffer bias, int m, int n, int k) {
        if (k % 4 != 0) throw new IllegalArgumentException("int8Gemm needs K % 4 == 0 (pad with zeros), got " + k);
        launch("int8_gemm", "int8_gemm_dp4a", LaunchConfig.tiles2d(m, n, 64, 64, 256, 0), stream,
                new KernelArgs().ptr(a).ptr(b).ptr(y).ptr(scale).ptr(bias).i32(m).i32(n).i32(k));
    }

    /** Same as {@link #int8Gemm} on the tensor cores (mma.sync m16n8k32 s8, sm_80+); must match it exactly. */
    public void int8GemmMma(DeviceBuffer a, DeviceBuffer b, DeviceBuffer y, DeviceBuffer scale, DeviceBuffer bias, int m, int n, int k) {
        if (k % 4 != 0) throw new IllegalArgumentException("int8GemmMma needs K % 4 == 0 (pad with zeros), got " + k);
        if (device.computeCapability() < 80) throw new CudaException("int8GemmMma needs sm_80 or newer, device is " + device.arch());
        launch("int8_gemm", "int8_gemm_mma", LaunchConfig.tiles2d(m, n, 64, 64, 128, 0), stream,
                new KernelArgs().ptr(a).ptr(b).ptr(y).ptr(scale).ptr(bias).i32(m).i32(n).i32(k));
    }

    /** Sparse variant: B as 2:4 values [N, K/2] + metadata [N, K/16]; K % 32 == 0. */
    public void int8GemmSparse24(DeviceBuffer a, DeviceBuffer bValues, DeviceBuffer bMeta, DeviceBuffer y, DeviceBuffer scale,
                                 DeviceBuffer bias, int m, int n, int k) {
        if (k % 32 != 0) throw new IllegalArgumentException("int8GemmSparse24 needs K % 32 == 0 (pad with zeros), got " + k);
        launch("int8_gemm", "int8_gemm_sparse24_dp4a", LaunchConfig.tiles2d(m, n, 64, 64, 256, 0), stream,
                new KernelArgs().ptr(a).ptr(bValues).ptr(bMeta).ptr(y).ptr(scale).ptr(bias).i32(m).i32(n).i32(k));
    }
}
