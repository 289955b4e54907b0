package dev.nexusquant.cli;

import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.io.TempDir;

import java.nio.ByteBuffer;
import java.nio.ByteOrder;
import java.nio.file.Files;
import java.nio.file.Path;
import java.util.SplittableRandom;

import static dev.nexusquant.cli.CliTest.assertOneLineError;
import static dev.nexusquant.cli.CliTest.field;
import static dev.nexusquant.cli.CliTest.run;
import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertTrue;

/** {@code nq codec} through {@link Main#run}. */
class CodecCommandTest {

    @Test
    void syntheticTensorReportsSizeErrorAndSpeed() {
        CliTest.Result r = run("codec", "--dim", "64", "--tokens", "256", "--bits", "2", "--repeat", "1", "--warmup", "0", "--json");
        assertEquals(0, r.code(), r.err());
        String json = r.out().strip();
        assertEquals(1, json.lines().count(), json);
        // 64 values: 16 bytes of codes + 2 of scale = 18 bytes = 2.25 bits per value
        assertEquals(2.25, Double.parseDouble(field(json, "bits_per_value")), 1e-12);
        assertEquals(16 / 2.25, Double.parseDouble(field(json, "ratio_vs_fp16")), 1e-9);
        assertEquals(256 * 18, Long.parseLong(field(json, "bytes")));
        double snr = Double.parseDouble(field(json, "snr_db"));
        assertTrue(snr > 9 && snr < 12, "2-bit E8 on rotated data: " + snr);
        for (String k : new String[]{"mse", "encode_mb_per_s", "decode_mb_per_s", "at_rest_bytes", "at_rest_bits_per_value"}) {
            assertTrue(Double.parseDouble(field(json, k)) > 0, k);
        }
        assertTrue(Double.parseDouble(field(json, "at_rest_bits_per_value")) < 2.25, "zstd of shuffled codes is smaller");
        // the rotation matters on data with outlier channels
        CliTest.Result raw = run("codec", "--dim", "64", "--tokens", "256", "--bits", "2", "--repeat", "1", "--warmup", "0", "--no-rotate", "--json");
        assertTrue(Double.parseDouble(field(raw.out(), "snr_db")) < snr, "rotation should help: " + raw.out());
        CliTest.Result text = run("codec", "--dim", "32", "--tokens", "64", "--bits", "3", "--repeat", "1", "--warmup", "0");
        assertEquals(0, text.code(), text.err());
        assertTrue(text.out().contains("bits/value") && text.out().contains("SNR"), text.out());
    }

    @Test
    void readsARawFloat32File(@TempDir Path dir) throws Exception {
        int n = 100, d = 32;
        ByteBuffer b = ByteBuffer.allocate(4 * n * d).order(ByteOrder.LITTLE_ENDIAN);
        SplittableRandom rnd = new SplittableRandom(3);
        for (int i = 0; i < n * d; i++) b.putFloat((float) rnd.nextGaussian());
        Path f = dir.resolve("k.f32");
        Files.write(f, b.array());
        CliTest.Result r = run("codec", "--dim", "32", "--bits", "4", "--input", f.toString(), "--repeat", "1", "--warmup", "0", "--json");
        assertEquals(0, r.code(), r.err());
        assertEquals("100", field(r.out(), "tokens"));
        assertTrue(Double.parseDouble(field(r.out(), "snr_db")) > 19, r.out());
        // errors about the file
        assertOneLineError(run("codec", "--dim", "24", "--input", f.toString()), "whole number");
        assertOneLineError(run("codec", "--dim", "32", "--tokens", "99", "--input", f.toString()), "--tokens");
        assertOneLineError(run("codec", "--input", dir.resolve("missing.f32").toString()), "missing.f32");
        b.putFloat(0, Float.NaN);
        Files.write(f, b.array());
        assertOneLineError(run("codec", "--dim", "32", "--input", f.toString()), "NaN");
    }

    @Test
    void absurdArgumentsAreOneLineErrors() {
        assertOneLineError(run("codec", "--dim", "12"), "--dim");
        assertOneLineError(run("codec", "--dim", "0"), "--dim");
        assertOneLineError(run("codec", "--dim", "-8"), "--dim");
        assertOneLineError(run("codec", "--bits", "5"), "--bits");
        assertOneLineError(run("codec", "--bits", "0"), "--bits");
        assertOneLineError(run("codec", "--tokens", "0"), "--tokens");
        assertOneLineError(run("codec", "--tokens", "2000000000"), "--tokens");
        assertOneLineError(run("codec", "--dim", "64", "--scale-group", "24"), "--scale-group");
        assertOneLineError(run("codec", "--repeat", "0"), "--repeat");
        assertOneLineError(run("codec", "--warmup", "-1"), "--warmup");
        assertOneLineError(run("codec", "--outliers", "-1"), "--outliers");
        assertOneLineError(run("codec", "--dim", "lots"), "--dim");
    }
}
