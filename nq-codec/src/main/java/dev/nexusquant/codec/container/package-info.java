/**
 * The versioned, checksummed, self-describing container of a compressed KV cache: the data model
 * ({@link dev.nexusquant.codec.container.KvContainer}, {@link dev.nexusquant.codec.container.ContainerHeader},
 * {@link dev.nexusquant.codec.container.HeadEntry}), the byte layout
 * ({@link dev.nexusquant.codec.container.ContainerFormat}), {@link dev.nexusquant.codec.container.ContainerWriter},
 * {@link dev.nexusquant.codec.container.ContainerReader} (typed
 * {@link dev.nexusquant.codec.container.CorruptContainerException} on every bad input) and the exact size accounting
 * ({@link dev.nexusquant.codec.container.ContainerAccounting}, {@link dev.nexusquant.codec.container.ContainerSize}).
 */
package dev.nexusquant.codec.container;
