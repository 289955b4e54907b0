package dev.nexusquant.kv.eviction;

import dev.nexusquant.kv.PositionalRotation;
import dev.nexusquant.kv.attention.AttentionKernels;

import java.util.Arrays;

/**
 * Expected attention (kvpress's ExpectedAttentionPress): at the end of the prompt, the last {@code observation}
 * queries of each query head are taken back before RoPE and summarised by their mean {@code mu} and covariance
 * {@code S}; RoPE averaged over the next {@code future} positions ({@link AveragedRotation}, {@code M}) carries them
 * to where the next queries will be. For a query {@code q ~ N(M mu, M S M^T)} the expected exponentiated logit of key
 * {@code k} is {@code exp(k.M mu / sqrt(d) + k^T M S M^T k / (2d))}; each query head's softmax of those over the
 * window's rows is summed over the group, and {@code keepRatio} of the candidates with the highest sums are kept.
 * Blocks that leave the window later are ranked by the attention they received, as with SnapKV. {@code vnorm=on}
 * adds kvpress's value-norm rescaling.
 */
public record ExpectedAttentionEviction(double keepRatio, int sinks, int observation, int future) implements KeepRatioPolicy {

    /** kvpress's horizon: the next 512 positions. */
    public static final int FUTURE = 512;
    /** Queries summarised by default. */
    public static final int OBSERVATION = 64;

    public ExpectedAttentionEviction {
        EvictionSpecs.checkRatio(keepRatio);
        EvictionSpecs.checkSinks(sinks);
        EvictionSpecs.checkObservation(observation);
        EvictionSpecs.checkFuture(future);
    }


    @Override
    public int observationWindow() {
        return observation > 0 ? observation : OBSERVATION;
    }

    @Override
    public boolean recordsAttention(boolean afterPrompt) {
        return drops() && afterPrompt;
    }

    @Override
    public float[] scores(Candidates c) {
        PromptQueries q = c.promptQueries();
        if (c.atPromptEnd() && q != null) return Arrays.copyOf(scores(q, c.rope(), future), c.count());
        return EvictionPolicy.byReceivedAttention(c);
    }

    /**
     * Expected attention of every window row, summed over the group's query heads.
     *
     * @param rope RoPE of the recorded queries and keys, or null when positions are not rotated
     * @return [rows] scores
     */
    public static float[] scores(PromptQueries q, PositionalRotation rope, int future) {
        return scores(q, rope, future, AttentionKernels.preferred());
    }

    /**
     * Past this many queries per head dimension the scores are summed through the queries' covariance
     * ({@link QueryCovariance}: a key costs {@code dim + 1} dot products instead of {@code n + 1}, at least 4x fewer),
     * which rounds differently; up to it (every preset: 256 queries at head_dim 64 and more) one dot product per query.
     */
    static final int COVARIANCE_AFTER = 4;

    /** The same with the given kernels' double sums (the twins give the same bits). */
    static float[] scores(PromptQueries q, PositionalRotation rope, int future, AttentionKernels kernels) {
        return scores(q, rope, future, kernels, Math.min(q.slots(), q.recorded()) > COVARIANCE_AFTER * q.dim());
    }

    /** The same, summed through the queries' covariance or one dot product per query as told. */
    static float[] scores(PromptQueries q, PositionalRotation rope, int future, AttentionKernels kernels, boolean covariance) {
        int dim = q.dim(), group = q.group(), rows = q.rows(), cap = q.slots();
        int n = Math.min(cap, q.recorded());
        float[] out = new float[rows];
        if (n == 0 || rows == 0) return out;
        int[] slot = new int[n];
        int p0 = Integer.MIN_VALUE;
        for (int o = 0; o < n; o++) {
            slot[o] = (q.recorded() - 1 - o) % cap;
            p0 = Math.max(p0, q.positions()[slot[o]]);
        }
        AveragedRotation m = rope == null ? null : new AveragedRotation(rope, dim, future);
        double s = 1.0 / Math.sqrt(dim);
        float[] mu = new float[dim];
        float[] y = new float[n * dim]; // [n][dim] centred queries, carried forward
        double[] logit = new double[rows];
        double[] cols = covariance ? null : new double[dim * (n + 1)]; // [dim][n + 1]
        double[] dots = new double[n + 1];
        for (int g = 0; g < group; g++) {
            Arrays.fill(mu, 0f);
            for (int o = 0; o < n; o++) {
                System.arraycopy(q.queries(), (slot[o] * group + g) * dim, y, o * dim, dim);
                if (rope != null) rope.inverse(y, o * dim, q.positions()[slot[o]]);
                for (int i = 0; i < dim; i++) mu[i] += y[o * dim + i] / n;
            }
            for (int o = 0; o < n; o++) {
                for (int i = 0; i < dim; i++) y[o * dim + i] -= mu[i];
                if (m != null) m.apply(y, o * dim, p0);
            }
            if (m != null) m.apply(mu, 0, p0);
            if (covariance) {
                QueryCovariance cov = new QueryCovariance(y, n, dim, mu, kernels);
                double max = Double.NEGATIVE_INFINITY;
                for (int r = 0; r < rows; r++) {
                    cov.sums(q.keys(), r * dim, dots);
                    logit[r] = s * dots[0] + 0.5 * s * s * dots[1] / n;
                    max = Math.max(max, logit[r]);
                }
                addSoftmax(logit, rows, max, out);
                continue;
            }
            // columns 0..n-1: the centred queries, column n: the mean, widened to double ([dim][n + 1])
            for (int i = 0; i < dim; i++) {
                for (int o = 0; o < n; o++) cols[i * (n + 1) + o] = y[o * dim + i];
                cols[i * (n + 1) + n] = mu[i];
            }
            double max = Double.NEGATIVE_INFINITY;
            for (int r = 0; r < rows; r++) {
                kernels.dotsInDouble(cols, n + 1, dim, q.keys(), r * dim, dots);
                double mean = dots[n];
                double var = 0;
                for (int o = 0; o < n; o++) var += dots[o] * dots[o];
                logit[r] = s * mean + 0.5 * s * s * var / n;
                max = Math.max(max, logit[r]);
            }
            addSoftmax(logit, rows, max, out);
        }
        return out;
    }

    /** Adds the softmax of {@code logit[0..rows)} (its largest value {@code max}) to {@code out}. */
    private static void addSoftmax(double[] logit, int rows, double max, float[] out) {
        double z = 0;
        for (int r = 0; r < rows; r++) {
            logit[r] = Math.exp(logit[r] - max);
            z += logit[r];
        }
        for (int r = 0; r < rows; r++) out[r] += (float) (logit[r] / z);
    }

    @Override
    public String spec() {
        return "evict=expected:" + keepRatio + ",sinks=" + sinks + ",obs=" + observation + ",future=" + future;
    }
}
