package io.condense.backend.ort;

/** Whether ONNX Runtime's Java API and native library load here; the reason in one line when not. */
final class OrtRuntime {
    private static volatile String reason;

    private OrtRuntime() {}

    static String reason() {
        String r = reason;
        if (r == null) {
            try {
                Class.forName("ai.onnxruntime.OrtEnvironment");
                ai.onnxruntime.OrtEnvironment.getEnvironment();
                r = "";
            } catch (ClassNotFoundException | NoClassDefFoundError e) {
                r = "the ONNX Runtime jar (com.microsoft.onnxruntime:onnxruntime) is not on the class path";
            } catch (UnsatisfiedLinkError | RuntimeException | ExceptionInInitializerError e) {
                r = "ONNX Runtime's native library did not load: " + String.valueOf(e.getMessage()).lines().findFirst().orElse("");
            }
            reason = r;
        }
        return r;
    }
}
