package dev.nexusquant.kv.eviction;

import java.util.Locale;

/**
 * The eviction part of a {@code --kv} spec: {@code evict=none|streaming|snapkv:R|h2o:R|expected:R|adakv:R|vnorm:R|
 * merge:R} and the settings that refine it ({@code keep=R sinks=N obs=N pool=N future=N vnorm=on|off
 * joint=on|off|F merge=off|C agerank=attn|vnorm}), in any order after it. {@code adakv}, {@code vnorm} and {@code merge} are SnapKV with
 * {@code joint=on}, {@code vnorm=on} and {@code merge=0.5}. The one place that maps names to policy classes; each
 * policy writes itself back with {@link EvictionPolicy#spec()}.
 */
public final class EvictionSpecs {

    /** The names {@code evict=} takes, for help texts and errors. */
    public static final String NAMES = "none, streaming, snapkv:R, h2o:R, expected:R, adakv:R, vnorm:R or merge:R";

    private EvictionSpecs() {
    }

    /** Parse state: the settings every policy draws from, changed one {@code key=value} at a time. */
    public static final class Builder {
        private String name = "none";
        private double keepRatio = 1.0;
        private int sinks;
        private int observation;
        private int pool = 1;
        private int future = ExpectedAttentionEviction.FUTURE;
        private boolean valueNorm;
        private boolean normAging;
        private double jointFloor = -1;
        private double mergeThreshold = Double.POSITIVE_INFINITY;

        /** Starts from a configured policy (a preset's). */
        public Builder(EvictionPolicy start) {
            while (start instanceof DelegatingPolicy d) {
                switch (d) {
                    case ValueNormWeighting v -> valueNorm = true;
                    case AgingByValueNorm a -> normAging = true;
                    case JointAcrossHeads j -> jointFloor = j.floor();
                    case MergingEviction m -> mergeThreshold = m.threshold();
                    default -> throw new IllegalArgumentException("a spec cannot refine the policy " + start.spec());
                }
                start = d.base();
            }
            switch (start) {
                case NoEviction n -> { }
                case StreamingEviction s -> {
                    name = "streaming";
                    sinks = s.sinks();
                }
                case SnapKvEviction s -> {
                    name = "snapkv";
                    keepRatio = s.keepRatio();
                    sinks = s.sinks();
                    observation = s.observation();
                    pool = s.pool();
                }
                case H2oEviction h -> {
                    name = "h2o";
                    keepRatio = h.keepRatio();
                    sinks = h.sinks();
                }
                case ExpectedAttentionEviction e -> {
                    name = "expected";
                    keepRatio = e.keepRatio();
                    sinks = e.sinks();
                    observation = e.observation();
                    future = e.future();
                }
                default -> throw new IllegalArgumentException("a spec cannot refine the policy " + start.spec());
            }
        }

        /** {@code evict=VALUE}: a policy name, with a keep ratio for the scoring ones; sinks default to 4. */
        public Builder evict(String value) {
            String[] p = value.toLowerCase(Locale.ROOT).split(":");
            if (p.length > 2) throw new IllegalArgumentException("evict must be " + NAMES);
            double ratio = p.length > 1 ? Double.parseDouble(p[1]) : keepRatio;
            int s = sinks > 0 ? sinks : 4;
            switch (p[0]) {
                case "none" -> {
                    name = "none";
                    keepRatio = 1.0;
                    sinks = 0;
                    observation = 0;
                    pool = 1;
                    valueNorm = false;
                    normAging = false;
                    jointFloor = -1;
                    mergeThreshold = Double.POSITIVE_INFINITY;
                }
                case "streaming" -> set("streaming", 1.0, s, 0, 1);
                case "snapkv" -> snapKv(ratio, s);
                case "adakv" -> {
                    snapKv(ratio, s);
                    jointFloor = JointAcrossHeads.FLOOR;
                }
                case "vnorm" -> {
                    snapKv(ratio, s);
                    valueNorm = true;
                }
                case "merge" -> {
                    snapKv(ratio, s);
                    mergeThreshold = MergingEviction.DEFAULT_THRESHOLD;
                }
                case "h2o" -> set("h2o", ratio, s, 0, 1);
                case "expected" -> set("expected", ratio, s, observation > 0 ? observation : ExpectedAttentionEviction.OBSERVATION, 1);
                default -> throw new IllegalArgumentException("evict must be " + NAMES);
            }
            return this;
        }

        private void snapKv(double ratio, int s) {
            set("snapkv", ratio, s, observation > 0 ? observation : 32, pool > 1 ? pool : 7);
        }

        public Builder keep(double ratio) {
            checkRatio(ratio);
            keepRatio = ratio;
            return this;
        }

        public Builder sinks(int n) {
            checkSinks(n);
            sinks = n;
            return this;
        }

        public Builder observation(int n) {
            checkObservation(n);
            observation = n;
            return this;
        }

        public Builder pool(int n) {
            checkPool(n);
            pool = n;
            return this;
        }

        /** {@code future=N}: positions expected attention looks ahead. */
        public Builder future(int n) {
            checkFuture(n);
            future = n;
            return this;
        }

        /** {@code vnorm=on|off}. */
        public Builder valueNorm(String value) {
            valueNorm = onOff("vnorm", value);
            return this;
        }

        /** {@code agerank=attn|vnorm}: rows that age are cut by the attention they received, or by their values' norms. */
        public Builder agingRank(String value) {
            normAging = switch (value.toLowerCase(Locale.ROOT)) {
                case "attn" -> false;
                case "vnorm" -> true;
                default -> throw new IllegalArgumentException("agerank must be attn or vnorm");
            };
            return this;
        }

        /** {@code joint=on|off|F}: AdaKV pooling across a layer's heads, {@code F} the floor (on: 0.2). */
        public Builder joint(String value) {
            String v = value.toLowerCase(Locale.ROOT);
            if (v.equals("on") || v.equals("true")) jointFloor = JointAcrossHeads.FLOOR;
            else if (v.equals("off") || v.equals("false")) jointFloor = -1;
            else {
                double f = Double.parseDouble(v);
                if (!(f >= 0 && f <= 1)) throw new IllegalArgumentException("joint must be on, off or a floor in [0, 1]");
                jointFloor = f;
            }
            return this;
        }

        /** {@code merge=off|C}: merge dropped rows at key cosine similarity at least C. */
        public Builder merge(String value) {
            String v = value.toLowerCase(Locale.ROOT);
            if (v.equals("off") || v.equals("false")) mergeThreshold = Double.POSITIVE_INFINITY;
            else if (v.equals("on") || v.equals("true")) mergeThreshold = MergingEviction.DEFAULT_THRESHOLD;
            else {
                double c = Double.parseDouble(v);
                if (!(c >= -1 && c <= 1)) throw new IllegalArgumentException("merge must be off or a cosine in [-1, 1]");
                mergeThreshold = c;
            }
            return this;
        }

        private static boolean onOff(String key, String value) {
            return switch (value.toLowerCase(Locale.ROOT)) {
                case "on", "true" -> true;
                case "off", "false" -> false;
                default -> throw new IllegalArgumentException(key + " must be on or off");
            };
        }

        private void set(String n, double ratio, int s, int obs, int pl) {
            checkRatio(ratio);
            name = n;
            keepRatio = ratio;
            sinks = s;
            observation = obs;
            pool = pl;
        }

        public EvictionPolicy build() {
            EvictionPolicy p = switch (name) {
                case "streaming" -> new StreamingEviction(sinks);
                case "snapkv" -> new SnapKvEviction(keepRatio, sinks, observation, pool);
                case "h2o" -> new H2oEviction(keepRatio, sinks);
                case "expected" -> new ExpectedAttentionEviction(keepRatio, sinks, observation, future);
                default -> EvictionPolicy.none();
            };
            if (valueNorm) p = new ValueNormWeighting(p);
            if (normAging) p = new AgingByValueNorm(p);
            if (jointFloor >= 0) p = new JointAcrossHeads(p, jointFloor);
            if (mergeThreshold <= 1) p = new MergingEviction(p, mergeThreshold);
            return p;
        }
    }

    static void checkRatio(double keepRatio) {
        if (!(keepRatio > 0.0 && keepRatio <= 1.0)) {
            throw new IllegalArgumentException("eviction keep ratio must be in (0, 1]: " + keepRatio);
        }
    }

    static void checkSinks(int sinks) {
        if (sinks < 0 || sinks > 1 << 20) throw new IllegalArgumentException("eviction sinks out of range: " + sinks);
    }

    static void checkObservation(int observation) {
        if (observation < 0 || observation > 1 << 16) {
            throw new IllegalArgumentException("eviction observation window out of range: " + observation);
        }
    }

    static void checkFuture(int future) {
        if (future < 1 || future > 1 << 20) throw new IllegalArgumentException("expected attention future out of range: " + future);
    }

    static void checkPool(int pool) {
        if (pool < 1 || pool > 255 || (pool & 1) == 0) {
            throw new IllegalArgumentException("eviction pool kernel must be odd, 1..255: " + pool);
        }
    }
}
