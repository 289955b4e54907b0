package dev.nexusquant.codec.state;

import dev.nexusquant.codec.CodecDescriptor;
import dev.nexusquant.codec.state.StateFormatException.Problem;
import org.junit.jupiter.api.Test;

import java.io.ByteArrayInputStream;
import java.util.Arrays;

import static org.junit.jupiter.api.Assertions.assertArrayEquals;
import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertThrows;
import static org.junit.jupiter.api.Assertions.assertTrue;

/** The saved-state container and its reader/writer: round trips, and every truncation and flip a typed error. */
class StateContainerTest {

    static byte[] payload() {
        StateOutput o = new StateOutput();
        o.u8(7).bool(true).i32(-5).i64(1L << 40).f64(Math.PI).varint(300).svarint(-12345).string("héllo");
        o.bytes(new byte[]{1, 2, 3});
        float[] f = {1.5f, Float.NaN, -0f};
        o.floats(f, 0, 3);
        short[] s = {1, -1, 0x7c00};
        o.shorts(s, 0, 3);
        o.varints(new int[]{0, 127, 128, Integer.MAX_VALUE}, 0, 4);
        int[] pos = new int[500];
        for (int i = 0; i < pos.length; i++) pos[i] = 3 * i + (i > 250 ? 70000 : 0);
        o.varint(pos.length).positions(pos, 0, pos.length);
        o.descriptor(new CodecDescriptor("e8", 2, 64, 1, 34, new byte[]{9, 8}));
        return o.toByteArray();
    }

    @Test
    void roundTripReadsEveryShapeBack() throws Exception {
        byte[] p = payload();
        for (boolean z : new boolean[]{false, true}) {
            byte[] file = StateContainer.toBytes(new byte[]{42, 43}, p, z);
            StateContainer.Contents c = StateContainer.read(file, 1 << 20);
            assertArrayEquals(new byte[]{42, 43}, c.header());
            assertArrayEquals(p, c.payload());
            assertEquals(file.length, c.storedBytes());
            assertArrayEquals(new byte[]{42, 43}, StateContainer.readHeader(new ByteArrayInputStream(file)));
            StateInput in = new StateInput(c.payload(), 0);
            assertEquals(7, in.u8("a"));
            assertTrue(in.bool("b"));
            assertEquals(-5, in.i32("c"));
            assertEquals(1L << 40, in.i64("d"));
            assertEquals(Math.PI, in.f64("e"));
            assertEquals(300, in.varint("f", 0, 1000));
            assertEquals(-12345, in.svarint("g"));
            assertEquals("héllo", in.string("h", 100));
            assertArrayEquals(new byte[]{1, 2, 3}, in.bytes("i", 10));
            float[] f = in.floats("j", 3);
            assertEquals(Float.floatToRawIntBits(Float.NaN), Float.floatToRawIntBits(f[1]));
            assertEquals(Float.floatToRawIntBits(-0f), Float.floatToRawIntBits(f[2]));
            short[] s = new short[3];
            in.shorts("k", s, 0, 3);
            assertArrayEquals(new short[]{1, -1, 0x7c00}, s);
            assertArrayEquals(new int[]{0, 127, 128, Integer.MAX_VALUE}, in.varints("l", 4, Integer.MAX_VALUE));
            int n = in.count("m", 1000, 1);
            int[] pos = in.positions("n", n, Integer.MAX_VALUE);
            assertEquals(3 * 499 + 70000, pos[499]);
            assertEquals(new CodecDescriptor("e8", 2, 64, 1, 34, new byte[]{9, 8}), in.descriptor("o"));
            in.expectEnd("end");
        }
        // delta-coded positions: consecutive ones take a byte each
        StateOutput o = new StateOutput();
        int[] run = new int[1000];
        for (int i = 0; i < run.length; i++) run[i] = 5000 + i;
        o.positions(run, 0, run.length);
        assertEquals(2 + 999, o.size());
    }

    @Test
    void everyTruncationAndEveryBitFlipIsATypedError() {
        byte[] file = StateContainer.toBytes(new byte[]{1, 2, 3, 4}, payload(), true);
        for (int len = 0; len < file.length; len++) {
            byte[] t = Arrays.copyOf(file, len);
            StateFormatException e = assertThrows(StateFormatException.class, () -> StateContainer.read(t, 1 << 20), "length " + len);
            assertEquals(Problem.TRUNCATED, e.problem(), e.getMessage());
        }
        for (int i = 0; i < 8 * file.length; i++) {
            byte[] b = file.clone();
            b[i / 8] ^= (byte) (1 << (i % 8));
            assertThrows(StateFormatException.class, () -> StateContainer.read(b, 1 << 20), "bit " + i);
        }
        byte[] longer = Arrays.copyOf(file, file.length + 1);
        assertEquals(Problem.CORRUPT, assertThrows(StateFormatException.class, () -> StateContainer.read(longer, 1 << 20)).problem());
        assertEquals(Problem.TOO_LARGE, assertThrows(StateFormatException.class, () -> StateContainer.read(file, 10)).problem());
    }

    @Test
    void readsRefuseCountsTheBytesCannotHoldAndAllocationsBeyondTheAllowance() {
        StateOutput o = new StateOutput();
        o.varint(1_000_000_000);
        StateInput in = new StateInput(o.toByteArray(), 100);
        assertEquals(Problem.TRUNCATED, assertThrows(StateFormatException.class, () -> in.count("n", Integer.MAX_VALUE, 4)).problem());
        StateInput in2 = new StateInput(new byte[0], 100);
        assertEquals(Problem.TOO_LARGE, assertThrows(StateFormatException.class, () -> in2.reserve("cap", 101)).problem());
        StateInput in3 = new StateInput(new byte[]{(byte) 0xff, (byte) 0xff, (byte) 0xff, (byte) 0xff, (byte) 0xff,
                (byte) 0xff, (byte) 0xff, (byte) 0xff, (byte) 0xff, (byte) 0xff, 1}, 0);
        assertEquals(Problem.CORRUPT, assertThrows(StateFormatException.class, () -> in3.varint("v", 0L, Long.MAX_VALUE)).problem());
        StateInput in4 = new StateInput(new byte[]{5}, 0);
        assertEquals(Problem.CORRUPT, assertThrows(StateFormatException.class, () -> in4.varint("v", 0, 4)).problem());
    }
}
