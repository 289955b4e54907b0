package dev.nexusquant.codec.container;

import dev.nexusquant.codec.TestSeeds;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.Timeout;

import java.util.ArrayList;
import java.util.Arrays;
import java.util.List;
import java.util.SplittableRandom;
import java.util.TreeMap;
import java.util.concurrent.TimeUnit;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertTrue;

/**
 * Seeded mutations of valid containers: byte flips, truncations, extensions, insertions and deletions, and the same
 * with every checksum recomputed afterwards so that the structural checks behind the checksums are exercised too.
 * Each mutated container must end in a {@link CorruptContainerException} or parse into a container that passes every
 * structural check; any other exception, a hang or running out of memory fails the test.
 */
class ContainerCorruptionTest {

    private static final int MUTATIONS = 40_000;

    @Test
    @Timeout(value = 120, unit = TimeUnit.SECONDS)
    void mutatedContainersFailCleanly() {
        long seed = TestSeeds.seed("mutatedContainersFailCleanly");
        SplittableRandom rnd = new SplittableRandom(seed);
        List<byte[]> bases = new ArrayList<>();
        for (int i = 0; i < 12; i++) {
            KvContainer c = Containers.random(rnd, 3, 2, 60);
            bases.add(ContainerWriter.write(c, i % 2 == 0 ? ContainerWriter.RAW : ContainerWriter.ZSTD));
        }
        // a small limit on decoded bytes: a mutated length field may then ask for at most 4 MiB
        ContainerReader reader = new ContainerReader(4 << 20);
        TreeMap<String, int[]> outcomes = new TreeMap<>();
        for (int m = 0; m < MUTATIONS; m++) {
            byte[] base = bases.get(rnd.nextInt(bases.size()));
            int kind = rnd.nextInt(8);
            byte[] bad = mutate(rnd, base, kind);
            String what = "mutation " + m + " kind " + kind + " seed=" + seed;
            String outcome;
            try {
                KvContainer c = reader.parse(bad);
                // accepted: it must be a consistent container that writes back to itself
                c.validate();
                byte[] again = ContainerWriter.write(c, ContainerWriter.RAW);
                assertEquals(c.heads(), reader.parse(again).heads(), what);
                outcome = "accepted";
            } catch (CorruptContainerException e) {
                outcome = e.field().replaceAll("\\[\\d+]", "[i]");
            } catch (Throwable t) {
                throw new AssertionError(what + ": " + t, t);
            }
            outcomes.computeIfAbsent("k" + kind + " " + outcome, k -> new int[1])[0]++;
        }
        outcomes.forEach((k, v) -> System.out.println("  " + v[0] + "\t" + k));
        int accepted = outcomes.entrySet().stream().filter(e -> e.getKey().endsWith("accepted")).mapToInt(e -> e.getValue()[0]).sum();
        System.out.println(MUTATIONS + " mutations, " + accepted + " accepted as consistent containers");
        // checksummed mutations are (almost) never accepted; the CRC-fixed ones reach many distinct checks
        long distinctFields = outcomes.keySet().stream().map(k -> k.substring(3)).distinct().count();
        assertTrue(distinctFields >= 15, "the mutations should reach many different checks: " + outcomes.keySet());
    }

    @Test
    void theDefaultReaderRefusesHugeDeclaredSizesWithoutAllocating() throws Exception {
        SplittableRandom rnd = new SplittableRandom(1);
        KvContainer c = Containers.random(rnd, 2, 2, 40);
        byte[] good = ContainerWriter.write(c, ContainerWriter.ZSTD);
        long body = Mutations.u32(good, 8) & 0xffffffffL;
        int table = (int) (12 + body - ContainerFormat.SECTIONS * ContainerFormat.SECTION_ENTRY);
        for (int s = 0; s < ContainerFormat.SECTIONS; s++) {
            byte[] bad = good.clone();
            Mutations.putU32(bad, table + s * ContainerFormat.SECTION_ENTRY + 6, 0x7fffff00); // raw length ~2 GiB
            Mutations.withHeaderCrc(bad);
            try {
                ContainerReader.read(bad);
                throw new AssertionError("accepted a 2 GiB section");
            } catch (CorruptContainerException e) {
                assertTrue(e.field().startsWith("header.section"), e.getMessage());
            }
        }
    }

    static byte[] mutate(SplittableRandom rnd, byte[] base, int kind) {
        byte[] b = base.clone();
        switch (kind) {
            case 0 -> flip(rnd, b, rnd.nextInt(1, 5)); // flips anywhere, checksums left as they are
            case 1 -> b = Arrays.copyOf(b, rnd.nextInt(b.length)); // truncation
            case 2 -> { // extension with random bytes
                int n = rnd.nextInt(1, 65);
                b = Arrays.copyOf(b, b.length + n);
                for (int i = base.length; i < b.length; i++) b[i] = (byte) rnd.nextInt(256);
            }
            case 3 -> { // flips in the sections, all checksums recomputed: reaches the section decoders
                int start = sectionsStart(b);
                if (start < b.length) {
                    for (int i = rnd.nextInt(1, 4); i > 0; i--) b[rnd.nextInt(start, b.length)] ^= (byte) rnd.nextInt(1, 256);
                }
                Mutations.withAllCrcs(b);
            }
            case 4 -> { // flips in the header body, header checksum recomputed: reaches the header checks
                int end = sectionsStart(b) - 4;
                for (int i = rnd.nextInt(1, 3); i > 0; i--) b[rnd.nextInt(4, end)] ^= (byte) rnd.nextInt(1, 256);
                Mutations.withHeaderCrc(b);
            }
            case 5 -> { // a random or extreme u32 in the header, checksum recomputed
                int end = sectionsStart(b) - 4;
                int at = rnd.nextInt(8, end - 3);
                int v = switch (rnd.nextInt(4)) {
                    case 0 -> 0;
                    case 1 -> -1;
                    case 2 -> Integer.MAX_VALUE;
                    default -> rnd.nextInt();
                };
                Mutations.putU32(b, at, v);
                Mutations.withHeaderCrc(b);
            }
            case 6 -> { // one byte inserted
                int at = rnd.nextInt(b.length + 1);
                byte[] c = new byte[b.length + 1];
                System.arraycopy(b, 0, c, 0, at);
                c[at] = (byte) rnd.nextInt(256);
                System.arraycopy(b, at, c, at + 1, b.length - at);
                b = c;
            }
            default -> { // one byte deleted, checksums recomputed where the layout still allows
                int at = rnd.nextInt(b.length);
                byte[] c = new byte[b.length - 1];
                System.arraycopy(b, 0, c, 0, at);
                System.arraycopy(b, at + 1, c, at, b.length - at - 1);
                b = c;
                if (at >= sectionsStart(base)) Mutations.withAllCrcs(b);
            }
        }
        return b;
    }

    private static void flip(SplittableRandom rnd, byte[] b, int n) {
        for (int i = 0; i < n; i++) b[rnd.nextInt(b.length)] ^= (byte) rnd.nextInt(1, 256);
    }

    private static int sectionsStart(byte[] b) {
        return (int) (12 + (Mutations.u32(b, 8) & 0xffffffffL) + 4);
    }
}
