/**
 * Stage 4: the seeded randomized Hadamard rotation ({@link dev.nexusquant.codec.hadamard.HadamardRotation}) that
 * makes head vectors look Gaussian before quantization, with a scalar and a Vector API fast Walsh-Hadamard kernel.
 */
package dev.nexusquant.codec.hadamard;
