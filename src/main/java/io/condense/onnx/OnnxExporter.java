package io.condense.onnx;

import ai.onnx.proto.OnnxMl.AttributeProto;
import ai.onnx.proto.OnnxMl.GraphProto;
import ai.onnx.proto.OnnxMl.ModelProto;
import ai.onnx.proto.OnnxMl.NodeProto;
import ai.onnx.proto.OnnxMl.OperatorSetIdProto;
import ai.onnx.proto.OnnxMl.StringStringEntryProto;
import ai.onnx.proto.OnnxMl.TensorProto;
import ai.onnx.proto.OnnxMl.TensorShapeProto;
import ai.onnx.proto.OnnxMl.TypeProto;
import ai.onnx.proto.OnnxMl.ValueInfoProto;
import com.google.protobuf.ByteString;
import io.condense.ir.Attribute;
import io.condense.ir.Dim;
import io.condense.ir.Graph;
import io.condense.ir.Node;
import io.condense.ir.Tensor;
import io.condense.ir.TensorType;
import io.condense.ir.ValueInfo;

import java.nio.file.Path;
import java.util.Map;

/** Writes the graph IR as an ONNX model. Weights go to raw_data, or to an external data file when asked. */
public final class OnnxExporter {
    /** Above this many bytes of weights a model must use external data (protobuf's 2 GiB limit). */
    public static final long EXTERNAL_DATA_THRESHOLD = 1L << 30;

    private OnnxExporter() {}

    public static ModelProto toProto(Graph g) { return toProto(g, null); }

    private static ModelProto toProto(Graph g, ExternalData ext) {
        ModelProto.Builder m = ModelProto.newBuilder()
                .setIrVersion(Math.max(g.irVersion(), 3))
                .setProducerName(g.producerName().isEmpty() ? "condense" : g.producerName())
                .setProducerVersion(g.producerVersion())
                .setGraph(topGraph(g, ext));
        for (Map.Entry<String, Integer> e : g.opsets().entrySet()) {
            m.addOpsetImport(OperatorSetIdProto.newBuilder().setDomain(e.getKey()).setVersion(e.getValue()));
        }
        for (Map.Entry<String, String> e : g.metadata().entrySet()) {
            m.addMetadataProps(StringStringEntryProto.newBuilder().setKey(e.getKey()).setValue(e.getValue()));
        }
        return m.build();
    }

    /** The top-level graph; before IR version 4 every initializer must also be listed as a graph input. */
    private static GraphProto topGraph(Graph g, ExternalData ext) {
        GraphProto gp = graph(g, ext);
        if (Math.max(g.irVersion(), 3) >= 4) return gp;
        GraphProto.Builder b = gp.toBuilder();
        java.util.Set<String> listed = new java.util.HashSet<>();
        for (ValueInfo v : g.inputs()) listed.add(v.name());
        for (Map.Entry<String, Tensor> e : g.initializers().entrySet()) {
            if (listed.add(e.getKey())) b.addInput(valueInfo(new ValueInfo(e.getKey(), e.getValue().type())));
        }
        return b.build();
    }

    public static byte[] toBytes(Graph g) { return toProto(g).toByteArray(); }

    /**
     * The bytes of {@code g} as condense writes models to files: with value_info from
     * {@link io.condense.ir.ShapeInference#annotate} (what runtimes need to apply their shape-checked fusions).
     */
    public static byte[] toFileBytes(Graph g) { return toBytes(io.condense.ir.ShapeInference.annotate(g)); }

    /**
     * Saves {@code g} to {@code file} atomically. Models with over {@link #EXTERNAL_DATA_THRESHOLD} bytes of
     * weights keep large tensors in {@code <file name>.data} beside the model.
     */
    public static void save(Graph g, Path file) {
        g = io.condense.ir.ShapeInference.annotate(g);
        long bytes = 0;
        for (Tensor t : g.initializers().values()) bytes += t.dtype() == io.condense.ir.DType.STRING ? 0 : t.storageBytes();
        if (bytes <= EXTERNAL_DATA_THRESHOLD) {
            byte[] data = toBytes(g);
            ModelFiles.writeAtomically(file, out -> out.write(data));
            return;
        }
        String dataName = file.getFileName() + ".data";
        ExternalData ext = new ExternalData(dataName);
        ModelProto proto = toProto(g, ext);
        ModelFiles.writeAtomically(file.resolveSibling(dataName), out -> {
            for (byte[] chunk : ext.chunks) out.write(chunk);
        });
        ModelFiles.writeAtomically(file, proto::writeTo);
    }

    /** Collects tensors of at least 1 KiB into one external file while the proto is built. */
    private static final class ExternalData {
        final String location;
        final java.util.List<byte[]> chunks = new java.util.ArrayList<>();
        long offset;

        ExternalData(String location) { this.location = location; }

        TensorProto place(Tensor t, String name) {
            byte[] raw = TensorCodec.rawBytes(t);
            TensorProto.Builder b = TensorProto.newBuilder().setName(name).setDataType(t.dtype().onnxCode())
                    .setDataLocation(TensorProto.DataLocation.EXTERNAL);
            for (long d : t.shape()) b.addDims(d);
            b.addExternalData(entry("location", location));
            b.addExternalData(entry("offset", Long.toString(offset)));
            b.addExternalData(entry("length", Long.toString(raw.length)));
            chunks.add(raw);
            offset += raw.length;
            int pad = (int) ((4096 - offset % 4096) % 4096); // page-align the next tensor, like onnx does
            if (pad > 0) {
                chunks.add(new byte[pad]);
                offset += pad;
            }
            return b.build();
        }

        private static StringStringEntryProto entry(String k, String v) {
            return StringStringEntryProto.newBuilder().setKey(k).setValue(v).build();
        }
    }

    static GraphProto graph(Graph g, ExternalData ext) {
        GraphProto.Builder b = GraphProto.newBuilder().setName(g.name().isEmpty() ? "condense" : g.name());
        for (Map.Entry<String, Tensor> e : g.initializers().entrySet()) {
            Tensor t = e.getValue();
            boolean external = ext != null && t.dtype() != io.condense.ir.DType.STRING && t.storageBytes() >= 1024;
            b.addInitializer(external ? ext.place(t, e.getKey()) : TensorCodec.toProto(t, e.getKey()));
        }
        for (ValueInfo v : g.inputs()) b.addInput(valueInfo(v));
        for (ValueInfo v : g.outputs()) b.addOutput(valueInfo(v));
        for (ValueInfo v : g.valueInfo().values()) b.addValueInfo(valueInfo(v));
        for (Node n : g.nodes()) b.addNode(node(n));
        return b.build();
    }

    static ValueInfoProto valueInfo(ValueInfo v) {
        ValueInfoProto.Builder b = ValueInfoProto.newBuilder().setName(v.name());
        TensorType t = v.type();
        if (t.dtype() == null && !t.hasRank()) return b.build();
        TypeProto.Tensor.Builder tt = TypeProto.Tensor.newBuilder();
        if (t.dtype() != null) tt.setElemType(t.dtype().onnxCode());
        if (t.hasRank()) {
            TensorShapeProto.Builder s = TensorShapeProto.newBuilder();
            for (Dim d : t.dims()) {
                TensorShapeProto.Dimension.Builder db = TensorShapeProto.Dimension.newBuilder();
                if (d.isKnown()) db.setDimValue(d.value());
                else if (d.symbol() != null) db.setDimParam(d.symbol());
                s.addDim(db);
            }
            tt.setShape(s);
        }
        return b.setType(TypeProto.newBuilder().setTensorType(tt)).build();
    }

    static NodeProto node(Node n) {
        NodeProto.Builder b = NodeProto.newBuilder().setOpType(n.opType()).addAllInput(n.inputs()).addAllOutput(n.outputs());
        if (!n.name().isEmpty()) b.setName(n.name());
        if (!n.domain().isEmpty()) b.setDomain(n.domain());
        for (Map.Entry<String, Attribute> e : n.attributes().entrySet()) b.addAttribute(attribute(e.getKey(), e.getValue()));
        return b.build();
    }

    static AttributeProto attribute(String name, Attribute a) {
        AttributeProto.Builder b = AttributeProto.newBuilder().setName(name);
        switch (a.kind()) {
            case FLOAT -> b.setType(AttributeProto.AttributeType.FLOAT).setF(a.asFloat());
            case INT -> b.setType(AttributeProto.AttributeType.INT).setI(a.asLong());
            case STRING -> b.setType(AttributeProto.AttributeType.STRING).setS(ByteString.copyFromUtf8(a.asString()));
            case TENSOR -> b.setType(AttributeProto.AttributeType.TENSOR).setT(TensorCodec.toProto(a.asTensor(), null));
            case GRAPH -> b.setType(AttributeProto.AttributeType.GRAPH).setG(graph(a.asGraph(), null));
            case FLOATS -> {
                b.setType(AttributeProto.AttributeType.FLOATS);
                for (float f : a.asFloats()) b.addFloats(f);
            }
            case INTS -> {
                b.setType(AttributeProto.AttributeType.INTS);
                for (long l : a.asLongs()) b.addInts(l);
            }
            case STRINGS -> {
                b.setType(AttributeProto.AttributeType.STRINGS);
                for (String s : a.asStrings()) b.addStrings(ByteString.copyFromUtf8(s));
            }
            case TENSORS -> {
                b.setType(AttributeProto.AttributeType.TENSORS);
                for (Tensor t : a.asTensors()) b.addTensors(TensorCodec.toProto(t, null));
            }
            case GRAPHS -> {
                b.setType(AttributeProto.AttributeType.GRAPHS);
                for (Graph g : a.asGraphs()) b.addGraphs(graph(g, null));
            }
        }
        return b.build();
    }
}
