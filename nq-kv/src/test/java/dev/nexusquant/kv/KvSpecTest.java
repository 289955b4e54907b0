package dev.nexusquant.kv;

import dev.nexusquant.kv.eviction.SnapKvEviction;
import org.junit.jupiter.api.Test;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertThrows;
import static org.junit.jupiter.api.Assertions.assertTrue;

class KvSpecTest {

    @Test
    void parsesOverridesAndFormatsBackToTheSameConfiguration() {
        KvCompression c = KvSpec.parse("k=q4_0,v=kivi2,evict=snapkv:0.4,sinks=2,obs=16,pool=5,window=64,block=16,"
                + "wprec=f16,rot=on,seed=42,keys=post,center=kv,mem=64M,staging=4096,L0=fp16/fp16,pin=4,age=300,ak=e8:2,av=e8:1");
        assertEquals(300, c.ageAfter());
        assertEquals("e8:2", c.agedKeyCodec());
        assertEquals("e8:1", c.agedValueCodec());
        assertEquals(4, c.pin());
        assertEquals("q4_0", c.keyCodec());
        assertEquals("kivi2", c.valueCodec());
        assertEquals("fp16", c.keyCodecFor(0, 8));
        assertEquals("q4_0", c.keyCodecFor(1, 8));
        KvCompression last = KvSpec.parse("k=e8:2,v=e8:2,L-1=e8:4/e8:3,L3=fp16/fp16");
        assertEquals("e8:4", last.keyCodecFor(7, 8));
        assertEquals("e8:3", last.valueCodecFor(9, 10));
        assertEquals("e8:2", last.keyCodecFor(6, 8));
        assertEquals("fp16", last.keyCodecFor(3, 4), "an exact index wins over -1");
        assertEquals(last, KvSpec.parse(KvSpec.format(last)));
        assertEquals(new SnapKvEviction(0.4, 2, 16, 5), c.eviction());
        assertEquals(64, c.window());
        assertEquals(16, c.block());
        assertEquals(KvCompression.Precision.F16, c.windowPrecision());
        assertTrue(c.rotate());
        assertEquals(42, c.seed());
        assertTrue(c.centerKeys() && c.centerValues());
        assertEquals(64L << 20, c.memoryBudget());
        assertEquals(4096, c.stagingLimit());
        assertEquals(c, KvSpec.parse(KvSpec.format(c)));
    }

    @Test
    void sizes() {
        assertEquals(4096, KvSpec.parseSize("4096"));
        assertEquals(64L << 10, KvSpec.parseSize("64K"));
        assertEquals(64L << 10, KvSpec.parseSize("64KiB"));
        assertEquals((long) (1.5 * (1L << 30)), KvSpec.parseSize("1.5G"));
        assertEquals(2L << 30, KvSpec.parseSize("2GB"));
        assertThrows(IllegalArgumentException.class, () -> KvSpec.parseSize("lots"));
        assertThrows(IllegalArgumentException.class, () -> KvSpec.parseSize("-5M"));
        assertThrows(IllegalArgumentException.class, () -> KvSpec.parseSize("99999999T"));
    }

    @Test
    void badSpecsNameWhatIsWrong() {
        String[][] bad = {
                {"k=zip9", "zip9"},
                {"evict=snapkv:1.5", "keep ratio"},
                {"evict=random", "evict"},
                {"window=-3", "window"},
                {"window=ten", "not a number"},
                {"staging=99999999999", "out of range"},
                {"staging=0", "at least 1"},
                {"pool=4", "pool"},
                {"colour=red", "colour"},
                {"fancy", "fancy"},
                {"L1=fp16", "KCODEC/VCODEC"},
                {",", "empty --kv spec"}, // before: ArrayIndexOutOfBoundsException, "Index 0 out of bounds for length 0"
                {" , ,", "empty --kv spec"},
        };
        for (String[] b : bad) {
            IllegalArgumentException e = assertThrows(IllegalArgumentException.class, () -> KvSpec.parse(b[0]), b[0]);
            assertTrue(e.getMessage().contains(b[1]), b[0] + " -> " + e.getMessage());
        }
    }

    @Test
    void aLayerOverrideOutsideTheModelIsRefusedWhenTheCacheIsMade() {
        // before: L99=... on a 5-layer model was accepted and silently ignored
        var rope = new dev.nexusquant.engine.kv.RopeSpec(dev.nexusquant.engine.kv.RopeSpec.Style.ADJACENT, 10000, 1, 64);
        var layout = new dev.nexusquant.engine.kv.KvLayout(5, 4, 2, 64, 512, rope);
        for (String ok : new String[]{"L0=fp16/fp16", "L4=fp16/fp16", "L-1=fp16/fp16", "L-5=fp16/fp16"}) {
            try (var cache = KvSpec.parse("k=e8:2,v=e8:2," + ok).create(layout)) {
                assertTrue(cache.settings().contains(ok.substring(0, ok.indexOf('='))), ok);
            }
        }
        for (String bad : new String[]{"L5=fp16/fp16", "L99=fp16/fp16", "L-6=fp16/fp16"}) {
            var e = assertThrows(IllegalArgumentException.class, () -> KvSpec.parse("k=e8:2,v=e8:2," + bad).create(layout), bad);
            assertTrue(e.getMessage().contains(bad.substring(0, bad.indexOf('='))) && e.getMessage().contains("the model has 5 layers"),
                    e.getMessage());
        }
    }

    @Test
    void aMissingBasisFileIsNamed() {
        IllegalArgumentException e = assertThrows(IllegalArgumentException.class,
                () -> ModelBasis.load("/no/such/dir/bases.klt"));
        assertTrue(e.getMessage().contains("/no/such/dir/bases.klt: no such file"), e.getMessage());
    }
}
