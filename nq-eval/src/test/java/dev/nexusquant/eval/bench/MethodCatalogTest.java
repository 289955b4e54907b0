package dev.nexusquant.eval.bench;

import org.junit.jupiter.api.Test;

import java.util.ArrayList;
import java.util.List;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertThrows;
import static org.junit.jupiter.api.Assertions.assertTrue;

class MethodCatalogTest {

    private static List<String> labels(List<Method> ms) {
        return ms.stream().map(m -> m.family() + " " + m.label()).toList();
    }

    @Test
    void slicesOfAGroupPutTogetherAreTheGroup() {
        List<Method> grid = MethodCatalog.select(List.of("grid"));
        List<Method> pieces = new ArrayList<>();
        pieces.addAll(MethodCatalog.select(List.of("grid:1-4")));
        pieces.addAll(MethodCatalog.select(List.of("grid:5")));
        pieces.addAll(MethodCatalog.select(List.of("GRID:6-" + grid.size())));
        assertEquals(labels(grid), labels(pieces));
        assertEquals(4, MethodCatalog.select(List.of("grid:1-4")).size());
        assertEquals(labels(grid.subList(4, 5)), labels(MethodCatalog.select(List.of("grid:5"))));
    }

    @Test
    void slicesMixWithWholeGroupsInOrder() {
        List<Method> ms = MethodCatalog.select(List.of("fp16", "eviction:2-3", "nexusquant"));
        List<Method> ev = MethodCatalog.select(List.of("eviction"));
        assertEquals("fp16 fp16", labels(ms).getFirst());
        assertEquals(labels(ev.subList(1, 3)), labels(ms.subList(1, 3)));
        assertTrue(labels(ms).getLast().startsWith("NexusQuant "));
    }

    @Test
    void badSlicesAreRefusedWithTheGroupSize() {
        int n = MethodCatalog.select(List.of("eviction")).size();
        IllegalArgumentException e = assertThrows(IllegalArgumentException.class,
                () -> MethodCatalog.select(List.of("eviction:2-" + (n + 1))));
        assertTrue(e.getMessage().contains("1-" + n), e.getMessage());
        assertThrows(IllegalArgumentException.class, () -> MethodCatalog.select(List.of("eviction:0")));
        assertThrows(IllegalArgumentException.class, () -> MethodCatalog.select(List.of("eviction:3-2")));
        assertThrows(IllegalArgumentException.class, () -> MethodCatalog.select(List.of("eviction:x")));
        assertThrows(IllegalArgumentException.class, () -> MethodCatalog.select(List.of("all:1")));
        assertThrows(IllegalArgumentException.class, () -> MethodCatalog.select(List.of("nosuch:1")));
    }
}
