package dev.nexusquant.eval.analysis;

import dev.nexusquant.engine.kv.KvCache;
import dev.nexusquant.engine.kv.KvCacheFactory;
import dev.nexusquant.engine.kv.KvLayout;
import dev.nexusquant.engine.model.Model;
import dev.nexusquant.engine.model.Session;
import dev.nexusquant.kv.KvCompression;

import java.util.Arrays;
import java.util.Locale;
import java.util.function.IntFunction;

/**
 * Analyses that split a compressed cache's perplexity loss into what its ranking, its eviction and its codes cost,
 * each a per-chunk cache factory for {@code ChunkedPerplexity} ({@code ./nq perplexity --analysis NAME}). None is a
 * setting a user can choose: they read the chunk's continuation in advance (a dense pass) or break the byte budget.
 */
public enum LossAnalysis {
    /** The same plans, codecs and byte target; every ranking by the attention the rows receive later (a dense pass). */
    ORACLE("oracle"),
    /** As {@link #ORACLE}, the plans (kept counts, codecs per head) made with the setting's own ranking. */
    ORACLE_SAME_PLANS("oracle-same-plans"),
    /** The oracle ranks at the prompt's end only; rows that age are ranked by the setting's own policy. */
    ORACLE_PROMPT("oracle-prompt"),
    /** The oracle ranks rows that age only; the prompt's end is ranked by the setting's own policy. */
    ORACLE_AGING("oracle-aging"),
    /** The rows the oracle-ranked cache holds, read at full precision: eviction alone at that kept fraction. */
    ORACLE_FULL_PRECISION("oracle-fp32"),
    /** No row dropped, the plans' codecs: the codes alone (the ratio is then far below the target). */
    CODES("codes");

    private final String label;

    LossAnalysis(String label) {
        this.label = label;
    }

    public String label() {
        return label;
    }

    /** A label of {@link #label()}; IllegalArgumentException naming the choices otherwise. */
    public static LossAnalysis parse(String s) {
        for (LossAnalysis a : values()) if (a.label.equals(s == null ? null : s.trim().toLowerCase(Locale.ROOT))) return a;
        throw new IllegalArgumentException("unknown analysis '" + s + "' (oracle, oracle-same-plans, oracle-prompt, oracle-aging, oracle-fp32, codes)");
    }

    /**
     * The cache factory of each chunk (chunk index -> factory) for a compressed setting.
     *
     * @param base   the setting analysed (bound to the model)
     * @param tokens the text's tokens, chunked as {@code ChunkedPerplexity} does
     */
    public IntFunction<KvCacheFactory> factories(Model model, int[] tokens, int nCtx, KvCacheFactory base) {
        if (!(base instanceof KvCompression kc)) {
            throw new IllegalArgumentException("--analysis needs a compressed cache (--kv SPEC), not " + base.describe());
        }
        if (!kc.eviction().drops()) {
            throw new IllegalArgumentException("--analysis needs a setting that evicts rows, not " + kc.describe());
        }
        return switch (this) {
            case CODES -> {
                KvCompression all = kc.toBuilder().eviction(new KeepEveryRow(kc.eviction())).build();
                yield c -> all;
            }
            case ORACLE -> c -> oracle(kc, record(model, tokens, c, nCtx));
            case ORACLE_SAME_PLANS -> c -> kc.toBuilder().eviction(new OracleRanking(kc.eviction(), record(model, tokens, c, nCtx), true, true, false)).build();
            case ORACLE_PROMPT -> c -> kc.toBuilder().eviction(new OracleRanking(kc.eviction(), record(model, tokens, c, nCtx), true, false, true)).build();
            case ORACLE_AGING -> c -> kc.toBuilder().eviction(new OracleRanking(kc.eviction(), record(model, tokens, c, nCtx), false, true, true)).build();
            case ORACLE_FULL_PRECISION -> c -> {
                KvCompression o = oracle(kc, record(model, tokens, c, nCtx));
                return new KvCacheFactory() {
                    @Override
                    public KvCache create(KvLayout layout) {
                        return new HeldRowsAtFullPrecision(o.create(layout));
                    }

                    @Override
                    public String describe() {
                        return o.describe() + ",read=fp32";
                    }
                };
            };
        };
    }

    private static KvCompression oracle(KvCompression kc, OracleMass mass) {
        return kc.toBuilder().eviction(new OracleRanking(kc.eviction(), mass)).build();
    }

    /**
     * The dense pass over chunk {@code c}: prefills its first half, then teacher-forces the rest, recording the
     * attention every row receives from the continuation's queries.
     */
    static OracleMass record(Model model, int[] tokens, int c, int nCtx) {
        int first = nCtx / 2;
        int[] chunk = Arrays.copyOfRange(tokens, c * nCtx, (c + 1) * nCtx);
        chunk[0] = model.tokenizer().bos();
        KvLayout layout = model.kvLayout();
        OracleMass mass = new OracleMass(layout.layers(), layout.kvHeads(), nCtx, first);
        KvCacheFactory recording = l -> new MassRecordingCache(l, mass);
        try (Session s = model.newSession(recording)) {
            s.forward(chunk, 0, first, false);
            s.endOfPrompt();
            s.forward(chunk, first, nCtx - 1 - first, false);
        }
        return mass;
    }
}
