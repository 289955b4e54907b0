package dev.nexusquant.codec.hadamard;

/** The plain butterfly loops: {@code log2(n)} passes, pass h pairs element i with element i + h. */
final class ScalarFwht implements Fwht {

    static final ScalarFwht INSTANCE = new ScalarFwht();

    @Override
    public void transform(float[] x, int off, int n) {
        for (int h = 1; h < n; h <<= 1) {
            for (int i = 0; i < n; i += h << 1) {
                for (int j = off + i, end = off + i + h; j < end; j++) {
                    float a = x[j];
                    float b = x[j + h];
                    x[j] = a + b;
                    x[j + h] = a - b;
                }
            }
        }
    }
}
