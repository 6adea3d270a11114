package io.condense.train;

/**
 * The array operations that backward rules ({@link GradRules}) are written in. Rules never touch an array library
 * directly, so the same rule runs on any backend that implements this interface: {@link Nd4jArrayOps} for the CPU
 * (ND4J) today, a device-buffer implementation for the CUDA backend later.
 *
 * <p>All arrays here are floating (the tape's float type) unless a method says otherwise. Binary operations follow
 * numpy broadcasting; shapes are C-ordered.
 *
 * @param <A> the backend's array type
 */
public interface ArrayOps<A> {
    long[] shape(A a);

    /** Whether {@code a} holds floating values (gradients flow only through those). */
    boolean isFloating(A a);

    /** Integer (or truncated float) values of a small host-readable array: indices, axes, starts. */
    long[] longs(A a);

    /** Values of a small host-readable array as doubles (scalar exponents and the like). */
    double[] doubles(A a);

    A add(A a, A b);

    A sub(A a, A b);

    A mul(A a, A b);

    A div(A a, A b);

    /** Elementwise {@code a^b} (broadcast). */
    A pow(A a, A b);

    A neg(A a);

    A mulScalar(A a, double s);

    A addScalar(A a, double s);

    /** Elementwise {@code a^p}. */
    A powScalar(A a, double p);

    A exp(A a);

    /** A float array of zeros of the given shape, the float type of {@code like}. */
    A zeros(A like, long[] shape);

    /** {@code g} summed down to {@code shape} (the reverse of broadcasting {@code shape} up to g's shape). */
    A sumTo(A g, long[] shape);

    /** Sum over {@code axes}, keeping them as size-1 dimensions. */
    A sumKeep(A a, int[] axes);

    /** {@code a} broadcast (materialized) to {@code shape}. */
    A broadcastTo(A a, long[] shape);

    A reshape(A a, long[] shape);

    /** {@code y[i0, i1, ...] = a[i_perm...]}: ONNX Transpose with {@code perm}. */
    A permute(A a, int[] perm);

    /**
     * Batched matrix product over the last two axes with numpy-broadcast batch dimensions, either operand
     * optionally transposed in its last two axes. Both operands have rank >= 2.
     */
    A matmul(A a, A b, boolean transA, boolean transB);

    /** Elementwise {@code cond ? a : b}; {@code cond} is a boolean (or integer, non-zero = true) array, all broadcast. */
    A select(A cond, A a, A b);

    /** Part of {@code a} along {@code axis}: indices {@code from <= i < to}. */
    A sliceAxis(A a, int axis, long from, long to);

    /**
     * Scatter-add: a zero array of {@code shape} (float type of {@code g}) to which element {@code i} of {@code g}
     * (C order) is added at flat position {@code offsets[i]}. Repeated offsets accumulate (Gather's gradient).
     */
    A scatterAdd(A g, long[] shape, long[] offsets);
}
