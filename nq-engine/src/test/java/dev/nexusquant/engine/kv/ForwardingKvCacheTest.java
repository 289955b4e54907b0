package dev.nexusquant.engine.kv;

import dev.nexusquant.codec.state.StateOutput;
import org.junit.jupiter.api.Test;

import java.lang.reflect.Method;
import java.lang.reflect.Modifier;
import java.lang.reflect.Proxy;
import java.util.ArrayList;
import java.util.Arrays;
import java.util.List;

import static org.junit.jupiter.api.Assertions.assertArrayEquals;
import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertSame;
import static org.junit.jupiter.api.Assertions.assertThrows;
import static org.junit.jupiter.api.Assertions.assertTrue;

class ForwardingKvCacheTest {

    /** What the wrapped cache saw: one entry per call, the method and its arguments. */
    private record Call(Method method, Object[] args) {
    }

    @Test
    void everyMethodOfTheInterfaceIsForwardedWithItsArgumentsAndResult() throws Exception {
        List<Call> seen = new ArrayList<>();
        KvStats stats = new KvStats(9, 4.5, 100, 400, 200, "inner");
        PromptReplay replay = new PromptReplay(true, 3, true, false);
        KvCache inner = (KvCache) Proxy.newProxyInstance(KvCache.class.getClassLoader(), new Class<?>[]{KvCache.class},
                (proxy, method, args) -> {
                    seen.add(new Call(method, args == null ? new Object[0] : args));
                    Class<?> r = method.getReturnType();
                    if (r == long.class) return 42L;
                    if (r == int.class) return 7;
                    if (r == String.class) return "from " + method.getName();
                    if (r == KvStats.class) return stats;
                    if (r == PromptReplay.class) return replay;
                    return null; // void, and the layout (a record whose identity is all that is checked)
                });
        KvCache wrapper = new ForwardingKvCache(inner) { };

        int checked = 0;
        for (Method m : KvCache.class.getMethods()) {
            if (Modifier.isStatic(m.getModifiers())) continue;
            // the wrapper must declare the method itself (a default method of the interface would not forward)
            Method own = ForwardingKvCache.class.getDeclaredMethod(m.getName(), m.getParameterTypes());
            assertTrue(Modifier.isPublic(own.getModifiers()), own.toString());

            Object[] args = Arrays.stream(m.getParameterTypes()).map(ForwardingKvCacheTest::argument).toArray();
            seen.clear();
            Object result = m.invoke(wrapper, args);
            assertEquals(1, seen.size(), m.getName() + " reached the wrapped cache once");
            assertEquals(m, seen.getFirst().method(), m.getName());
            assertArrayEquals(args, seen.getFirst().args(), m.getName() + "'s arguments");
            for (int i = 0; i < args.length; i++) assertSame(args[i], seen.getFirst().args()[i]);
            Class<?> r = m.getReturnType();
            if (r == long.class) assertEquals(42L, result);
            else if (r == int.class) assertEquals(7, result);
            else if (r == String.class) assertEquals("from " + m.getName(), result);
            else if (r == KvStats.class) assertSame(stats, result);
            else if (r == PromptReplay.class) assertSame(replay, result);
            checked++;
        }
        assertTrue(checked >= 15, "every method of KvCache checked: " + checked);
    }

    @Test
    void aWrapperOverridesWhatItAddsAndKeepsTheRest() {
        List<String> log = new ArrayList<>();
        DenseKvCache dense = new DenseKvCache(DenseKvCacheTest.LAYOUT, DenseKvCache.Precision.FP32);
        KvCache counting = new ForwardingKvCache(dense) {
            @Override
            public void append(int layer, int n, int[] positions, float[] keys, float[] values) {
                log.add("append " + n);
                super.append(layer, n, positions, keys, values);
            }
        };
        int kvDim = DenseKvCacheTest.LAYOUT.kvDim();
        counting.append(0, 2, new int[]{0, 1}, new float[2 * kvDim], new float[2 * kvDim]);
        assertEquals(List.of("append 2"), log);
        assertEquals(2, counting.tokensSeen());
        assertEquals(dense.stats(), counting.stats());
        assertSame(dense, ((ForwardingKvCache) counting).inner());
        assertThrows(NullPointerException.class, () -> new ForwardingKvCache(null) { });
    }

    private static Object argument(Class<?> type) {
        if (type == int.class) return 3;
        if (type == long.class) return 5L;
        if (type == int[].class) return new int[]{1, 2};
        if (type == float[].class) return new float[]{0.5f};
        if (type == StateOutput.class) return new StateOutput();
        throw new AssertionError("no test argument for " + type + ": add one");
    }
}
