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
import com.google.protobuf.CodedInputStream;
import com.google.protobuf.InvalidProtocolBufferException;
import io.condense.ir.Attribute;
import io.condense.ir.DType;
import io.condense.ir.Dim;
import io.condense.ir.Graph;
import io.condense.ir.GraphValidator;
import io.condense.ir.ModelException;
import io.condense.ir.Node;
import io.condense.ir.Tensor;
import io.condense.ir.TensorType;
import io.condense.ir.ValueInfo;

import java.nio.file.Path;
import java.util.ArrayList;
import java.util.HashSet;
import java.util.LinkedHashMap;
import java.util.List;
import java.util.Map;
import java.util.Set;

/** Reads ONNX models (the generated {@code ai.onnx.proto.OnnxMl} classes) into the graph IR. */
public final class OnnxImporter {
    private OnnxImporter() {}

    /** Loads and validates a model file (.onnx, or a jar/zip holding one); every problem is a {@link ModelException} with a one-line message. */
    public static Graph load(Path file) {
        if (ModelSource.isArchive(file)) return ModelSource.graphFromArchive(file); // a .jar/.zip holding one .onnx
        byte[] bytes = ModelFiles.readAll(file, "model file");
        if (bytes.length == 0) throw new ModelException("model file is empty: " + file);
        return fromBytes(bytes, file.toAbsolutePath().getParent(), file.toString());
    }

    public static Graph fromBytes(byte[] bytes) { return fromBytes(bytes, null, "model"); }

    public static Graph fromBytes(byte[] bytes, Path baseDir, String what) {
        ModelProto proto;
        try {
            CodedInputStream in = CodedInputStream.newInstance(bytes);
            in.setSizeLimit(Integer.MAX_VALUE);
            in.setRecursionLimit(200);
            proto = ModelProto.parseFrom(in);
        } catch (InvalidProtocolBufferException e) {
            throw new ModelException(what + " is not a valid ONNX model (truncated or corrupt protobuf: "
                    + firstLine(e.getMessage()) + ")");
        } catch (java.io.IOException e) {
            throw new ModelException("cannot read " + what + ": " + e.getMessage());
        }
        try {
            Graph g = fromProto(proto, baseDir);
            GraphValidator.validate(g);
            return g;
        } catch (ModelException e) {
            throw new ModelException(what + ": " + e.getMessage(), e);
        } catch (RuntimeException e) {
            throw new ModelException(what + " is not a valid ONNX model (" + e + ")", e);
        }
    }

    public static Graph fromProto(ModelProto m, Path baseDir) {
        if (!m.hasGraph()) throw new ModelException("the model has no graph (not an ONNX model?)");
        if (m.getFunctionsCount() > 0) {
            throw new ModelException("model-local functions are not supported (" + m.getFunctions(0).getName() + ")");
        }
        Map<String, Integer> opsets = new LinkedHashMap<>();
        for (OperatorSetIdProto o : m.getOpsetImportList()) {
            String d = o.getDomain().equals("ai.onnx") ? "" : o.getDomain();
            opsets.put(d, (int) o.getVersion());
        }
        if (!opsets.containsKey("")) opsets.put("", 1);
        Graph.Builder b = graph(m.getGraph(), baseDir).toBuilder();
        b.opsets(opsets).irVersion(m.getIrVersion()).producer(m.getProducerName(), m.getProducerVersion());
        for (StringStringEntryProto e : m.getMetadataPropsList()) b.metadata(e.getKey(), e.getValue());
        return b.build();
    }

    /** Converts a GraphProto (top level or a subgraph attribute). */
    static Graph graph(GraphProto g, Path baseDir) {
        Graph.Builder b = Graph.builder().name(g.getName());
        if (g.getSparseInitializerCount() > 0) throw new ModelException("sparse initializers are not supported");
        Set<String> initNames = new HashSet<>();
        for (TensorProto t : g.getInitializerList()) {
            if (t.getName().isEmpty()) throw new ModelException("an initializer has no name");
            if (!initNames.add(t.getName())) throw new ModelException("initializer '" + t.getName() + "' is defined twice");
            b.initializer(t.getName(), TensorCodec.fromProto(t, baseDir));
        }
        for (ValueInfoProto v : g.getInputList()) {
            if (!initNames.contains(v.getName())) b.addInput(valueInfo(v));
        }
        for (ValueInfoProto v : g.getOutputList()) b.addOutput(valueInfo(v));
        for (ValueInfoProto v : g.getValueInfoList()) b.putValueInfo(valueInfo(v));
        for (NodeProto n : g.getNodeList()) b.addNode(node(n, baseDir));
        return b.build();
    }

    static ValueInfo valueInfo(ValueInfoProto v) {
        if (v.getName().isEmpty()) throw new ModelException("a graph input or output has no name");
        return new ValueInfo(v.getName(), type(v.getType()));
    }

    static TensorType type(TypeProto t) {
        if (!t.hasTensorType()) return TensorType.unknown();
        TypeProto.Tensor tt = t.getTensorType();
        DType dt = tt.getElemType() == 0 ? null : DType.fromOnnx(tt.getElemType());
        if (!tt.hasShape()) return new TensorType(dt, null);
        List<Dim> dims = new ArrayList<>();
        for (TensorShapeProto.Dimension d : tt.getShape().getDimList()) {
            if (d.hasDimValue()) {
                if (d.getDimValue() < 0) dims.add(Dim.UNKNOWN);
                else dims.add(Dim.of(d.getDimValue()));
            } else if (d.hasDimParam() && !d.getDimParam().isEmpty()) {
                dims.add(Dim.symbol(d.getDimParam()));
            } else {
                dims.add(Dim.UNKNOWN);
            }
        }
        return new TensorType(dt, dims);
    }

    static Node node(NodeProto n, Path baseDir) {
        if (n.getOpType().isEmpty()) throw new ModelException("node '" + n.getName() + "' has no op type");
        Map<String, Attribute> attrs = new LinkedHashMap<>();
        for (AttributeProto a : n.getAttributeList()) {
            if (!a.getRefAttrName().isEmpty()) {
                throw new ModelException("node '" + n.getName() + "': attribute references are only valid in functions");
            }
            attrs.put(a.getName(), attribute(a, baseDir));
        }
        return new Node(n.getName(), n.getOpType(), n.getDomain(), n.getInputList(), n.getOutputList(), attrs);
    }

    static Attribute attribute(AttributeProto a, Path baseDir) {
        AttributeProto.AttributeType type = a.getType();
        if (type == AttributeProto.AttributeType.UNDEFINED) type = guessType(a);
        return switch (type) {
            case FLOAT -> Attribute.of(a.getF());
            case INT -> Attribute.of(a.getI());
            case STRING -> Attribute.of(a.getS().toStringUtf8());
            case TENSOR -> Attribute.of(TensorCodec.fromProto(a.getT(), baseDir));
            case GRAPH -> Attribute.of(graph(a.getG(), baseDir));
            case FLOATS -> {
                float[] f = new float[a.getFloatsCount()];
                for (int i = 0; i < f.length; i++) f[i] = a.getFloats(i);
                yield Attribute.of(f);
            }
            case INTS -> Attribute.of(a.getIntsList().stream().mapToLong(Long::longValue).toArray());
            case STRINGS -> Attribute.ofStrings(a.getStringsList().stream().map(s -> s.toStringUtf8()).toList());
            case TENSORS -> Attribute.ofTensors(a.getTensorsList().stream().map(t -> TensorCodec.fromProto(t, baseDir)).toList());
            case GRAPHS -> Attribute.ofGraphs(a.getGraphsList().stream().map(g -> graph(g, baseDir)).toList());
            default -> throw new ModelException("attribute '" + a.getName() + "' has unsupported type " + a.getType());
        };
    }

    /** IR versions before 2 left the attribute type unset: infer it from the field that holds a value. */
    private static AttributeProto.AttributeType guessType(AttributeProto a) {
        if (a.hasF()) return AttributeProto.AttributeType.FLOAT;
        if (a.hasI()) return AttributeProto.AttributeType.INT;
        if (a.hasS()) return AttributeProto.AttributeType.STRING;
        if (a.hasT()) return AttributeProto.AttributeType.TENSOR;
        if (a.hasG()) return AttributeProto.AttributeType.GRAPH;
        if (a.getFloatsCount() > 0) return AttributeProto.AttributeType.FLOATS;
        if (a.getIntsCount() > 0) return AttributeProto.AttributeType.INTS;
        if (a.getStringsCount() > 0) return AttributeProto.AttributeType.STRINGS;
        if (a.getTensorsCount() > 0) return AttributeProto.AttributeType.TENSORS;
        if (a.getGraphsCount() > 0) return AttributeProto.AttributeType.GRAPHS;
        throw new ModelException("attribute '" + a.getName() + "' has no type and no value");
    }

    private static String firstLine(String s) {
        if (s == null) return "unknown error";
        int i = s.indexOf('\n');
        return i < 0 ? s : s.substring(0, i);
    }
}
