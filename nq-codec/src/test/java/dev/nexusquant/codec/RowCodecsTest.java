package dev.nexusquant.codec;

import dev.nexusquant.codec.baseline.KiviCodec;
import dev.nexusquant.codec.baseline.LloydMaxCodec;
import dev.nexusquant.codec.e8.E8Codec;
import org.junit.jupiter.api.Test;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertInstanceOf;
import static org.junit.jupiter.api.Assertions.assertThrows;
import static org.junit.jupiter.api.Assertions.assertTrue;

/** The codec table: every row parses, builds, boosts and is listed; errors name what is wrong. */
class RowCodecsTest {

    /** One name per row of the table, in its order. */
    static final String[] EXAMPLES = {"e8:2", "fp32", "fp16", "fp8", "q8_0", "q4_0", "kivi2", "tq2.5"};

    @Test
    void everyRowBuildsACodecAndIsListed() {
        assertEquals(RowCodecs.TABLE.size(), EXAMPLES.length, "one example per row");
        for (int i = 0; i < EXAMPLES.length; i++) {
            VectorCompressor c = RowCodecs.create(EXAMPLES[i], 128, true);
            assertEquals(128, c.dimension(), EXAMPLES[i]);
            assertTrue(RowCodecs.TABLE.get(i).names().matcher(EXAMPLES[i]).matches(), EXAMPLES[i] + " is row " + i);
            assertTrue(RowCodecs.known().contains(RowCodecs.TABLE.get(i).syntax()));
            assertTrue(RowCodecs.help().get(i).startsWith(RowCodecs.TABLE.get(i).syntax()));
        }
        assertInstanceOf(E8Codec.class, RowCodecs.create("E8:3/32", 128, false), "names are case-insensitive");
        assertInstanceOf(KiviCodec.class, RowCodecs.create(" kivi4 ", 64, false));
        assertInstanceOf(LloydMaxCodec.class, RowCodecs.create("tq3", 64, true));
        assertEquals(RowCodecs.create("f16", 64, true).bytesPerBlock(), RowCodecs.create("fp16", 64, true).bytesPerBlock());
    }

    @Test
    void boostedIsTwoBitsRicher() {
        assertEquals("e8:4", RowCodecs.boosted("e8:2"));
        assertEquals("e8:4", RowCodecs.boosted("e8:3"));
        assertEquals("e8:4/32", RowCodecs.boosted("e8:4/32"));
        assertEquals("e8:3/16", RowCodecs.boosted("e8:1/16"));
        assertEquals("kivi4", RowCodecs.boosted("kivi2"));
        assertEquals("q8_0", RowCodecs.boosted("q4_0"));
        assertEquals("fp16", RowCodecs.boosted("fp16"), "no richer codec: the same");
        assertEquals("Tq2.5", RowCodecs.boosted("Tq2.5"), "unchanged names come back as given");
    }

    @Test
    void validatesAtTheRealHeadSize() {
        RowCodecs.validate("e8:2/48");                     // a name the table knows
        RowCodecs.validate("e8:2/48", 96);                 // and a codec for head_dim 96
        IllegalArgumentException e = assertThrows(IllegalArgumentException.class, () -> RowCodecs.validate("e8:2/48", 64));
        assertTrue(e.getMessage().contains("head_dim 64") && e.getMessage().contains("e8:2/48"), e.getMessage());
        e = assertThrows(IllegalArgumentException.class, () -> RowCodecs.create("e8:2", 100, true));
        assertTrue(e.getMessage().contains("multiple of 8"), e.getMessage());
    }

    @Test
    void unknownNamesListTheKnownOnes() {
        for (String bad : new String[]{"q3_7", "e8:5", "e8:", "kivi9", "tq1", "e8:2/99999999999", ""}) {
            IllegalArgumentException e = assertThrows(IllegalArgumentException.class, () -> RowCodecs.validate(bad), bad);
            assertTrue(e.getMessage().contains("'" + bad + "'") && e.getMessage().contains(RowCodecs.known()), e.getMessage());
        }
        assertThrows(IllegalArgumentException.class, () -> RowCodecs.validate(null));
    }
}
