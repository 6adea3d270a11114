package io.condense.backend.cpu;

import io.condense.ir.DType;
import io.condense.ir.ModelException;
import io.condense.ir.Node;
import org.nd4j.linalg.api.ndarray.INDArray;

/** What a kernel sees: the node (attributes), the opset in force, and its input arrays. */
public final class OpContext {
    private final Node node;
    private final int opset;
    private final INDArray[] inputs;
    private final DType[] declared;

    public OpContext(Node node, int opset, INDArray[] inputs, DType[] declared) {
        this.node = node;
        this.opset = opset;
        this.inputs = inputs;
        this.declared = declared;
    }

    public Node node() { return node; }

    /** Opset version of the node's domain. */
    public int opset() { return opset; }

    public int inputCount() { return inputs.length; }

    /** Input {@code i}; throws a clear error if it is required but missing. */
    public INDArray in(int i) {
        INDArray a = i < inputs.length ? inputs[i] : null;
        if (a == null) throw new ModelException("node " + node.label() + " needs input " + i);
        return a;
    }

    /** Input {@code i}, or null when omitted. */
    public INDArray opt(int i) { return i < inputs.length ? inputs[i] : null; }

    public boolean has(int i) { return opt(i) != null; }

    /** The statically known IR type of input {@code i} (distinguishes INT4 from INT8), or null. */
    public DType declaredType(int i) { return i < declared.length ? declared[i] : null; }

    public long attrLong(String k, long d) { return node.attrLong(k, d); }

    public float attrFloat(String k, float d) { return node.attrFloat(k, d); }

    public String attrString(String k, String d) { return node.attrString(k, d); }

    public long[] attrLongs(String k, long[] d) { return node.attrLongs(k, d); }

    public float[] attrFloats(String k, float[] d) { return node.attrFloats(k, d); }

    public ModelException error(String msg) { return new ModelException("node " + node.label() + ": " + msg); }

    public static INDArray[] one(INDArray a) { return new INDArray[] {a}; }
}
