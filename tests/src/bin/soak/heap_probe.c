/*
 * The soak's heap probe: preloaded into the server (LD_PRELOAD), it
 * reports what glibc's malloc says about the heap, so a soak can tell the
 * server's own memory (bytes allocated and not freed) from what the
 * allocator keeps mapped after they are freed (RSS).
 *
 * Every 200 ms a thread writes one fixed-width line to the file named by
 * NUTSHELL_HEAP_PROBE, at offset 0:
 *
 *     in_use <bytes> system <bytes> end
 *
 * in_use: bytes in allocated chunks of every arena plus mmapped chunks
 * (mallinfo2 uordblks + hblkhd); system: bytes the arenas hold from the
 * system plus mmapped chunks (arena + hblkhd). The file is opened once, so
 * the probe adds one constant descriptor, counted in the soak's baseline.
 *
 * Built by bench/soak.sh with cc; without it the soak judges RSS alone.
 * C because the probe must live inside the server without changing it.
 */
#define _GNU_SOURCE
#include <fcntl.h>
#include <malloc.h>
#include <pthread.h>
#include <stdio.h>
#include <stdlib.h>
#include <time.h>
#include <unistd.h>

static int probe_fd = -1;

static void *report(void *unused) {
    (void)unused;
    const struct timespec pause = {0, 200 * 1000 * 1000};
    char line[96];
    for (;;) {
        struct mallinfo2 info = mallinfo2();
        int n = snprintf(line, sizeof line, "in_use %20zu system %20zu end\n",
                         info.uordblks + info.hblkhd, info.arena + info.hblkhd);
        if (n > 0 && pwrite(probe_fd, line, (size_t)n, 0) != n) {
            return NULL;
        }
        nanosleep(&pause, NULL);
    }
}

__attribute__((constructor)) static void start_probe(void) {
    const char *path = getenv("NUTSHELL_HEAP_PROBE");
    if (path == NULL || *path == '\0') {
        return;
    }
    probe_fd = open(path, O_WRONLY | O_CREAT | O_TRUNC | O_CLOEXEC, 0644);
    if (probe_fd < 0) {
        return;
    }
    pthread_t thread;
    if (pthread_create(&thread, NULL, report, NULL) == 0) {
        pthread_detach(thread);
    }
}
