package dev.nexusquant.kv;

import dev.nexusquant.codec.CodedRows;
import dev.nexusquant.codec.importance.H2OAccumulator;

/**
 * A compressed run of rows of one head: kept positions, key rows and value rows in their stored form.
 *
 * @param aged whether the rows are coded with the aged codecs (or pinned), so that they never age again
 * @param mass attention each row receives while young, for ranking when it ages; null unless aging evicts
 */
record Segment(PositionSet positions, CodedRows keys, CodedRows values, boolean aged, H2OAccumulator mass) {

    int rows() {
        return keys.rows();
    }

    /** Bytes of the arrays the segment holds (the mass accumulator is counted separately). */
    long bytes() {
        return positions.bytes() + keys.bytes() + values.bytes();
    }
}
