package dev.nexusquant.vector;

import jdk.incubator.vector.FloatVector;

/**
 * Reads the preferred float species; loaded by name by {@link Vectorization} only after it found
 * {@code jdk.incubator.vector} in the boot layer (loading it earlier would fail with a linkage error).
 */
final class SpeciesProbe {

    private SpeciesProbe() {
    }

    /** Lanes of {@code FloatVector.SPECIES_PREFERRED}. */
    public static int preferredFloatLanes() {
        return FloatVector.SPECIES_PREFERRED.length();
    }
}
