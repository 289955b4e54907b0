package dev.nexusquant.store;

import javax.net.ssl.SSLContext;
import javax.net.ssl.TrustManagerFactory;
import java.io.IOException;
import java.io.InputStream;
import java.nio.file.Files;
import java.nio.file.Path;
import java.security.GeneralSecurityException;
import java.security.KeyStore;
import java.security.cert.Certificate;
import java.security.cert.CertificateFactory;
import java.util.Collection;

/** The TLS context of a {@code rediss://} store: the JVM's trusted CAs, or only those of one PEM file. */
final class RedisTls {

    /** A CA file larger than this is refused (a bundle of every public CA is about 200 KB). */
    static final long MAX_CA_BYTES = 4L << 20;

    private RedisTls() {
    }

    /**
     * @param caFile PEM file of CA certificates to trust instead of the JVM's, or null for the JVM's
     * @throws IllegalArgumentException naming the file when it cannot be read or holds no certificate
     */
    static SSLContext context(Path caFile) {
        try {
            SSLContext ctx = SSLContext.getInstance("TLS");
            if (caFile == null) {
                ctx.init(null, null, null);
                return ctx;
            }
            ctx.init(null, trusting(caFile).getTrustManagers(), null);
            return ctx;
        } catch (GeneralSecurityException e) {
            throw new IllegalArgumentException("cannot set up TLS for Redis: " + e.getMessage(), e);
        }
    }

    private static TrustManagerFactory trusting(Path caFile) throws GeneralSecurityException {
        String what = KvStores.CA_ENV + "=" + caFile;
        Collection<? extends Certificate> certs;
        try {
            if (!Files.isRegularFile(caFile)) throw new IllegalArgumentException(what + ": no such file");
            if (Files.size(caFile) > MAX_CA_BYTES) throw new IllegalArgumentException(what + ": larger than " + MAX_CA_BYTES + " bytes");
            try (InputStream in = Files.newInputStream(caFile)) {
                certs = CertificateFactory.getInstance("X.509").generateCertificates(in);
            }
        } catch (IOException e) {
            throw new IllegalArgumentException(what + ": cannot be read: " + e.getMessage(), e);
        } catch (java.security.cert.CertificateException e) {
            throw new IllegalArgumentException(what + ": not PEM certificates: " + e.getMessage(), e);
        }
        if (certs.isEmpty()) throw new IllegalArgumentException(what + ": holds no certificate");
        KeyStore ks = KeyStore.getInstance(KeyStore.getDefaultType());
        try {
            ks.load(null, null);
        } catch (IOException e) {
            throw new IllegalStateException(e);
        }
        int i = 0;
        for (Certificate c : certs) ks.setCertificateEntry("ca" + i++, c);
        TrustManagerFactory tmf = TrustManagerFactory.getInstance(TrustManagerFactory.getDefaultAlgorithm());
        tmf.init(ks);
        return tmf;
    }
}
