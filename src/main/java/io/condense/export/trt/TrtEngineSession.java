package io.condense.export.trt;

import io.condense.backend.Session;
import io.condense.backend.cuda.CudaRuntime;
import io.condense.backend.cuda.CudaStream;
import io.condense.backend.cuda.DeviceBuffer;
import io.condense.ir.DType;
import io.condense.ir.Dim;
import io.condense.ir.ModelException;
import io.condense.ir.Tensor;
import io.condense.ir.TensorType;
import io.condense.ir.ValueInfo;
import io.condense.onnx.ModelFiles;
import org.bytedeco.cuda.global.cudart;
import org.bytedeco.javacpp.BytePointer;
import org.bytedeco.javacpp.DoublePointer;
import org.bytedeco.javacpp.FloatPointer;
import org.bytedeco.javacpp.IntPointer;
import org.bytedeco.javacpp.LongPointer;
import org.bytedeco.javacpp.Pointer;
import org.bytedeco.javacpp.ShortPointer;
import org.bytedeco.tensorrt.global.nvinfer;
import org.bytedeco.tensorrt.nvinfer.Dims64;
import org.bytedeco.tensorrt.nvinfer.ICudaEngine;
import org.bytedeco.tensorrt.nvinfer.IExecutionContext;
import org.bytedeco.tensorrt.nvinfer.IRuntime;

import java.nio.file.Path;
import java.util.ArrayList;
import java.util.HashMap;
import java.util.LinkedHashMap;
import java.util.List;
import java.util.Map;

import static org.bytedeco.tensorrt.global.nvinfer.createInferRuntime;

/**
 * A serialized TensorRT engine (.plan) behind {@link Session}, so {@code condense bench --backend trt} times it like
 * any backend: each run sets the input shapes, copies the inputs to the device, enqueues on a stream, waits, and
 * copies the outputs back (host<->device copies included in the time, as trtexec's "Latency" does). Device buffers
 * are kept between runs of the same shapes. Written against the presets' API; never run (no GPU here).
 */
public final class TrtEngineSession implements Session {
    private final IRuntime runtime;
    private final ICudaEngine engine;
    private final IExecutionContext ctx;
    private final CudaStream stream;
    private final List<ValueInfo> inputs = new ArrayList<>(), outputs = new ArrayList<>();
    private final Map<String, DeviceBuffer> buffers = new HashMap<>();
    private final long deviceBytesAtOpen;

    private TrtEngineSession(Path plan) {
        String why = TrtLibraries.reason();
        if (!why.isEmpty()) throw new ModelException(why);
        CudaRuntime.require();
        long freeBefore = CudaRuntime.memInfo()[0];
        byte[] bytes = ModelFiles.readAll(plan, "engine");
        TrtEngineBuilder.Log log = new TrtEngineBuilder.Log();
        runtime = createInferRuntime(log);
        try (BytePointer p = new BytePointer(bytes)) {
            engine = runtime.deserializeCudaEngine(p, bytes.length);
        }
        if (engine == null) throw new ModelException(plan + " is not an engine of this TensorRT/GPU: " + String.join("; ", log.errors));
        ctx = engine.createExecutionContext();
        stream = new CudaStream();
        for (int i = 0; i < engine.getNbIOTensors(); i++) {
            String n = engine.getIOTensorName(i);
            Dims64 d = engine.getTensorShape(n);
            List<Dim> dims = new ArrayList<>();
            for (int k = 0; k < d.nbDims(); k++) dims.add(d.d(k) < 0 ? Dim.symbol("d" + k) : Dim.of(d.d(k)));
            ValueInfo v = new ValueInfo(n, new TensorType(dtype(engine.getTensorDataType(n)), dims));
            if (engine.getTensorIOMode(n).value == nvinfer.TensorIOMode.kINPUT.value) inputs.add(v);
            else outputs.add(v);
        }
        deviceBytesAtOpen = freeBefore - CudaRuntime.memInfo()[0];
    }

    /** Opens {@code plan} (TensorRT and a GPU must be available; otherwise one-line {@link ModelException}). */
    public static TrtEngineSession open(Path plan) { return new TrtEngineSession(plan); }

    /** Device memory the engine and its context took when opened (from cudaMemGetInfo). */
    public long deviceBytesAtOpen() { return deviceBytesAtOpen; }

    static DType dtype(nvinfer.DataType t) {
        int v = t.value;
        if (v == nvinfer.DataType.kFLOAT.value) return DType.FLOAT32;
        if (v == nvinfer.DataType.kHALF.value) return DType.FLOAT16;
        if (v == nvinfer.DataType.kBF16.value) return DType.BFLOAT16;
        if (v == nvinfer.DataType.kINT8.value) return DType.INT8;
        if (v == nvinfer.DataType.kUINT8.value) return DType.UINT8;
        if (v == nvinfer.DataType.kINT32.value) return DType.INT32;
        if (v == nvinfer.DataType.kINT64.value) return DType.INT64;
        if (v == nvinfer.DataType.kBOOL.value) return DType.BOOL;
        throw new ModelException("engine tensor of type " + t + " is not supported by bench");
    }

    @Override
    public List<ValueInfo> inputs() { return List.copyOf(inputs); }

    @Override
    public List<ValueInfo> outputs() { return List.copyOf(outputs); }

    @Override
    public Map<String, Tensor> run(Map<String, Tensor> feeds) {
        for (ValueInfo v : inputs) {
            Tensor t = feeds.get(v.name());
            if (t == null) throw new ModelException("missing input '" + v.name() + "'");
            if (t.dtype() != v.type().dtype()) throw new ModelException("input '" + v.name() + "' must be " + v.type().dtype() + ", got " + t.dtype());
            if (!ctx.setInputShape(v.name(), dims(t.shape()))) throw new ModelException("input '" + v.name() + "': shape outside the engine's profile");
            DeviceBuffer b = buffer(v.name(), t.storageBytes());
            try (Pointer h = host(t)) {
                CudaRuntime.check("cudaMemcpyAsync", cudart.cudaMemcpyAsync(b.pointer(), h, t.storageBytes(), cudart.cudaMemcpyHostToDevice, stream.handle()));
            }
            ctx.setTensorAddress(v.name(), b.pointer());
        }
        Map<String, long[]> shapes = new LinkedHashMap<>();
        for (ValueInfo o : outputs) {
            Dims64 d = ctx.getTensorShape(o.name());
            long[] s = new long[d.nbDims()];
            for (int k = 0; k < s.length; k++) s[k] = d.d(k);
            shapes.put(o.name(), s);
            ctx.setTensorAddress(o.name(), buffer(o.name(), o.type().dtype().storageBytes((int) Tensor.checkedSize(s))).pointer());
        }
        if (!ctx.enqueueV3(stream.handle())) throw new ModelException("TensorRT enqueueV3 failed");
        Map<String, Tensor> out = new LinkedHashMap<>();
        for (ValueInfo o : outputs) {
            Tensor t = Tensor.zeros(o.type().dtype(), shapes.get(o.name()));
            try (Pointer h = host(t)) {
                CudaRuntime.check("cudaMemcpyAsync", cudart.cudaMemcpyAsync(h, buffers.get(o.name()).pointer(), t.storageBytes(), cudart.cudaMemcpyDeviceToHost, stream.handle()));
                stream.synchronize();
                copyBack(h, t);
            }
            out.put(o.name(), t);
        }
        stream.synchronize();
        return out;
    }

    private DeviceBuffer buffer(String name, long bytes) {
        DeviceBuffer b = buffers.get(name);
        if (b == null || b.bytes() < bytes) {
            if (b != null) b.close();
            b = DeviceBuffer.allocate(Math.max(1, bytes));
            buffers.put(name, b);
        }
        return b;
    }

    private static Dims64 dims(long[] s) {
        Dims64 d = new Dims64();
        d.nbDims(s.length);
        for (int i = 0; i < s.length; i++) d.d(i, s[i]);
        return d;
    }

    private static Pointer host(Tensor t) {
        Object a = t.data();
        if (a instanceof float[] f) return new FloatPointer(f);
        if (a instanceof long[] l) return new LongPointer(l);
        if (a instanceof int[] i) return new IntPointer(i);
        if (a instanceof short[] s) return new ShortPointer(s);
        if (a instanceof byte[] b) return new BytePointer(b);
        if (a instanceof double[] d) return new DoublePointer(d);
        throw new ModelException("bench cannot copy a " + t.dtype() + " tensor to the device");
    }

    private static void copyBack(Pointer h, Tensor t) {
        Object a = t.data();
        if (a instanceof float[] f) ((FloatPointer) h).get(f);
        else if (a instanceof long[] l) ((LongPointer) h).get(l);
        else if (a instanceof int[] i) ((IntPointer) h).get(i);
        else if (a instanceof short[] s) ((ShortPointer) h).get(s);
        else if (a instanceof byte[] b) ((BytePointer) h).get(b);
        else if (a instanceof double[] d) ((DoublePointer) h).get(d);
    }

    @Override
    public void close() {
        for (DeviceBuffer b : buffers.values()) b.close();
        buffers.clear();
        stream.close();
        ctx.deallocate();
        engine.deallocate();
        runtime.deallocate();
    }
}
