/**
 * Saved state: {@link dev.nexusquant.codec.state.StateContainer}, the versioned, checksummed and zstd-compressed
 * envelope of a saved session, and {@link dev.nexusquant.codec.state.StateOutput} /
 * {@link dev.nexusquant.codec.state.StateInput}, with which each KV cache writes and reads its own state (every length
 * checked before anything is allocated).
 */
package dev.nexusquant.codec.state;
