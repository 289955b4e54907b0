package dev.nexusquant.bench;

import org.junit.jupiter.api.Test;

import java.util.List;
import java.util.Map;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertThrows;

class ColdStartTest {

    @Test
    void settingsNameTheirEnvironment() {
        ColdStart.Setting s = ColdStart.Setting.parse("aot|NQ_AOT=on|NQ_JAVA_OPTS=-Dnq.threads=1 -Dx=a=b");
        assertEquals("aot", s.name());
        assertEquals(Map.of("NQ_AOT", "on", "NQ_JAVA_OPTS", "-Dnq.threads=1 -Dx=a=b"), s.env());
        assertThrows(IllegalArgumentException.class, () -> ColdStart.Setting.parse("|NQ_AOT=on"), "no name");
        assertThrows(IllegalArgumentException.class, () -> ColdStart.Setting.parse("x|NQ_AOT"), "no =");
    }

    @Test
    void everySettingRunsOnEveryPromptPromptsOuter() {
        List<ColdStart.Setting> settings = List.of(ColdStart.Setting.parse("a"), ColdStart.Setting.parse("b|K=v"));
        List<ColdStart.Cell> cells = ColdStart.cells("./nq", "m.gguf", List.of("p1.txt", "p2.txt"), 4, List.of("--kv", "none"), settings);
        assertEquals(List.of("a @ p1.txt", "b @ p1.txt", "a @ p2.txt", "b @ p2.txt"), cells.stream().map(ColdStart.Cell::name).toList());
        assertEquals(List.of("./nq", "generate", "--model", "m.gguf", "--prompt-file", "p2.txt", "-n", "4", "-t", "0", "--kv", "none"),
                cells.get(3).base());
        assertEquals(Map.of("K", "v"), cells.get(3).setting().env());

        List<ColdStart.Cell> one = ColdStart.cells("./nq", "m.gguf", List.of("p.txt"), 8, List.of(), settings);
        assertEquals(List.of("a", "b"), one.stream().map(ColdStart.Cell::name).toList(), "one prompt: the settings' own names");
    }
}
