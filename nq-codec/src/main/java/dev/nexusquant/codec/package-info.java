/**
 * NexusQuant's codec: the six stages that shrink a KV cache, usable by any Java engine (this module depends on no
 * engine). {@link dev.nexusquant.codec.VectorCompressor} is the small interface every fixed-rate codec implements
 * (encode, fused dot and axpy on stored codes, parameters with a version); {@link dev.nexusquant.codec.CodecDescriptor}
 * is what a container records of one; {@link dev.nexusquant.vector.Vectorization} (module nq-vector) says whether the
 * Vector API kernels are used.
 * The stages: {@code importance} (SnapKV, H2O), {@code eviction}, {@code rope}, {@code hadamard}, {@code e8} and
 * {@code entropy}; {@code container} holds a compressed cache at rest.
 */
package dev.nexusquant.codec;
