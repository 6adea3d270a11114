package io.condense.backend.cuda;

import io.condense.backend.Session;
import io.condense.ir.DType;
import io.condense.ir.Graph;
import io.condense.ir.ModelException;
import io.condense.ir.Node;
import io.condense.ir.Tensor;
import io.condense.ir.ValueInfo;
import org.bytedeco.cuda.cublas.cublasContext;
import org.bytedeco.cuda.cudnn.cudnnContext;
import org.bytedeco.cuda.cudnn.cudnnConvolutionFwdAlgoPerf_t;
import org.bytedeco.cuda.cudnn.cudnnConvolutionStruct;
import org.bytedeco.cuda.cudnn.cudnnFilterStruct;
import org.bytedeco.cuda.cudnn.cudnnTensorStruct;
import org.bytedeco.cuda.global.cublas;
import org.bytedeco.cuda.global.cudnn;
import org.bytedeco.javacpp.FloatPointer;
import org.bytedeco.javacpp.Loader;
import org.bytedeco.javacpp.SizeTPointer;

import java.util.ArrayList;
import java.util.Arrays;
import java.util.HashMap;
import java.util.HashSet;
import java.util.LinkedHashMap;
import java.util.List;
import java.util.Map;
import java.util.Set;
import java.util.TreeSet;

/**
 * Runs a float32 graph on one GPU: values live in device memory from a {@link PoolAllocator}; each node launches
 * its kernel on the session's stream; intermediates go back to the pool after their last use.
 * Supported: the unary ops of {@link ElementwiseOps#UNARY}, Add/Sub/Mul/Div/Max/Min/Pow with broadcasting,
 * MatMul (B of rank 2), Gemm (beta 1), Conv (2D, NCHW, explicit pads), Flatten, Reshape (constant shape).
 * Anything else is refused at {@link #CudaSession open} time with the node named.
 */
final class CudaSession implements Session {
    private static final Set<String> OTHER_OPS = Set.of("MatMul", "Gemm", "Conv", "Flatten", "Reshape");
    private static final int BLOCK = 256;

    /** A float32 value on the device. */
    private record DValue(DeviceBuffer buf, long[] shape) {
        long size() { return Tensor.checkedSize(shape); }
    }

    private final Graph graph;
    private final List<Node> order;
    private final CudaDevice device;
    private final PoolAllocator pool = new PoolAllocator(CudaMemory.RAW);
    private final CudaStream stream;
    private final Map<String, DValue> constants = new HashMap<>();
    private final Map<String, Tensor> hostConstants;
    private final String[][] releaseAfter;
    private cublasContext blas;
    private cudnnContext dnn;
    private boolean closed;

    CudaSession(Graph graph, int deviceOrdinal) {
        this.graph = graph;
        this.order = graph.topologicalOrder();
        this.hostConstants = graph.initializers();
        validate(graph);
        CudaRuntime.use(deviceOrdinal);
        this.device = CudaRuntime.devices().get(deviceOrdinal);
        this.stream = new CudaStream(true);
        try {
            Set<String> shapeInputs = new HashSet<>();
            for (Node n : order) if (n.opType().equals("Reshape")) shapeInputs.add(n.input(1));
            for (Map.Entry<String, Tensor> e : hostConstants.entrySet()) {
                if (shapeInputs.contains(e.getKey())) continue;
                Tensor t = e.getValue();
                if (t.dtype() != DType.FLOAT32) {
                    throw new ModelException("the CUDA backend runs float32 graphs only; initializer '" + e.getKey() + "' is " + t.dtype());
                }
                constants.put(e.getKey(), upload(t));
            }
        } catch (RuntimeException e) {
            close();
            throw e;
        }
        Map<String, Integer> lastUse = new HashMap<>();
        for (int i = 0; i < order.size(); i++) for (String in : order.get(i).inputs()) if (!in.isEmpty()) lastUse.put(in, i);
        for (ValueInfo o : graph.outputs()) lastUse.remove(o.name());
        List<List<String>> rel = new ArrayList<>();
        for (int i = 0; i < order.size(); i++) rel.add(new ArrayList<>());
        lastUse.forEach((v, i) -> { if (!constants.containsKey(v) && !hostConstants.containsKey(v)) rel.get(i).add(v); });
        releaseAfter = rel.stream().map(l -> l.toArray(new String[0])).toArray(String[][]::new);
    }

    /**
     * Throws {@link ModelException} naming the first node (or input) the CUDA backend cannot run; no GPU needed.
     */
    static void validate(Graph graph) {
        for (Node n : graph.topologicalOrder()) {
            String op = n.opType();
            if (!n.domain().isEmpty() || !(ElementwiseOps.UNARY.containsKey(op) || ElementwiseOps.BINARY.containsKey(op) || OTHER_OPS.contains(op))) {
                Set<String> all = new TreeSet<>(ElementwiseOps.UNARY.keySet());
                all.addAll(ElementwiseOps.BINARY.keySet());
                all.addAll(OTHER_OPS);
                throw new ModelException("unsupported op " + (n.domain().isEmpty() ? "" : n.domain() + ".") + op + " at node "
                        + n.label() + " (the CUDA backend supports: " + String.join(", ", all) + ")");
            }
        }
        for (Node n : graph.topologicalOrder()) checkSupported(n, graph);
        for (ValueInfo in : graph.inputs()) {
            if (in.type().dtype() != null && in.type().dtype() != DType.FLOAT32) {
                throw new ModelException("the CUDA backend runs float32 graphs only; input '" + in.name() + "' is " + in.type());
            }
        }
    }

    /** Refuses at open time what the CUDA ops cannot do, so that a session never fails half-way for that. */
    private static void checkSupported(Node n, Graph g) {
        String op = n.opType();
        java.util.function.Function<String, ModelException> no = why ->
                new ModelException("node " + n.label() + ": " + op + " " + why + " is not supported on CUDA");
        java.util.function.IntPredicate constant = i -> !n.hasInput(i) || g.initializers().containsKey(n.input(i));
        switch (op) {
            case "Clip" -> { if (!constant.test(1) || !constant.test(2)) throw no.apply("with non-constant min/max"); }
            case "Reshape" -> { if (!constant.test(1)) throw no.apply("with a non-constant shape"); }
            case "Gelu" -> { if (!n.attrString("approximate", "none").equals("none")) throw no.apply("approximate=tanh"); }
            case "Conv" -> {
                String ap = n.attrString("auto_pad", "NOTSET");
                if (!List.of("NOTSET", "VALID", "SAME_UPPER", "SAME_LOWER").contains(ap)) throw no.apply("auto_pad=" + ap);
                long[] ks = n.attrLongs("kernel_shape", null);
                Tensor w = g.initializers().get(n.input(1));
                int rank = ks != null ? ks.length : w != null ? w.rank() - 2 : 2;
                if (rank != 2) throw no.apply(rank + "D");
                long[] pads = n.attrLongs("pads", null);
                if (pads != null && (pads[0] != pads[2] || pads[1] != pads[3])) throw no.apply("with asymmetric pads");
            }
            default -> {
                if (ElementwiseOps.BINARY.containsKey(op) && n.inputs().size() != 2) throw no.apply("with " + n.inputs().size() + " inputs");
            }
        }
        for (int i = 0; i < n.inputs().size(); i++) {
            if (!n.hasInput(i) || (op.equals("Reshape") && i == 1)) continue;
            DType t = g.typeOf(n.input(i)).dtype();
            if (t != null && t != DType.FLOAT32) throw no.apply("on " + t.name().toLowerCase() + " input '" + n.input(i) + "'");
        }
    }

    @Override
    public List<ValueInfo> inputs() { return graph.inputs(); }

    @Override
    public List<ValueInfo> outputs() { return graph.outputs(); }

    /** Pool counters (for tests and benchmarks). */
    PoolAllocator.Stats poolStats() { return pool.stats(); }

    @Override
    public Map<String, Tensor> run(Map<String, Tensor> feeds) {
        if (closed) throw new IllegalStateException("session is closed");
        CudaRuntime.use(device.ordinal());
        Map<String, DValue> values = new HashMap<>(constants);
        Set<String> owned = new HashSet<>();
        try {
            for (ValueInfo in : graph.inputs()) {
                Tensor t = feeds.get(in.name());
                if (t == null) throw new ModelException("missing input '" + in.name() + "' of type " + in.type());
                if (t.dtype() != DType.FLOAT32) throw new ModelException("input '" + in.name() + "' must be float32, got " + t.dtype());
                values.put(in.name(), upload(t));
                owned.add(in.name());
            }
            for (String k : feeds.keySet()) {
                if (graph.input(k) == null) throw new ModelException("'" + k + "' is not an input of the model");
            }
            for (int i = 0; i < order.size(); i++) {
                Node n = order.get(i);
                DValue out;
                try {
                    out = execute(n, values);
                } catch (CudaException e) {
                    throw new ModelException("node " + n.label() + ": " + e.getMessage(), e);
                } catch (IllegalArgumentException e) {
                    throw new ModelException("node " + n.label() + ": " + e.getMessage(), e);
                }
                values.put(n.output(0), out);
                owned.add(n.output(0));
                for (String r : releaseAfter[i]) {
                    DValue v = values.remove(r);
                    if (v != null && owned.remove(r)) v.buf().close();
                }
            }
            Map<String, Tensor> result = new LinkedHashMap<>();
            for (ValueInfo o : graph.outputs()) {
                DValue v = values.get(o.name());
                if (v == null) throw new ModelException("output '" + o.name() + "' was not computed");
                float[] h = new float[(int) v.size()];
                CudaMemory.download(h, v.buf());
                result.put(o.name(), Tensor.of(DType.FLOAT32, v.shape(), h));
            }
            return result;
        } finally {
            for (String k : owned) {
                DValue v = values.get(k);
                if (v != null) v.buf().close();
            }
        }
    }

    private DValue upload(Tensor t) {
        float[] data = t.toFloatArray();
        DeviceBuffer b = DeviceBuffer.pooled(pool, 4L * Math.max(data.length, 1));
        if (data.length > 0) CudaMemory.upload(b, data);
        return new DValue(b, t.shape());
    }

    private DValue alloc(long[] shape) {
        return new DValue(DeviceBuffer.pooled(pool, 4L * Math.max(Tensor.checkedSize(shape), 1)), shape);
    }

    private static DValue in(Node n, Map<String, DValue> values, int i) {
        DValue v = values.get(n.input(i));
        if (v == null) throw new ModelException("node " + n.label() + ": input '" + n.input(i) + "' has no value on the device");
        return v;
    }

    private DValue execute(Node n, Map<String, DValue> values) {
        String op = n.opType();
        Integer u = ElementwiseOps.UNARY.get(op);
        if (u != null) return unary(n, u, in(n, values, 0));
        Integer b = ElementwiseOps.BINARY.get(op);
        if (b != null) {
            if (n.inputs().size() != 2) throw new ModelException("node " + n.label() + ": " + op + " with " + n.inputs().size() + " inputs is not supported on CUDA");
            return binary(b, in(n, values, 0), in(n, values, 1));
        }
        return switch (op) {
            case "MatMul" -> matmul(n, in(n, values, 0), in(n, values, 1));
            case "Gemm" -> gemm(n, values);
            case "Conv" -> conv(n, values);
            case "Flatten" -> flatten(n, in(n, values, 0));
            case "Reshape" -> reshape(n, in(n, values, 0));
            default -> throw new ModelException("unsupported op " + op + " at node " + n.label());
        };
    }

    private LaunchConfig elementwiseLaunch(long n) {
        return LaunchConfig.elementwise(n, BLOCK, 1, device.multiprocessors(), 8);
    }

    private DValue unary(Node n, int op, DValue x) {
        float alpha = 0f, beta = 0f;
        if (n.opType().equals("LeakyRelu")) alpha = n.attrFloat("alpha", 0.01f);
        if (n.opType().equals("Clip")) {
            alpha = n.hasAttr("min") ? n.attrFloat("min", -Float.MAX_VALUE) : constScalar(n, 1, Float.NEGATIVE_INFINITY);
            beta = n.hasAttr("max") ? n.attrFloat("max", Float.MAX_VALUE) : constScalar(n, 2, Float.POSITIVE_INFINITY);
        }
        if (n.opType().equals("Gelu") && !n.attrString("approximate", "none").equals("none")) {
            throw new ModelException("node " + n.label() + ": Gelu approximate=tanh is not supported on CUDA");
        }
        DValue y = alloc(x.shape());
        long cnt = x.size();
        if (cnt % 4 == 0 && cnt > 0) { // 16-byte accesses (pool blocks are 256-byte aligned)
            try (KernelArgs a = new KernelArgs().i32(op).ptr(x.buf()).ptr(y.buf()).i64(cnt / 4).f32(alpha).f32(beta)) {
                CudaKernels.module("elementwise").launch("ew_unary_v4", elementwiseLaunch(cnt / 4), stream, a);
            }
            return y;
        }
        try (KernelArgs a = new KernelArgs().i32(op).ptr(x.buf()).ptr(y.buf()).i64(cnt).f32(alpha).f32(beta)) {
            CudaKernels.module("elementwise").launch("ew_unary", elementwiseLaunch(cnt), stream, a);
        }
        return y;
    }

    private float constScalar(Node n, int i, float dflt) {
        if (!n.hasInput(i)) return dflt;
        Tensor t = hostConstants.get(n.input(i));
        if (t == null) throw new ModelException("node " + n.label() + ": input " + i + " must be a constant on CUDA");
        return (float) t.getDouble(0);
    }

    private DValue binary(int op, DValue a, DValue b) {
        long[][] bc = ElementwiseOps.broadcast(a.shape(), b.shape());
        DValue y = alloc(bc[0]);
        long cnt = y.size();
        if (Arrays.equals(a.shape(), b.shape())) {
            try (KernelArgs k = new KernelArgs().i32(op).ptr(a.buf()).ptr(b.buf()).ptr(y.buf()).i64(cnt)) {
                CudaKernels.module("elementwise").launch("ew_binary_same", elementwiseLaunch(cnt), stream, k);
            }
            return y;
        }
        int rank = bc[0].length;
        long[] meta = new long[3 * Math.max(rank, 1)];
        System.arraycopy(bc[0], 0, meta, 0, rank);
        System.arraycopy(bc[1], 0, meta, rank, rank);
        System.arraycopy(bc[2], 0, meta, 2 * rank, rank);
        byte[] raw = new byte[meta.length * 8];
        java.nio.ByteBuffer.wrap(raw).order(java.nio.ByteOrder.LITTLE_ENDIAN).asLongBuffer().put(meta);
        try (DeviceBuffer m = DeviceBuffer.pooled(pool, raw.length)) {
            CudaMemory.upload(m, raw);
            try (KernelArgs k = new KernelArgs().i32(op).ptr(a.buf()).ptr(b.buf()).ptr(y.buf()).i64(cnt).i32(rank).ptr(m)) {
                CudaKernels.module("elementwise").launch("ew_binary_bcast", elementwiseLaunch(cnt), stream, k);
            }
            stream.synchronize(); // m goes back to the pool: the kernel must be done with it
        }
        return y;
    }

    private cublasContext blas() {
        if (blas == null) {
            try {
                Loader.load(cublas.class);
            } catch (Throwable t) {
                throw new CudaException("cuBLAS is not available: " + CudaRuntime.explainLoadFailure(t));
            }
            cublasContext h = new cublasContext();
            checkBlas("cublasCreate", cublas.cublasCreate_v2(h));
            checkBlas("cublasSetStream", cublas.cublasSetStream_v2(h, stream.handle()));
            blas = h;
        }
        return blas;
    }

    private static void checkBlas(String call, int rc) {
        if (rc != 0) throw new CudaException(call, rc, cublas.cublasGetStatusName(rc).getString());
    }

    /**
     * Row-major C[M,N] = alpha * op(A) * op(B): cuBLAS is column-major, so compute C^T = op(B)^T * op(A)^T, which
     * is the same memory. A is [M,K] ([K,M] when transA), B is [K,N] ([N,K] when transB).
     */
    private void sgemm(DValue a, DValue b, DValue c, int m, int n, int k, boolean transA, boolean transB, float alpha, float beta) {
        try (FloatPointer al = new FloatPointer(alpha); FloatPointer be = new FloatPointer(beta)) {
            checkBlas("cublasSgemm", cublas.cublasSgemm_v2(blas(),
                    transB ? cublas.CUBLAS_OP_T : cublas.CUBLAS_OP_N, transA ? cublas.CUBLAS_OP_T : cublas.CUBLAS_OP_N,
                    n, m, k, al, new FloatPointer(b.buf().pointer()), transB ? k : n,
                    new FloatPointer(a.buf().pointer()), transA ? m : k, be, new FloatPointer(c.buf().pointer()), n));
        }
    }

    /** {@code batch} independent row-major [M,K] x [K,N] products; strideA 0 broadcasts A over the batch. */
    private void sgemmBatched(DValue a, DValue b, DValue c, int m, int n, int k, long strideA, long strideB, int batch) {
        try (FloatPointer al = new FloatPointer(1f); FloatPointer be = new FloatPointer(0f)) {
            checkBlas("cublasSgemmStridedBatched", cublas.cublasSgemmStridedBatched(blas(), cublas.CUBLAS_OP_N, cublas.CUBLAS_OP_N,
                    n, m, k, al, new FloatPointer(b.buf().pointer()), n, strideB, new FloatPointer(a.buf().pointer()), k, strideA,
                    be, new FloatPointer(c.buf().pointer()), n, (long) m * n, batch));
        }
    }

    private DValue matmul(Node n, DValue a, DValue b) {
        long[] as = a.shape(), bs = b.shape();
        if (as.length < 1 || bs.length < 1) throw new ModelException("node " + n.label() + ": MatMul of a scalar");
        boolean vecA = as.length == 1, vecB = bs.length == 1;
        long[] a2 = vecA ? new long[] {1, as[0]} : as, b2 = vecB ? new long[] {bs[0], 1} : bs;
        long m = a2[a2.length - 2], k = a2[a2.length - 1], kb = b2[b2.length - 2], nn = b2[b2.length - 1];
        if (k != kb) throw new ModelException("node " + n.label() + ": MatMul shapes " + Arrays.toString(as) + " x " + Arrays.toString(bs));
        long[] batchA = Arrays.copyOf(a2, a2.length - 2), batchB = Arrays.copyOf(b2, b2.length - 2);
        long[] batch = ElementwiseOps.broadcast(batchA, batchB)[0];
        long nb = Tensor.checkedSize(batch), na = Tensor.checkedSize(batchA), nbb = Tensor.checkedSize(batchB);
        List<Long> out = new ArrayList<>();
        for (long d : batch) out.add(d);
        if (!vecA) out.add(m);
        if (!vecB) out.add(nn);
        DValue y = alloc(out.stream().mapToLong(Long::longValue).toArray());
        if (nbb == 1) { // B shared: one GEMM with all of A's rows (A's batch folds into M)
            sgemm(a, b, y, Math.toIntExact(m * na), Math.toIntExact(nn), Math.toIntExact(k), false, false, 1f, 0f);
        } else if (na == nb && nbb == nb || na == 1 && nbb == nb) {
            sgemmBatched(a, b, y, Math.toIntExact(m), Math.toIntExact(nn), Math.toIntExact(k), na == 1 ? 0 : m * k, k * nn, Math.toIntExact(nb));
        } else {
            y.buf().close();
            throw new ModelException("node " + n.label() + ": MatMul batch broadcasting " + Arrays.toString(as) + " x "
                    + Arrays.toString(bs) + " is not supported on CUDA");
        }
        return y;
    }

    private DValue gemm(Node n, Map<String, DValue> values) {
        DValue a = in(n, values, 0), b = in(n, values, 1);
        boolean ta = n.attrLong("transA", 0) != 0, tb = n.attrLong("transB", 0) != 0;
        float alpha = n.attrFloat("alpha", 1f), beta = n.attrFloat("beta", 1f);
        long[] as = a.shape(), bs = b.shape();
        if (as.length != 2 || bs.length != 2) throw new ModelException("node " + n.label() + ": Gemm needs 2D inputs");
        long m = ta ? as[1] : as[0], k = ta ? as[0] : as[1], nn = tb ? bs[0] : bs[1];
        if ((tb ? bs[1] : bs[0]) != k) throw new ModelException("node " + n.label() + ": Gemm shapes " + Arrays.toString(as) + " x " + Arrays.toString(bs));
        DValue y = alloc(new long[] {m, nn});
        try {
            float betaUsed = 0f;
            if (n.hasInput(2) && beta != 0f) { // y = broadcast C, then cuBLAS accumulates alpha*A*B + beta*y
                CudaMemory.fill(y.buf(), 0, 4L * m * nn, stream);
                DValue c = binary(ElementwiseOps.BINARY.get("Add"), y, in(n, values, 2));
                y.buf().close();
                y = c;
                betaUsed = beta;
            }
            sgemm(a, b, y, Math.toIntExact(m), Math.toIntExact(nn), Math.toIntExact(k), ta, tb, alpha, betaUsed);
            return y;
        } catch (RuntimeException e) {
            y.buf().close();
            throw e;
        }
    }

    private cudnnContext dnn() {
        if (dnn == null) {
            try {
                Loader.load(cudnn.class);
            } catch (Throwable t) {
                throw new CudaException("cuDNN is not available: " + CudaRuntime.explainLoadFailure(t));
            }
            cudnnContext h = new cudnnContext();
            checkDnn("cudnnCreate", cudnn.cudnnCreate(h));
            checkDnn("cudnnSetStream", cudnn.cudnnSetStream(h, stream.handle()));
            dnn = h;
        }
        return dnn;
    }

    private static void checkDnn(String call, int rc) {
        if (rc != 0) throw new CudaException(call, rc, cudnn.cudnnGetErrorString(rc).getString());
    }

    private DValue conv(Node n, Map<String, DValue> values) {
        DValue x = in(n, values, 0), w = in(n, values, 1);
        long[] xs = x.shape(), ws = w.shape();
        if (xs.length != 4 || ws.length != 4) throw new ModelException("node " + n.label() + ": Conv on CUDA is 2D (NCHW) only");
        String autoPad = n.attrString("auto_pad", "NOTSET");
        long[] strides = n.attrLongs("strides", new long[] {1, 1});
        long[] dil = n.attrLongs("dilations", new long[] {1, 1});
        long[] pads = autoPad.equals("NOTSET") ? n.attrLongs("pads", new long[4]) : new long[4];
        if (autoPad.startsWith("SAME")) {
            for (int i = 0; i < 2; i++) {
                long in = xs[2 + i], out = (in + strides[i] - 1) / strides[i];
                long total = Math.max(0, (out - 1) * strides[i] + (ws[2 + i] - 1) * dil[i] + 1 - in);
                long small = total / 2, big = total - small;
                pads[i] = autoPad.equals("SAME_UPPER") ? small : big;
                pads[i + 2] = autoPad.equals("SAME_UPPER") ? big : small;
            }
        }
        int group = (int) n.attrLong("group", 1);
        if (pads[0] != pads[2] || pads[1] != pads[3]) throw new ModelException("node " + n.label() + ": asymmetric Conv pads are not supported on CUDA");
        long oh = (xs[2] + 2 * pads[0] - dil[0] * (ws[2] - 1) - 1) / strides[0] + 1;
        long ow = (xs[3] + 2 * pads[1] - dil[1] * (ws[3] - 1) - 1) / strides[1] + 1;
        DValue y = alloc(new long[] {xs[0], ws[0], oh, ow});
        cudnnContext h = dnn();
        cudnnTensorStruct xd = new cudnnTensorStruct(), yd = new cudnnTensorStruct();
        cudnnFilterStruct wd = new cudnnFilterStruct();
        cudnnConvolutionStruct cd = new cudnnConvolutionStruct();
        checkDnn("cudnnCreateTensorDescriptor", cudnn.cudnnCreateTensorDescriptor(xd));
        checkDnn("cudnnCreateTensorDescriptor", cudnn.cudnnCreateTensorDescriptor(yd));
        checkDnn("cudnnCreateFilterDescriptor", cudnn.cudnnCreateFilterDescriptor(wd));
        checkDnn("cudnnCreateConvolutionDescriptor", cudnn.cudnnCreateConvolutionDescriptor(cd));
        try {
            checkDnn("cudnnSetTensor4dDescriptor(x)", cudnn.cudnnSetTensor4dDescriptor(xd, cudnn.CUDNN_TENSOR_NCHW, cudnn.CUDNN_DATA_FLOAT,
                    (int) xs[0], (int) xs[1], (int) xs[2], (int) xs[3]));
            checkDnn("cudnnSetTensor4dDescriptor(y)", cudnn.cudnnSetTensor4dDescriptor(yd, cudnn.CUDNN_TENSOR_NCHW, cudnn.CUDNN_DATA_FLOAT,
                    (int) xs[0], (int) ws[0], (int) oh, (int) ow));
            checkDnn("cudnnSetFilter4dDescriptor", cudnn.cudnnSetFilter4dDescriptor(wd, cudnn.CUDNN_DATA_FLOAT, cudnn.CUDNN_TENSOR_NCHW,
                    (int) ws[0], (int) ws[1], (int) ws[2], (int) ws[3]));
            checkDnn("cudnnSetConvolution2dDescriptor", cudnn.cudnnSetConvolution2dDescriptor(cd, (int) pads[0], (int) pads[1],
                    (int) strides[0], (int) strides[1], (int) dil[0], (int) dil[1], cudnn.CUDNN_CROSS_CORRELATION, cudnn.CUDNN_DATA_FLOAT));
            checkDnn("cudnnSetConvolutionGroupCount", cudnn.cudnnSetConvolutionGroupCount(cd, group));
            // plain FP32 FMA: cuDNN would otherwise use TF32 tensor cores on sm_80+ (10-bit mantissa products)
            checkDnn("cudnnSetConvolutionMathType", cudnn.cudnnSetConvolutionMathType(cd, cudnn.CUDNN_FMA_MATH));
            int[] returned = new int[1];
            int algo;
            try (cudnnConvolutionFwdAlgoPerf_t perf = new cudnnConvolutionFwdAlgoPerf_t(1)) {
                checkDnn("cudnnGetConvolutionForwardAlgorithm_v7", cudnn.cudnnGetConvolutionForwardAlgorithm_v7(h, xd, wd, cd, yd, 1, returned, perf));
                algo = perf.algo();
            }
            long wsBytes;
            try (SizeTPointer sz = new SizeTPointer(1)) {
                checkDnn("cudnnGetConvolutionForwardWorkspaceSize", cudnn.cudnnGetConvolutionForwardWorkspaceSize(h, xd, wd, cd, yd, algo, sz));
                wsBytes = sz.get();
            }
            try (DeviceBuffer work = wsBytes > 0 ? DeviceBuffer.pooled(pool, wsBytes) : null;
                 FloatPointer one = new FloatPointer(1f); FloatPointer zero = new FloatPointer(0f)) {
                checkDnn("cudnnConvolutionForward", cudnn.cudnnConvolutionForward(h, one, xd, x.buf().pointer(), wd, w.buf().pointer(),
                        cd, algo, work == null ? null : work.pointer(), wsBytes, zero, yd, y.buf().pointer()));
                stream.synchronize(); // the workspace goes back to the pool
            }
        } finally {
            cudnn.cudnnDestroyTensorDescriptor(xd);
            cudnn.cudnnDestroyTensorDescriptor(yd);
            cudnn.cudnnDestroyFilterDescriptor(wd);
            cudnn.cudnnDestroyConvolutionDescriptor(cd);
        }
        if (n.hasInput(2)) {
            DValue bias = in(n, values, 2);
            long cnt = y.size();
            try (KernelArgs k = new KernelArgs().ptr(y.buf()).ptr(bias.buf()).i64(cnt).i32((int) ws[0]).i64(oh * ow)) {
                CudaKernels.module("elementwise").launch("ew_add_channel_bias", elementwiseLaunch(cnt), stream, k);
            }
        }
        return y;
    }

    private DValue copyAs(DValue x, long[] shape) {
        DValue y = alloc(shape);
        if (x.size() > 0) CudaMemory.copy(y.buf(), x.buf(), 4L * x.size(), stream);
        return y;
    }

    private DValue flatten(Node n, DValue x) {
        long[] s = x.shape();
        int axis = (int) n.attrLong("axis", 1);
        if (axis < 0) axis += s.length;
        long outer = 1;
        for (int i = 0; i < axis; i++) outer *= s[i];
        return copyAs(x, new long[] {outer, x.size() / Math.max(outer, 1)});
    }

    private DValue reshape(Node n, DValue x) {
        Tensor st = hostConstants.get(n.input(1));
        if (st == null) throw new ModelException("node " + n.label() + ": Reshape on CUDA needs a constant shape");
        long[] want = st.toLongArray();
        long[] s = x.shape();
        boolean allowZero = n.attrLong("allowzero", 0) != 0;
        long known = 1;
        int infer = -1;
        for (int i = 0; i < want.length; i++) {
            if (want[i] == 0 && !allowZero) want[i] = s[i];
            if (want[i] == -1) infer = i;
            else known *= want[i];
        }
        if (infer >= 0) want[infer] = known == 0 ? 0 : x.size() / known;
        if (Tensor.checkedSize(want) != x.size()) {
            throw new ModelException("node " + n.label() + ": cannot reshape " + Arrays.toString(s) + " to " + Arrays.toString(want));
        }
        return copyAs(x, want);
    }

    @Override
    public void close() {
        if (closed) return;
        closed = true;
        try {
            if (stream != null) stream.synchronize();
        } finally {
            if (blas != null) cublas.cublasDestroy_v2(blas);
            if (dnn != null) cudnn.cudnnDestroy(dnn);
            for (DValue v : constants.values()) v.buf().close();
            constants.clear();
            if (stream != null) stream.close();
            pool.close();
        }
    }
}
