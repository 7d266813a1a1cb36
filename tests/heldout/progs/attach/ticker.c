/* A long-running program for -x attach: ticks until it has seen STOP_AFTER ticks, prints its pid first. */
#include <stdio.h>
#include <stdlib.h>
#include <unistd.h>
struct tick { long n; const char *phase; };
__attribute__((noinline)) long on_tick(struct tick *t, int step)
{
    return t->n * step;
}
int main(int argc, char **argv)
{
    int stop = argc > 1 ? atoi(argv[1]) : 100;
    printf("pid %d\n", getpid());
    fflush(stdout);
    struct tick t = { 0, "warmup" };
    long sum = 0;
    for (t.n = 0; t.n < stop; t.n++) {
        t.phase = t.n < 20 ? "warmup" : "steady";
        sum += on_tick(&t, 3);
        usleep(20000);
    }
    printf("truth sum %ld\n", sum);
    return 0;
}
