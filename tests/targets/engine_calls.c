/* Calls probed functions in a loop: `engine_calls N [threads [pause_us]]`.
   f() has a plain prologue, g() a RIP-relative first instruction at -O2, h() takes a string. */
#include <pthread.h>
#include <stdio.h>
#include <stdlib.h>
#include <unistd.h>

volatile long sink;
long table[4] = {1, 2, 3, 4};

__attribute__((noinline)) long f(long x) { sink += x; return x * 2; }
__attribute__((noinline)) long g(long x) { return table[x & 3] + x; }
__attribute__((noinline)) long h(const char *s) { return s[0]; }

static long n;
static int pause_us;
static void *worker(void *arg) {
    long acc = 0;
    for (long i = 0; i < n; i++) {
        acc += f(i) + g(i) + h("hello");
        if (pause_us) usleep(pause_us);
    }
    return (void *)acc;
}

int main(int argc, char **argv) {
    n = argc > 1 ? atol(argv[1]) : 10;
    int threads = argc > 2 ? atoi(argv[2]) : 0;
    pause_us = argc > 3 ? atoi(argv[3]) : 0;
    long total = 0;
    if (threads == 0) {
        total = (long)worker(NULL);
    } else {
        pthread_t t[64];
        for (int i = 0; i < threads; i++) pthread_create(&t[i], NULL, worker, NULL);
        for (int i = 0; i < threads; i++) { void *r; pthread_join(t[i], &r); total += (long)r; }
    }
    printf("total %ld\n", total);
    return (int)(total & 0x3f);
}
