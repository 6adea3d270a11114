package io.condense.ir;

import org.junit.jupiter.api.Test;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertTrue;

class HalfTest {
    @Test
    void knownHalfValues() {
        assertEquals(0x3C00, Half.fromFloat(1f) & 0xFFFF);
        assertEquals(0xC000, Half.fromFloat(-2f) & 0xFFFF);
        assertEquals(0x7BFF, Half.fromFloat(65504f) & 0xFFFF);
        assertEquals(0x7C00, Half.fromFloat(70000f) & 0xFFFF, "overflow rounds to +inf");
        assertEquals(0x0001, Half.fromFloat(5.9604645e-8f) & 0xFFFF, "smallest subnormal");
        assertEquals(0x3555, Half.fromFloat(1f / 3f) & 0xFFFF);
        assertEquals(65504f, Half.toFloat((short) 0x7BFF));
        assertEquals(6.1035156e-5f, Half.toFloat((short) 0x0400), "smallest normal");
        assertTrue(Float.isNaN(Half.toFloat(Half.fromFloat(Float.NaN))));
    }

    @Test
    void everyHalfRoundTripsThroughFloat() {
        for (int h = 0; h < 0x10000; h++) {
            float f = Half.toFloat((short) h);
            if (Float.isNaN(f)) continue;
            assertEquals(h, Half.fromFloat(f) & 0xFFFF, "half bits " + Integer.toHexString(h));
        }
    }

    @Test
    void roundsHalfToEven() {
        // 1 + 2^-11 lies halfway between 1 and the next half (1 + 2^-10): ties go to the even mantissa (1.0)
        assertEquals(0x3C00, Half.fromFloat(1f + (float) Math.pow(2, -11)) & 0xFFFF);
        // 1 + 3*2^-11 lies halfway between 1+2^-10 (odd) and 1+2^-9 (even)
        assertEquals(0x3C02, Half.fromFloat(1f + 3f * (float) Math.pow(2, -11)) & 0xFFFF);
    }

    @Test
    void bfloat16() {
        assertEquals(0x3F80, Half.floatToBf16(1f) & 0xFFFF);
        assertEquals(1f, Half.bf16ToFloat((short) 0x3F80));
        assertEquals(0x4049, Half.floatToBf16(3.14159f) & 0xFFFF);
        for (int b = 0; b < 0x10000; b++) {
            float f = Half.bf16ToFloat((short) b);
            if (!Float.isNaN(f)) assertEquals(b, Half.floatToBf16(f) & 0xFFFF);
        }
    }
}
