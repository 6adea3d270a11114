package io.condense.ir;

import java.util.LinkedHashMap;
import java.util.List;
import java.util.Map;

/**
 * One operator application. An empty string in {@code inputs} or {@code outputs} marks an omitted optional
 * argument, as in ONNX. {@code domain} is "" for the default {@code ai.onnx} domain.
 */
public record Node(String name, String opType, String domain, List<String> inputs, List<String> outputs,
                   Map<String, Attribute> attributes) {
    public Node {
        name = name == null ? "" : name;
        domain = domain == null || domain.equals("ai.onnx") ? "" : domain;
        inputs = List.copyOf(inputs);
        outputs = List.copyOf(outputs);
        attributes = java.util.Collections.unmodifiableMap(new LinkedHashMap<>(attributes));
    }

    public static Node of(String opType, List<String> inputs, List<String> outputs, Map<String, Attribute> attrs) {
        return new Node("", opType, "", inputs, outputs, attrs);
    }

    /** Input {@code i}, or "" when absent or omitted. */
    public String input(int i) { return i < inputs.size() ? inputs.get(i) : ""; }

    public boolean hasInput(int i) { return !input(i).isEmpty(); }

    public String output(int i) { return i < outputs.size() ? outputs.get(i) : ""; }

    public Attribute attr(String key) { return attributes.get(key); }

    public boolean hasAttr(String key) { return attributes.containsKey(key); }

    public long attrLong(String key, long dflt) {
        Attribute a = attributes.get(key);
        return a == null ? dflt : a.asLong();
    }

    public float attrFloat(String key, float dflt) {
        Attribute a = attributes.get(key);
        return a == null ? dflt : a.asFloat();
    }

    public String attrString(String key, String dflt) {
        Attribute a = attributes.get(key);
        return a == null ? dflt : a.asString();
    }

    /** The INTS attribute, or {@code dflt} (may be null) when missing. */
    public long[] attrLongs(String key, long[] dflt) {
        Attribute a = attributes.get(key);
        return a == null ? dflt : a.asLongs();
    }

    public float[] attrFloats(String key, float[] dflt) {
        Attribute a = attributes.get(key);
        return a == null ? dflt : a.asFloats();
    }

    /** A name for messages: the node's name if set, else its op type and first output. */
    public String label() {
        String out = outputs.isEmpty() ? "" : outputs.get(0);
        return (name.isEmpty() ? "" : "'" + name + "' ") + "(" + (domain.isEmpty() ? "" : domain + ".") + opType
                + (out.isEmpty() ? "" : " -> " + out) + ")";
    }

    public Node withInputs(List<String> in) { return new Node(name, opType, domain, in, outputs, attributes); }

    public Node withOutputs(List<String> out) { return new Node(name, opType, domain, inputs, out, attributes); }

    public Node withAttributes(Map<String, Attribute> a) { return new Node(name, opType, domain, inputs, outputs, a); }

    public Node withAttribute(String key, Attribute value) {
        Map<String, Attribute> a = new LinkedHashMap<>(attributes);
        a.put(key, value);
        return withAttributes(a);
    }
}
