package dev.nexusquant.engine.eval;

/** Runs one worker on several platform threads (chunks of an evaluation in parallel) and waits for all of them. */
public final class Workers {

    private Workers() {
    }

    /**
     * Runs {@code worker} on the calling thread when {@code threads} is 1, else on {@code threads} new platform
     * threads named {@code name-i}, and returns when every one has ended. The worker takes its own share of the
     * work (for example from a shared counter) and records its own failures.
     */
    public static void run(int threads, String name, Runnable worker) {
        if (threads <= 1) {
            worker.run();
            return;
        }
        Thread[] ts = new Thread[threads];
        for (int i = 0; i < threads; i++) ts[i] = Thread.ofPlatform().name(name + "-" + i).start(worker);
        for (Thread t : ts) {
            try {
                t.join();
            } catch (InterruptedException e) {
                Thread.currentThread().interrupt();
                throw new IllegalStateException("interrupted", e);
            }
        }
    }
}
