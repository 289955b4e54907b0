package dev.nexusquant.kv;

import dev.nexusquant.engine.kv.KvCache;
import dev.nexusquant.engine.tensor.Kernels;
import dev.nexusquant.kv.attention.AttentionKernels;
import dev.nexusquant.vector.Vectorization;
import org.junit.jupiter.api.Test;

import static org.junit.jupiter.api.Assertions.assertFalse;
import static org.junit.jupiter.api.Assertions.assertSame;
import static org.junit.jupiter.api.Assertions.assertTrue;

/**
 * Runs only in the surefire execution {@code without-vector-module} (see the pom), in a JVM started WITHOUT
 * {@code --add-modules jdk.incubator.vector}, together with {@link CompressedKvCacheTest}: a library user who does not
 * add the module gets the scalar kernels, not a linkage error.
 */
class ScalarPathTest {

    @Test
    void theCacheRunsOnTheScalarKernels() {
        assertTrue(ModuleLayer.boot().findModule("jdk.incubator.vector").isEmpty(),
                "this test is meant for a JVM without jdk.incubator.vector");
        assertFalse(Vectorization.enabled(), Vectorization.describe());
        assertSame(AttentionKernels.scalar(), AttentionKernels.preferred());
        assertSame(Kernels.scalar(), Kernels.preferred());
        // the presets use E8 codes, the Hadamard rotation and SnapKV: all of them on the scalar path
        KvCache cache = Quality.BALANCED.config().create(CompressedKvCacheTest.LAYOUT);
        var d = new CompressedKvCacheTest.Driver(CompressedKvCacheTest.LAYOUT, cache, 7);
        d.step(200, false, false, 0, "prompt");
        cache.endOfPrompt();
        for (int i = 0; i < 40; i++) d.step(1, true, true, 0.5, "decode on the scalar path");
        assertTrue(cache.stats().ratio() > 1, "it compressed: " + cache.stats());
    }
}
