package io.condense.export.trt;

import io.condense.ir.DType;
import io.condense.ir.Dim;
import io.condense.ir.Graph;
import io.condense.ir.ModelException;
import io.condense.ir.Node;
import io.condense.ir.TensorType;
import io.condense.ir.ValueInfo;
import org.junit.jupiter.api.Test;

import java.util.List;
import java.util.Map;

import static org.junit.jupiter.api.Assertions.assertArrayEquals;
import static org.junit.jupiter.api.Assertions.assertDoesNotThrow;
import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertThrows;
import static org.junit.jupiter.api.Assertions.assertTrue;

class ShapeProfileTest {
    static Graph bert() {
        TensorType t = new TensorType(DType.INT64, List.of(Dim.symbol("batch"), Dim.symbol("seq")));
        TensorType img = new TensorType(DType.FLOAT32, List.of(Dim.symbol("n"), Dim.of(3), Dim.of(8), Dim.of(8)));
        return Graph.builder().opset("", 17)
                .addInput(new ValueInfo("input_ids", t)).addInput(new ValueInfo("attention_mask", t)).addInput(new ValueInfo("image", img))
                .addNode(new Node("a", "Identity", "", List.of("input_ids"), List.of("y"), Map.of()))
                .addNode(new Node("b", "Identity", "", List.of("attention_mask"), List.of("z"), Map.of()))
                .addNode(new Node("c", "Identity", "", List.of("image"), List.of("w"), Map.of()))
                .addOutput(new ValueInfo("y", t)).addOutput(new ValueInfo("z", t)).addOutput(new ValueInfo("w", img)).build();
    }

    @Test
    void parsesTrtexecStyle() {
        ShapeProfile p = ShapeProfile.parse("input_ids:1x128/8x128/64x128");
        assertEquals("input_ids", p.name());
        assertArrayEquals(new long[] {1, 128}, p.min());
        assertArrayEquals(new long[] {8, 128}, p.opt());
        assertArrayEquals(new long[] {64, 128}, p.max());
        ShapeProfile one = ShapeProfile.parse("image:4x3x8x8");
        assertArrayEquals(one.min(), one.max());
        assertEquals("input_ids:1x128/8x128/64x128", p.toString());
        assertEquals("a:b:1x2/1x2/1x2", ShapeProfile.parse("a:b:1x2").toString()); // names may contain ':'
    }

    @Test
    void rejectsMalformedAndUnordered() {
        for (String bad : new String[] {"input_ids", ":1x2", "x:", "x:1x2/3x4", "x:1xa/1x2/1x2", "x:1x2/1x2x3/1x2", "x:0x2/1x2/1x2"}) {
            assertThrows(ModelException.class, () -> ShapeProfile.parse(bad), bad);
        }
        ModelException e = assertThrows(ModelException.class, () -> ShapeProfile.parse("x:8x128/4x128/64x128"));
        assertTrue(e.getMessage().contains("dimension 0 needs min <= opt <= max, got 8/4/64"), e.getMessage());
    }

    @Test
    void validatesAgainstTheModel() {
        Graph g = bert();
        List<ShapeProfile> ok = List.of(ShapeProfile.parse("input_ids:1x16/8x16/64x16"), ShapeProfile.parse("attention_mask:1x16/8x16/64x16"),
                ShapeProfile.parse("image:1x3x8x8/2x3x8x8/4x3x8x8"));
        assertDoesNotThrow(() -> ShapeProfile.validate(ok, g));
        ModelException missing = assertThrows(ModelException.class, () -> ShapeProfile.validate(ok.subList(0, 1), g));
        assertTrue(missing.getMessage().contains("attention_mask") && missing.getMessage().contains("image"), missing.getMessage());
        ModelException unknown = assertThrows(ModelException.class, () -> ShapeProfile.validate(List.of(ShapeProfile.parse("ids:1x1")), g));
        assertTrue(unknown.getMessage().contains("no input of that name (inputs: input_ids, attention_mask, image)"), unknown.getMessage());
        ModelException rank = assertThrows(ModelException.class, () -> ShapeProfile.validate(List.of(ShapeProfile.parse("input_ids:1x2x3")), g));
        assertTrue(rank.getMessage().contains("rank 2"), rank.getMessage());
        ModelException fixed = assertThrows(ModelException.class, () -> ShapeProfile.validate(List.of(ShapeProfile.parse("image:1x4x8x8")), g));
        assertTrue(fixed.getMessage().contains("dimension 1 is fixed at 3"), fixed.getMessage());
        ModelException twice = assertThrows(ModelException.class, () -> ShapeProfile.validate(List.of(ok.get(0), ok.get(0)), g));
        assertTrue(twice.getMessage().contains("given twice"), twice.getMessage());
    }
}
