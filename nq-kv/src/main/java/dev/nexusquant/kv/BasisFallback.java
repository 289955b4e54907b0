package dev.nexusquant.kv;

import java.util.concurrent.atomic.AtomicBoolean;

/**
 * What a cache does with {@code basis=auto} when it is built from a bare layout, with no model to find or fit the
 * model's KLT bases for ({@link KvCompression#forModel} never ran): the rows the KLT would have coded are rotated by
 * the seeded Hadamard rotation instead (the settings' codecs, eviction, budget and everything else unchanged). The
 * settings keep {@code basis=auto}; the difference is said once per process on stderr and by every such cache's
 * {@code stats().note()}, and a saved state records it so that a restore codes the same way.
 */
final class BasisFallback {

    /** The note such a cache's {@link dev.nexusquant.engine.kv.KvStats#note()} carries. */
    static final String NOTE = "basis=auto without a model: Hadamard rotation instead of the model's KLT bases";

    private static final AtomicBoolean SAID = new AtomicBoolean();

    private BasisFallback() {
    }

    /** Whether these settings ask for the model's own bases and none were resolved for a model. */
    static boolean applies(KvCompression cfg) {
        return KvCompression.AUTO_BASIS.equalsIgnoreCase(cfg.kltBasis()) && cfg.kltBasisFile() == null;
    }

    /** The settings a falling-back cache runs: the same with the Hadamard rotation for every row and no basis. */
    static KvCompression hadamard(KvCompression cfg) {
        return cfg.toBuilder().klt(false, false).rotate(true).kltBasis(null).build();
    }

    /** Says once per process on stderr that a cache falls back (the first time {@code cfg} does). */
    static void sayOnce(KvCompression cfg) {
        if (SAID.compareAndSet(false, true)) {
            System.err.println("[nq] " + NOTE + " (" + KvSpec.format(cfg) + "); resolve it for the model"
                    + " (KvCompression.forModel(model), done by Model.newSession) to use the bases");
        }
    }
}
