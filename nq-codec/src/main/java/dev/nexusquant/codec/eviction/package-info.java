/**
 * Stage 2: token eviction. {@link dev.nexusquant.codec.eviction.Evictor} keeps attention sinks, a recent window and
 * the top-scored tokens up to a {@link dev.nexusquant.codec.eviction.Budget}, as a
 * {@link dev.nexusquant.codec.eviction.KeepRule} says; the kept tokens keep their original positions. Which tokens
 * score high is the policy's business (the compressed cache's {@code dev.nexusquant.kv.eviction}).
 */
package dev.nexusquant.codec.eviction;
