/* A long-running program for -x attach: prints its pid, then ticks every 10 ms until it has seen STOP ticks
   or the file argv[2] exists. */
#include <stdio.h>
#include <stdlib.h>
#include <unistd.h>
struct tick { long n; const char *phase; };
__attribute__((noipa)) long on_tick(struct tick *t, int step)
{
    return t->n * step;
}
int main(int argc, char **argv)
{
    int stop = argc > 1 ? atoi(argv[1]) : 100;
    setvbuf(stdout, NULL, _IOLBF, 0);
    printf("pid %d\n", getpid());
    struct tick t = { 0, "warmup" };
    long sum = 0;
    for (t.n = 0; t.n < stop && !(argc > 2 && access(argv[2], F_OK) == 0); t.n++) {
        t.phase = t.n < 20 ? "warmup" : "steady";
        printf("truth tick %ld %s 3\n", t.n, t.phase);
        sum += on_tick(&t, 3);
        usleep(10000);
    }
    printf("truth sum %ld\n", sum);
    return 0;
}
