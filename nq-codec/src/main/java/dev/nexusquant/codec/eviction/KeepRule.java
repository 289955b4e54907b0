package dev.nexusquant.codec.eviction;

/**
 * What one layer and KV head keeps: the first {@code sinks} tokens (attention sinks: StreamingLLM, Xiao et al. 2024),
 * the last {@code recent} tokens (the recent window, which should cover SnapKV's observation window), and the
 * highest-scored of the rest, up to {@code budget} tokens in all.
 *
 * <p>The budget is a hard cap on memory: when it is smaller than {@code sinks + recent}, the sinks are kept first,
 * then the recent window from the newest token backwards, until the budget is used.
 */
public record KeepRule(int sinks, int recent, Budget budget) {

    public KeepRule {
        if (sinks < 0 || recent < 0) throw new IllegalArgumentException("KeepRule: sinks and recent must be >= 0: " + sinks + ", " + recent);
        if (budget == null) throw new IllegalArgumentException("KeepRule: budget is null");
    }

    /** Keeps everything. */
    public static KeepRule none() {
        return new KeepRule(0, 0, Budget.all());
    }
}
