package io.condense.export.trt;

/**
 * Whether TensorRT can be used here: the presets' JNI libraries (org.bytedeco:tensorrt:...:linux-x86_64, not on the
 * default class path) and TensorRT's own (libnvinfer.so.11, libnvonnxparser.so.11, from the GPU machine) must load.
 */
public final class TrtLibraries {
    private static volatile String reason;

    private TrtLibraries() {}

    /** Empty when TensorRT loads; otherwise why not, in one line. */
    public static String reason() {
        String r = reason;
        if (r == null) {
            try {
                org.bytedeco.javacpp.Loader.load(org.bytedeco.tensorrt.global.nvinfer.class);
                org.bytedeco.javacpp.Loader.load(org.bytedeco.tensorrt.global.nvonnxparser.class);
                r = "";
            } catch (UnsatisfiedLinkError | NoClassDefFoundError | ExceptionInInitializerError e) {
                String m = String.valueOf(e.getMessage()).lines().findFirst().orElse("");
                int at = m.indexOf(" in java.library.path");
                if (at > 0) m = m.substring(0, at);
                r = "TensorRT's libraries are not available here (" + (m.length() > 160 ? m.substring(0, 160) + "..." : m)
                        + "): it needs TensorRT 11 (libnvinfer.so.11, libnvonnxparser.so.11) and the org.bytedeco:tensorrt:11.2-1.5.14:"
                        + "linux-x86_64 JNI jar on a GPU machine (see ci/gpu-run.sh trt)";
            }
            reason = r;
        }
        return r;
    }

    public static boolean available() { return reason().isEmpty(); }
}
