/**
 * Stage 3: exact forward and inverse rotary position embedding ({@link dev.nexusquant.codec.rope.Rope}) in both GGML
 * conventions.
 */
package dev.nexusquant.codec.rope;
