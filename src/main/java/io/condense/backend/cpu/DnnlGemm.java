package io.condense.backend.cpu;

import org.bytedeco.javacpp.BytePointer;
import org.bytedeco.javacpp.IntPointer;
import org.bytedeco.javacpp.Pointer;
import org.nd4j.linalg.api.buffer.DataType;
import org.nd4j.linalg.api.ndarray.INDArray;

/**
 * oneDNN's integer GEMM ({@code dnnl_gemm_u8s8s32}, the libdnnl that the oneDNN build of libnd4j already loads):
 * C = (A - ao) x (B - bo) with A uint8, B int8, accumulated in int32, on the VNNI instructions.
 *
 * <p>It is used only where oneDNN reports a VNNI ISA (AVX512-VNNI, AVX-VNNI or AMX): there {@code vpdpbusd} sums
 * the u8 x s8 products straight into int32, so every result is exact (MatMulInteger's semantics). Without VNNI
 * oneDNN sums pairs of products in saturating int16 ({@code vpmaddubsw}), which is not exact, so callers then use
 * the float-GEMM path of {@link IntMatMul}. {@code -Dcondense.cpu.dnnlInt8=false} turns this path off.
 */
final class DnnlGemm {
    private DnnlGemm() {}

    /** Whether callers may use oneDNN (tests flip it to compare against the float path). */
    static volatile boolean enabled = !"false".equalsIgnoreCase(System.getProperty("condense.cpu.dnnlInt8", "true"));

    private static volatile Boolean vnni;
    private static IntPointer zeroOffset;

    /** oneDNN's u8 x s8 GEMM can run here and is exact (a VNNI ISA is in effect). */
    static boolean available() {
        if (!enabled) return false;
        Boolean v = vnni;
        if (v == null) {
            synchronized (DnnlGemm.class) {
                v = vnni;
                if (v == null) {
                    try {
                        NativeSetup.init();
                        int isa = org.bytedeco.dnnl.global.dnnl.dnnl_get_effective_cpu_isa();
                        // dnnl_cpu_isa_t bits: 0x40 = AVX512-VNNI (also set for AMX), 0x400 = AVX-VNNI
                        v = (isa & 0x40) != 0 || (isa & 0x400) != 0;
                        IntPointer z = new IntPointer(1);
                        z.put(0, 0);
                        zeroOffset = z;
                    } catch (RuntimeException | LinkageError e) {
                        v = false;
                    }
                    vnni = v;
                }
            }
        }
        return v;
    }

    /**
     * C[m, n] = sum_k (A[m, k] - ao) * (B[k, n] - bo) for row-major A [m, k] (uint8), B [k, n] (int8) and a new
     * row-major int32 C [m, n]. Call only when {@link #available()}.
     */
    static void u8s8s32(Pointer a, long aOffset, int ao, BytePointer b, int bo, Pointer c, int m, int k, int n) {
        BytePointer ap = new BytePointer(a).position(aOffset);
        IntPointer cp = new IntPointer(c);
        int st = org.bytedeco.dnnl.global.dnnl.dnnl_gemm_u8s8s32((byte) 'N', (byte) 'N', (byte) 'F', m, n, k, 1f,
                ap, k, (byte) ao, b, n, (byte) bo, 0f, cp, n, zeroOffset);
        if (st != 0) throw new IllegalStateException("oneDNN u8s8s32 GEMM failed with status " + st);
    }

    /** Whether {@code a} is a dense C-ordered UINT8 array whose data starts at its buffer's start. */
    static boolean denseUint8(INDArray a) {
        return a.dataType() == DataType.UBYTE && a.ordering() == 'c' && !a.isView() && a.length() == a.data().length();
    }

    /** {@code v} (int8 values) in native memory. */
    static BytePointer nativeBytes(byte[] v) {
        BytePointer p = new BytePointer(v.length);
        p.put(v);
        return p;
    }
}
