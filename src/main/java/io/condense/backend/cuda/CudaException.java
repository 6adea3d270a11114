package io.condense.backend.cuda;

import io.condense.ir.ModelException;

/** A failed CUDA call: the message names the call and the CUDA error by name (e.g. cudaErrorMemoryAllocation). */
public final class CudaException extends ModelException {
    private final int code;
    private final String errorName;

    public CudaException(String call, int code, String errorName) {
        super(call + " failed: " + errorName + " (" + code + ")");
        this.code = code;
        this.errorName = errorName;
    }

    public CudaException(String message) {
        super(message);
        this.code = -1;
        this.errorName = "";
    }

    /** The numeric status (cudaError_t, CUresult, cublasStatus_t, ...), or -1. */
    public int code() { return code; }

    /** The library's name for the status, e.g. "cudaErrorMemoryAllocation", "CUDA_ERROR_INVALID_PTX". */
    public String errorName() { return errorName; }
}
