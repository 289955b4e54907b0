/**
 * Stage 3: exact forward and inverse rotary position embedding ({@link dev.nexusquant.codec.rope.Rope}) in both GGML
 * conventions, with cached cosines and sines for a range of positions ({@link dev.nexusquant.codec.rope.RopeTable}).
 */
package dev.nexusquant.codec.rope;
