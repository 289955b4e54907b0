package dev.nexusquant.kv.eviction;

/**
 * AdaKV (Feng et al., 2024): at the end of the prompt the KV heads of one layer pool the rows they would keep and
 * choose them together, by the base policy's scores normalised per head (each head's candidate scores sum to 1), so
 * that a head whose attention is concentrated on a few rows gives room to a head that spreads it; every head keeps
 * at least {@code floor} of its own share (AdaKV's safeguard). The cache does the pooling (it sees every head of a
 * layer); this policy only asks for it. {@code --kv evict=adakv:R} is SnapKV so pooled; {@code joint=on} pools any
 * scoring policy.
 */
public record JointAcrossHeads(EvictionPolicy base, double floor) implements DelegatingPolicy {

    /** AdaKV's safeguard: every head keeps at least a fifth of its own share. */
    public static final double FLOOR = 0.2;

    public JointAcrossHeads {
        DelegatingPolicy.scoring(base, "joint=on");
        if (!(floor >= 0 && floor <= 1)) throw new IllegalArgumentException("joint floor must be in [0, 1]: " + floor);
    }

    @Override
    public double jointFloor() {
        return floor;
    }

    @Override
    public String spec() {
        return base.spec() + ",joint=" + (floor == FLOOR ? "on" : Double.toString(floor));
    }
}
