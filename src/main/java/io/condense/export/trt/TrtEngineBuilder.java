package io.condense.export.trt;

import io.condense.ir.ModelException;
import org.bytedeco.javacpp.BytePointer;
import org.bytedeco.tensorrt.nvinfer.Dims64;
import org.bytedeco.tensorrt.nvinfer.IBuilder;
import org.bytedeco.tensorrt.nvinfer.IBuilderConfig;
import org.bytedeco.tensorrt.nvinfer.ICudaEngine;
import org.bytedeco.tensorrt.nvinfer.IEngineInspector;
import org.bytedeco.tensorrt.nvinfer.IHostMemory;
import org.bytedeco.tensorrt.nvinfer.ILogger;
import org.bytedeco.tensorrt.nvinfer.INetworkDefinition;
import org.bytedeco.tensorrt.nvinfer.IOptimizationProfile;
import org.bytedeco.tensorrt.nvinfer.IRuntime;
import org.bytedeco.tensorrt.nvinfer.ITimingCache;
import org.bytedeco.tensorrt.nvonnxparser.IParser;
import org.bytedeco.tensorrt.nvonnxparser.IParserError;

import java.util.ArrayList;
import java.util.List;

import static org.bytedeco.tensorrt.global.nvinfer.BuilderFlag;
import static org.bytedeco.tensorrt.global.nvinfer.LayerInformationFormat;
import static org.bytedeco.tensorrt.global.nvinfer.MemoryPoolType;
import static org.bytedeco.tensorrt.global.nvinfer.NetworkDefinitionCreationFlag;
import static org.bytedeco.tensorrt.global.nvinfer.OptProfileSelector;
import static org.bytedeco.tensorrt.global.nvinfer.ProfilingVerbosity;
import static org.bytedeco.tensorrt.global.nvinfer.createInferBuilder;
import static org.bytedeco.tensorrt.global.nvinfer.createInferRuntime;
import static org.bytedeco.tensorrt.global.nvonnxparser.createParser;

/**
 * The native half of {@link TrtExport}: builder, strongly typed network, ONNX parser, builder config (workspace,
 * sparse weights, detailed profiling verbosity, one optimization profile, timing cache), the serialized engine and its
 * inspector JSON. Follows the presets' tensorrt/samples/SampleOnnxMNIST.java. Never run on a machine without a GPU.
 */
final class TrtEngineBuilder {
    /** The build's products: engine bytes, inspector JSON, the updated timing cache (or null). */
    record Built(byte[] engine, String inspectorJson, byte[] timingCache) {}

    private TrtEngineBuilder() {}

    /** Collects TensorRT's errors (and warnings) for the exception message; INFO/VERBOSE are dropped. */
    static final class Log extends ILogger {
        final List<String> errors = new ArrayList<>();
        final List<String> warnings = new ArrayList<>();

        @Override
        public void log(Severity severity, String msg) {
            Severity s = severity.intern();
            if (s == Severity.kERROR || s == Severity.kINTERNAL_ERROR) errors.add(msg);
            else if (s == Severity.kWARNING) warnings.add(msg);
        }
    }

    static Built build(TrtExportConfig cfg, OnnxPreparation prep, byte[] timingCache) {
        Log log = new Log();
        IBuilder builder = null;
        INetworkDefinition net = null;
        IParser parser = null;
        IBuilderConfig conf = null;
        ITimingCache cache = null;
        IHostMemory plan = null;
        IRuntime runtime = null;
        ICudaEngine engine = null;
        IEngineInspector inspector = null;
        BytePointer model = null, cacheBytes = null;
        try {
            builder = createInferBuilder(log);
            if (builder == null) throw fail("createInferBuilder failed (no GPU or driver?)", log);
            net = builder.createNetworkV2(1 << NetworkDefinitionCreationFlag.kSTRONGLY_TYPED.value);
            parser = createParser(net, log);
            model = new BytePointer(prep.bytes());
            if (!parser.parse(model, prep.bytes().length, cfg.model().toAbsolutePath().toString())) {
                List<String> errs = new ArrayList<>();
                for (int i = 0; i < parser.getNbErrors(); i++) {
                    IParserError e = parser.getError(i);
                    errs.add(e.desc() + (e.nodeName() != null && !e.nodeName().isEmpty() ? " (node " + e.nodeName() + ", " + e.nodeOperator() + ")" : ""));
                }
                throw new ModelException("TensorRT's ONNX parser rejected " + cfg.model() + ": " + String.join("; ", errs));
            }
            conf = builder.createBuilderConfig();
            conf.setProfilingVerbosity(ProfilingVerbosity.kDETAILED);
            if (cfg.workspaceMb() > 0) conf.setMemoryPoolLimit(MemoryPoolType.kWORKSPACE, cfg.workspaceMb() << 20);
            if (cfg.sparsity()) conf.setFlag(BuilderFlag.kSPARSE_WEIGHTS);
            if (!cfg.shapes().isEmpty()) {
                IOptimizationProfile p = builder.createOptimizationProfile();
                for (ShapeProfile s : cfg.shapes()) {
                    if (!p.setDimensions(s.name(), OptProfileSelector.kMIN, dims(s.min())) || !p.setDimensions(s.name(), OptProfileSelector.kOPT, dims(s.opt()))
                            || !p.setDimensions(s.name(), OptProfileSelector.kMAX, dims(s.max()))) {
                        throw fail("TensorRT rejected the shape profile " + s, log);
                    }
                }
                if (conf.addOptimizationProfile(p) < 0) throw fail("TensorRT rejected the optimization profile", log);
            }
            byte[] tc = timingCache == null ? new byte[0] : timingCache;
            cacheBytes = new BytePointer(Math.max(1, tc.length));
            cacheBytes.put(tc);
            cache = conf.createTimingCache(cacheBytes, tc.length);
            if (cache == null || !conf.setTimingCache(cache, false)) throw fail("the timing cache could not be used (a cache from another TensorRT or GPU?)", log);
            plan = builder.buildSerializedNetwork(net, conf);
            if (plan == null || plan.size() == 0) throw fail("TensorRT could not build the engine", log);
            byte[] bytes = new byte[Math.toIntExact(plan.size())];
            new BytePointer(plan.data()).capacity(plan.size()).get(bytes);
            byte[] newCache = null;
            if (timingCache != null || cfg.timingCache() != null) {
                IHostMemory m = conf.getTimingCache().serialize();
                newCache = new byte[Math.toIntExact(m.size())];
                new BytePointer(m.data()).capacity(m.size()).get(newCache);
                m.deallocate();
            }
            runtime = createInferRuntime(log);
            engine = runtime.deserializeCudaEngine(plan.data(), plan.size());
            if (engine == null) throw fail("the built engine could not be deserialized", log);
            inspector = engine.createEngineInspector();
            String json = inspector.getEngineInformation(LayerInformationFormat.kJSON);
            return new Built(bytes, json, newCache);
        } finally {
            for (org.bytedeco.javacpp.Pointer p : new org.bytedeco.javacpp.Pointer[] {inspector, engine, runtime, plan, cache, conf, parser, net, builder, model, cacheBytes}) {
                if (p != null) p.deallocate();
            }
        }
    }

    private static Dims64 dims(long[] s) {
        Dims64 d = new Dims64();
        d.nbDims(s.length);
        for (int i = 0; i < s.length; i++) d.d(i, s[i]);
        return d;
    }

    private static ModelException fail(String what, Log log) {
        return new ModelException(what + (log.errors.isEmpty() ? "" : ": " + String.join("; ", log.errors)));
    }
}
