package dev.nexusquant.codec.container;

/**
 * The byte layout of a KV container, version 1. Little-endian throughout.
 * <pre>
 * offset   size  field
 * 0        4     magic "NQKV"
 * 4        2     format version (1)
 * 6        2     reserved, 0
 * 8        4     H, length of the header body (at most 1 MiB)
 * 12       H     header body (below)
 * 12 + H   4     CRC32C of bytes [0, 12 + H)
 * 16 + H   ...   the sections' stored bytes, in table order; the container ends exactly after the last one
 *
 * header body:
 *   u32 layers, u32 kvHeads, u32 headDim (each 1..65536), u32 tokensSeen (0..2^31-1)
 *   u8  flags: bit 0 rotated, bit 1 keys stored pre-RoPE (RoPE fields follow), bit 2 means present; others 0
 *   u64 rotation seed
 *   [u8 convention (0 ADJACENT, 1 HALVES), f64 base, f64 linear scale, u32 rotary dims]   if bit 1
 *   u8  window format (0 F32, 1 F16)
 *   u8  codec count C (1..255), then per codec:
 *       u8 name length, name (ASCII), u32 version, u32 dimension (= headDim), u32 vectors per block,
 *       u32 bytes per block, u16 parameter length (at most 4096), parameters
 *   per layer: u8 key codec index, u8 value codec index
 *   u8  section count (7), then per section (in this order: POSN KCOD VCOD MEAN WPOS WKEY WVAL):
 *       u32 tag, u8 encoding (0 raw, 1 zstd), u8 transform (0 none, 1 byte shuffle), u32 raw length,
 *       u32 stored length, u32 CRC32C of the stored bytes
 *
 * sections (raw form), each a stream over the heads in layer-major order:
 *   POSN  per head: varint kept count n, then n varint gaps (first position, then p[i] - p[i-1] - 1)
 *   KCOD  per head: ceil(n / vectorsPerBlock) x bytesPerBlock code bytes of the layer's key codec
 *         (byte shuffle: each head's blocks transposed to byte planes)
 *   VCOD  the same for values
 *   MEAN  if means: per head, key mean then value mean, headDim float32 each (byte shuffle: by 4-byte element)
 *   WPOS  per head: varint window count w, then w varint gaps
 *   WKEY  per head: w x headDim window keys as float32 or float16 (byte shuffle: by element)
 *   WVAL  the same for values
 * </pre>
 * A reader checks the magic, the version, the header CRC, every count and length against what remains and against
 * the header's shape before allocating, each section's CRC before decoding it, and that nothing is left over.
 */
public final class ContainerFormat {

    public static final int MAGIC = 'N' | 'Q' << 8 | 'K' << 16 | 'V' << 24;
    public static final int VERSION = 1;
    public static final int MAX_HEADER = 1 << 20;
    public static final int PREFIX = 12;
    public static final int SECTIONS = 7;
    /** Bytes of one section's entry in the header's table. */
    public static final int SECTION_ENTRY = 18;

    static final int POSN = 0, KCOD = 1, VCOD = 2, MEAN = 3, WPOS = 4, WKEY = 5, WVAL = 6;
    static final String[] NAMES = {"POSN", "KCOD", "VCOD", "MEAN", "WPOS", "WKEY", "WVAL"};

    static final int ENC_RAW = 0, ENC_ZSTD = 1;
    static final int TX_NONE = 0, TX_SHUFFLE = 1;

    static final int FLAG_ROTATED = 1, FLAG_PRE_ROPE = 2, FLAG_MEANS = 4;

    private ContainerFormat() {
    }

    static int tag(int section) {
        String n = NAMES[section];
        return n.charAt(0) | n.charAt(1) << 8 | n.charAt(2) << 16 | n.charAt(3) << 24;
    }
}
