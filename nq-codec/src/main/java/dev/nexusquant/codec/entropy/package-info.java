/**
 * Stage 6: the at-rest entropy stage: byte-plane shuffling ({@link dev.nexusquant.codec.entropy.ByteShuffle}), delta
 * and varint coding of positions ({@link dev.nexusquant.codec.entropy.Varint}), and zstd
 * ({@link dev.nexusquant.codec.entropy.Zstd}, zstd-jni). The container applies them per section.
 */
package dev.nexusquant.codec.entropy;
