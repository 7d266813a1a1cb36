/* An SDT marker guarded by its semaphore: the program reports whether a tracer enabled it. */
#define _SDT_HAS_SEMAPHORES 1
#include <stdio.h>
#include <stdlib.h>
#include <unistd.h>
#include <sys/sdt.h>

__extension__ unsigned short demo_tick_semaphore __attribute__((unused)) __attribute__((section(".probes")));

int main(int argc, char **argv) {
    int n = argc > 1 ? atoi(argv[1]) : 3;
    int ms = argc > 2 ? atoi(argv[2]) : 0;
    for (int i = 0; i < n; i++) {
        if (demo_tick_semaphore)
            DTRACE_PROBE1(demo, tick, i);
        printf("semaphore=%d\n", demo_tick_semaphore);
        fflush(stdout);
        if (ms) usleep(ms * 1000);
    }
    return 0;
}
