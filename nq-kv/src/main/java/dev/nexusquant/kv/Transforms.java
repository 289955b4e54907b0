package dev.nexusquant.kv;

import dev.nexusquant.codec.hadamard.HadamardRotation;
import dev.nexusquant.codec.rope.RopeParams;
import dev.nexusquant.engine.kv.KvLayout;
import dev.nexusquant.engine.kv.RopeSpec;

/** Adapters from the codec's rotation stages (nq-codec) to the cache's two small interfaces. */
final class Transforms {

    private Transforms() {
    }

    /** The codec's seeded randomized Hadamard rotation (stage 4). */
    static HeadRotation hadamard(int dim, long seed) {
        HadamardRotation h = new HadamardRotation(dim, seed);
        return new HeadRotation() {
            @Override
            public void forward(float[] x, int off) {
                h.forward(x, off);
            }

            @Override
            public void inverse(float[] x, int off) {
                h.inverse(x, off);
            }
        };
    }

    /**
     * The codec's RoPE (stage 3) with the model's parameters, its cosines and sines from tables by angle addition
     * ({@link RopeAngles}: agrees with the exact {@code Rope} to float rounding, without a sine and cosine per pair and
     * call), shared by the caches of the process.
     */
    static PositionalRotation rope(KvLayout layout) {
        return RopeAngles.of(params(layout.rope()), layout.headDim());
    }

    static RopeParams params(RopeSpec s) {
        RopeParams.Convention c = s.style() == RopeSpec.Style.ADJACENT
                ? RopeParams.Convention.ADJACENT : RopeParams.Convention.HALVES;
        return new RopeParams(c, s.base(), s.linearScale(), s.rotaryDims());
    }
}
