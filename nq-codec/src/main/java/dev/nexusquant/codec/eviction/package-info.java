/**
 * Stage 2: token eviction. {@link dev.nexusquant.codec.eviction.Evictor} keeps attention sinks, a recent window and
 * the top-scored tokens up to a {@link dev.nexusquant.codec.eviction.Budget}, per layer and KV head
 * ({@link dev.nexusquant.codec.eviction.EvictionPlan}); the kept tokens keep their original positions.
 */
package dev.nexusquant.codec.eviction;
