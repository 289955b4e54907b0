/**
 * Stage 5: E8 lattice quantization. {@link dev.nexusquant.codec.e8.E8Lattice} is the exact nearest-point algorithm
 * of Conway and Sloane (1982); {@link dev.nexusquant.codec.e8.E8Codec} is the fixed-rate, random-access codec (1 to 4
 * bits per value, E8P-style table-lookup codebooks after QuIP#, per-vector or per-group fp16 scales chosen by
 * search) whose fused dot and axpy attention calls on every cached token.
 */
package dev.nexusquant.codec.e8;
