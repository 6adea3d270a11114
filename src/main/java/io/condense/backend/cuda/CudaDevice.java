package io.condense.backend.cuda;

/** What {@link CudaRuntime} found out about one GPU. */
public record CudaDevice(int ordinal, String name, int major, int minor, long totalMemory, int multiprocessors,
                         int l2Bytes, int sharedPerBlockOptin, int maxThreadsPerBlock) {
    /** "sm_90" style target name. */
    public String arch() { return "sm_" + major + minor; }

    public int computeCapability() { return major * 10 + minor; }

    @Override
    public String toString() {
        return "#" + ordinal + " " + name + " (" + arch() + ", " + (totalMemory >> 20) + " MiB, " + multiprocessors + " SMs)";
    }
}
