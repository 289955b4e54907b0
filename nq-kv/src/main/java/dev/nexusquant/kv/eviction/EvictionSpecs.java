package dev.nexusquant.kv.eviction;

import java.util.Locale;

/**
 * The eviction part of a {@code --kv} spec: {@code evict=none|streaming|snapkv:R|h2o:R} and the settings that refine
 * it ({@code keep=R sinks=N obs=N pool=N}), in any order after it. The one place that maps names to policy classes;
 * each policy writes itself back with {@link EvictionPolicy#spec()}.
 */
public final class EvictionSpecs {

    /** The names {@code evict=} takes, for help texts and errors. */
    public static final String NAMES = "none, streaming, snapkv:R or h2o:R";

    private EvictionSpecs() {
    }

    /** Parse state: the settings every policy draws from, changed one {@code key=value} at a time. */
    public static final class Builder {
        private String name = "none";
        private double keepRatio = 1.0;
        private int sinks;
        private int observation;
        private int pool = 1;

        /** Starts from a configured policy (a preset's). */
        public Builder(EvictionPolicy start) {
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
                default -> throw new IllegalArgumentException("a spec cannot refine the policy " + start.spec());
            }
        }

        /** {@code evict=VALUE}: a policy name, with a keep ratio for snapkv and h2o; sinks default to 4. */
        public Builder evict(String value) {
            String[] p = value.toLowerCase(Locale.ROOT).split(":");
            double ratio = p.length > 1 ? Double.parseDouble(p[1]) : keepRatio;
            int s = sinks > 0 ? sinks : 4;
            switch (p[0]) {
                case "none" -> {
                    name = "none";
                    keepRatio = 1.0;
                    sinks = 0;
                    observation = 0;
                    pool = 1;
                }
                case "streaming" -> set("streaming", 1.0, s, 0, 1);
                case "snapkv" -> set("snapkv", ratio, s, observation > 0 ? observation : 32, pool > 1 ? pool : 7);
                case "h2o" -> set("h2o", ratio, s, 0, 1);
                default -> throw new IllegalArgumentException("evict must be " + NAMES);
            }
            return this;
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

        private void set(String n, double ratio, int s, int obs, int pl) {
            checkRatio(ratio);
            name = n;
            keepRatio = ratio;
            sinks = s;
            observation = obs;
            pool = pl;
        }

        public EvictionPolicy build() {
            return switch (name) {
                case "streaming" -> new StreamingEviction(sinks);
                case "snapkv" -> new SnapKvEviction(keepRatio, sinks, observation, pool);
                case "h2o" -> new H2oEviction(keepRatio, sinks);
                default -> EvictionPolicy.none();
            };
        }
    }

    /** Rows kept out of {@code candidates} at a keep ratio: the ratio's share, rounded. */
    static int share(double keepRatio, int candidates) {
        return (int) Math.min(candidates, Math.round(keepRatio * candidates));
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

    static void checkPool(int pool) {
        if (pool < 1 || pool > 255 || (pool & 1) == 0) {
            throw new IllegalArgumentException("eviction pool kernel must be odd, 1..255: " + pool);
        }
    }
}
