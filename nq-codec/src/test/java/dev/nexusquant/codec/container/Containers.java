package dev.nexusquant.codec.container;

import dev.nexusquant.codec.CodecDescriptor;
import dev.nexusquant.codec.e8.E8Codec;
import dev.nexusquant.codec.rope.RopeParams;

import java.util.ArrayList;
import java.util.List;
import java.util.SplittableRandom;

/** Random valid containers for tests, with real E8 codes. */
final class Containers {

    private Containers() {
    }

    static KvContainer random(SplittableRandom rnd, int maxLayers, int maxHeads, int maxTokens) {
        int headDim = 8 * rnd.nextInt(1, 9);
        int layers = rnd.nextInt(1, maxLayers + 1);
        int kvHeads = rnd.nextInt(1, maxHeads + 1);
        int tokens = rnd.nextInt(0, maxTokens + 1);
        List<CodecDescriptor> codecs = new ArrayList<>();
        List<E8Codec> e8 = new ArrayList<>();
        int nCodecs = rnd.nextInt(1, 4);
        for (int i = 0; i < nCodecs; i++) {
            int bits = rnd.nextInt(1, 5);
            int sg = rnd.nextBoolean() ? headDim : 8;
            E8Codec c = E8Codec.of(headDim, bits, sg);
            e8.add(c);
            codecs.add(c.descriptor());
        }
        int[] keyOf = new int[layers];
        int[] valueOf = new int[layers];
        for (int l = 0; l < layers; l++) {
            keyOf[l] = rnd.nextInt(nCodecs);
            valueOf[l] = rnd.nextInt(nCodecs);
        }
        boolean means = rnd.nextBoolean();
        WindowFormat wf = rnd.nextBoolean() ? WindowFormat.F32 : WindowFormat.F16;
        RopeParams rope = rnd.nextBoolean() ? null
                : new RopeParams(rnd.nextBoolean() ? RopeParams.Convention.ADJACENT : RopeParams.Convention.HALVES,
                rnd.nextDouble(100, 1e6), rnd.nextInt(1, 5), 2 * rnd.nextInt(1, headDim / 2 + 1));
        ContainerHeader h = new ContainerHeader(layers, kvHeads, headDim, tokens, rnd.nextBoolean(), rnd.nextLong(), rope,
                wf, codecs, keyOf, valueOf, means);
        List<HeadEntry> heads = new ArrayList<>();
        for (int l = 0; l < layers; l++) {
            for (int k = 0; k < kvHeads; k++) {
                int window = tokens == 0 ? 0 : rnd.nextInt(0, Math.min(tokens, 16) + 1);
                int[] wpos = new int[window];
                for (int i = 0; i < window; i++) wpos[i] = tokens - window + i;
                int[] kept = subset(rnd, tokens - window);
                byte[] kc = codes(rnd, e8.get(keyOf[l]), kept.length, headDim);
                byte[] vc = codes(rnd, e8.get(valueOf[l]), kept.length, headDim);
                float[] km = means ? floats(rnd, headDim, WindowFormat.F32) : null;
                float[] vm = means ? floats(rnd, headDim, WindowFormat.F32) : null;
                heads.add(new HeadEntry(kept, kc, vc, km, vm, wpos, floats(rnd, window * headDim, wf), floats(rnd, window * headDim, wf)));
            }
        }
        return new KvContainer(h, heads);
    }

    static int[] subset(SplittableRandom rnd, int n) {
        double keep = rnd.nextDouble();
        return java.util.stream.IntStream.range(0, n).filter(i -> i < 4 || rnd.nextDouble() < keep).toArray();
    }

    static byte[] codes(SplittableRandom rnd, E8Codec c, int n, int dim) {
        byte[] out = new byte[n * c.bytesPerVector()];
        float[] x = new float[dim];
        for (int t = 0; t < n; t++) {
            for (int i = 0; i < dim; i++) x[i] = (float) rnd.nextGaussian();
            c.encode(x, 0, out, t * c.bytesPerVector());
        }
        return out;
    }

    /** Values representable in the format, so that the round trip is bit-exact. */
    static float[] floats(SplittableRandom rnd, int n, WindowFormat f) {
        float[] v = new float[n];
        for (int i = 0; i < n; i++) {
            float x = (float) rnd.nextGaussian();
            v[i] = f == WindowFormat.F32 ? x : Float.float16ToFloat(Float.floatToFloat16(x));
        }
        return v;
    }
}
