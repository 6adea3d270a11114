package io.condense.backend.cuda;

import org.bytedeco.cuda.global.cudart;
import org.bytedeco.javacpp.BytePointer;
import org.bytedeco.javacpp.Loader;
import org.bytedeco.javacpp.Pointer;
import org.bytedeco.javacpp.SizeTPointer;

import java.util.ArrayList;
import java.util.List;
import java.util.regex.Matcher;
import java.util.regex.Pattern;

/**
 * Entry point to the CUDA runtime and driver through the JavaCPP presets (org.bytedeco:cuda).
 *
 * <p>Nothing native is touched until {@link #status()} is first called. Loading the presets needs the NVIDIA driver
 * ({@code libcuda.so.1}) and the CUDA 13 runtime ({@code libcudart.so.13}) on the library path; when either is
 * missing, or no device is present, the runtime reports itself unavailable with a one-line reason and every other
 * method throws {@link CudaException} with that reason. No exception, stack trace or log line escapes the probe.
 *
 * <p>Every CUDA call goes through {@link #check(String, int)} / {@link #checkDriver(String, int)}, which turn a
 * non-zero status into a {@link CudaException} naming the call and the error ({@code cudaGetErrorName} /
 * {@code cuGetErrorName}).
 */
public final class CudaRuntime {
    private CudaRuntime() {}

    /** Result of the one-time probe. */
    public record Status(boolean available, String reason, int driverVersion, int runtimeVersion, List<CudaDevice> devices) {}

    private static volatile Status status;
    private static final ThreadLocal<Integer> CURRENT = new ThreadLocal<>();
    private static final Pattern MISSING_LIB = Pattern.compile("(lib[A-Za-z0-9_+\\-]+\\.so(?:\\.[0-9]+)*): cannot open shared object file");

    /** Probes once (thread-safe) and returns the cached result. Never throws. */
    public static Status status() {
        Status s = status;
        if (s == null) {
            synchronized (CudaRuntime.class) {
                s = status;
                if (s == null) status = s = probe();
            }
        }
        return s;
    }

    public static boolean isAvailable() { return status().available(); }

    /** Throws a {@link CudaException} with the probe's reason unless CUDA is usable. */
    public static void require() {
        Status s = status();
        if (!s.available()) throw new CudaException("CUDA is not available: " + s.reason());
    }

    public static List<CudaDevice> devices() { return status().devices(); }

    private static Status probe() {
        if (Boolean.getBoolean("condense.cuda.disable")) {
            return new Status(false, "disabled by -Dcondense.cuda.disable=true", 0, 0, List.of());
        }
        try {
            Loader.load(cudart.class);
        } catch (Throwable t) { // UnsatisfiedLinkError, NoClassDefFoundError, ExceptionInInitializerError, ...
            return new Status(false, explainLoadFailure(t), 0, 0, List.of());
        }
        try {
            int[] v = new int[1];
            int rc = cudart.cudaDriverGetVersion(v);
            int driver = rc == 0 ? v[0] : 0;
            rc = cudart.cudaRuntimeGetVersion(v);
            int runtime = rc == 0 ? v[0] : 0;
            int[] n = new int[1];
            rc = cudart.cudaGetDeviceCount(n);
            if (rc != 0) {
                return new Status(false, "cudaGetDeviceCount failed: " + errorName(rc) + " (driver "
                        + version(driver) + ", runtime " + version(runtime) + ")", driver, runtime, List.of());
            }
            if (n[0] == 0) return new Status(false, "no CUDA device found", driver, runtime, List.of());
            checkDriver("cuInit", cudart.cuInit(0));
            List<CudaDevice> devs = new ArrayList<>();
            for (int d = 0; d < n[0]; d++) devs.add(describe(d));
            return new Status(true, "", driver, runtime, List.copyOf(devs));
        } catch (Throwable t) {
            return new Status(false, "CUDA probe failed: " + oneLine(t), 0, 0, List.of());
        }
    }

    /** Turns a load failure into one line naming what is missing. Package-private for tests. */
    static String explainLoadFailure(Throwable t) {
        String missing = null;
        for (Throwable c = t; c != null; c = c.getCause()) {
            String m = c.getMessage();
            if (m == null) continue;
            Matcher mm = MISSING_LIB.matcher(m);
            if (mm.find()) { missing = mm.group(1); break; }
        }
        if (missing != null && missing.startsWith("libcuda.so")) return "no NVIDIA driver: " + missing + " not found";
        if (missing != null) {
            return "CUDA library " + missing + " not found (put the CUDA 13 libraries on LD_LIBRARY_PATH, see ci/README.md)";
        }
        if (t instanceof NoClassDefFoundError) {
            return "the CUDA presets (org.bytedeco:cuda) are not on the class path: " + oneLine(t);
        }
        return "cannot load the CUDA presets: " + oneLine(t);
    }

    private static String oneLine(Throwable t) {
        String m = t.getMessage();
        m = m == null ? "" : m.replace('\n', ' ');
        return t.getClass().getSimpleName() + (m.isEmpty() ? "" : ": " + m);
    }

    private static String version(int v) { return v == 0 ? "?" : (v / 1000) + "." + (v % 1000) / 10; }

    private static CudaDevice describe(int d) {
        byte[] name = new byte[256];
        checkDriver("cuDeviceGetName", cudart.cuDeviceGetName(name, name.length, d));
        int len = 0;
        while (len < name.length && name[len] != 0) len++;
        long total;
        try (SizeTPointer p = new SizeTPointer(1)) {
            checkDriver("cuDeviceTotalMem", cudart.cuDeviceTotalMem(p, d));
            total = p.get();
        }
        return new CudaDevice(d, new String(name, 0, len, java.nio.charset.StandardCharsets.UTF_8),
                attr(cudart.cudaDevAttrComputeCapabilityMajor, d), attr(cudart.cudaDevAttrComputeCapabilityMinor, d),
                total, attr(cudart.cudaDevAttrMultiProcessorCount, d), attr(cudart.cudaDevAttrL2CacheSize, d),
                attr(cudart.cudaDevAttrMaxSharedMemoryPerBlockOptin, d), attr(cudart.cudaDevAttrMaxThreadsPerBlock, d));
    }

    private static int attr(int attribute, int device) {
        int[] v = new int[1];
        check("cudaDeviceGetAttribute(" + attribute + ")", cudart.cudaDeviceGetAttribute(v, attribute, device));
        return v[0];
    }

    /** Makes {@code device} current on the calling thread (primary context), once per thread and device. */
    public static void use(int device) {
        require();
        Integer cur = CURRENT.get();
        if (cur != null && cur == device) return;
        check("cudaSetDevice(" + device + ")", cudart.cudaSetDevice(device));
        check("cudaFree(0)", cudart.cudaFree(null)); // forces the primary context to exist and be current
        CURRENT.set(device);
    }

    /**
     * Makes sure the calling thread has a current context (the primary context of the runtime's current device)
     * before driver-API calls such as cuModuleLoadData / cuLaunchKernel; cheap after the first call per thread.
     */
    public static void ensureContext() {
        require();
        if (CURRENT.get() != null) return;
        int[] d = new int[1];
        check("cudaGetDevice", cudart.cudaGetDevice(d));
        use(d[0]);
    }

    /** Throws {@link CudaException} naming {@code call} and the runtime error when {@code rc != cudaSuccess}. */
    public static void check(String call, int rc) {
        if (rc != 0) throw new CudaException(call, rc, errorName(rc));
    }

    /** Throws {@link CudaException} naming {@code call} and the driver error when {@code rc != CUDA_SUCCESS}. */
    public static void checkDriver(String call, int rc) {
        if (rc != 0) throw new CudaException(call, rc, driverErrorName(rc));
    }

    /** cudaGetErrorName, e.g. "cudaErrorMemoryAllocation". */
    public static String errorName(int rc) {
        try {
            BytePointer p = cudart.cudaGetErrorName(rc);
            return p == null || p.isNull() ? "cudaError " + rc : p.getString();
        } catch (Throwable t) {
            return "cudaError " + rc;
        }
    }

    /** cuGetErrorName, e.g. "CUDA_ERROR_INVALID_IMAGE". */
    public static String driverErrorName(int rc) {
        try (org.bytedeco.javacpp.PointerPointer<BytePointer> pp = new org.bytedeco.javacpp.PointerPointer<>(1)) {
            if (cudart.cuGetErrorName(rc, pp) != 0) return "CUresult " + rc;
            BytePointer p = pp.get(BytePointer.class, 0);
            return p == null || p.isNull() ? "CUresult " + rc : p.getString();
        } catch (Throwable t) {
            return "CUresult " + rc;
        }
    }

    /** Free and total memory of the current device, bytes. */
    public static long[] memInfo() {
        require();
        try (SizeTPointer free = new SizeTPointer(1); SizeTPointer total = new SizeTPointer(1)) {
            check("cudaMemGetInfo", cudart.cudaMemGetInfo(free, total));
            return new long[] {free.get(), total.get()};
        }
    }

    public static void synchronize() {
        require();
        check("cudaDeviceSynchronize", cudart.cudaDeviceSynchronize());
    }

    /** A JavaCPP pointer with the given raw address (device or host), for passing to the presets. */
    public static Pointer pointer(long address) { return new RawPointer(address); }

    /**
     * A named subclass on purpose: in an anonymous {@code new Pointer() {{ address = address; }}} the inherited field
     * shadows the parameter and the pointer silently stays NULL (KernelArgsTest guards this).
     */
    private static final class RawPointer extends Pointer {
        RawPointer(long rawAddress) { this.address = rawAddress; }
    }
}
