/* bench target: `hits_target N [STARTFILE [RESULTFILE]]` calls probed(s, i) N times in a tight loop
   and measures that loop itself with clock_gettime, so a tracer's start-up and attach are excluded.
   With STARTFILE the loop starts only once that file exists (the harness creates it once the tracer
   is attached); the loop time in ns goes to RESULTFILE (else stdout) as `loop_ns T`. */
#include <stdio.h>
#include <stdlib.h>
#include <time.h>
#include <unistd.h>
volatile long sink;
__attribute__((noinline)) long probed(const char *s, long i) { sink += i + s[0]; return i; }
int main(int argc, char **argv) {
    long n = atol(argv[1]);
    if (argc > 2)
        while (access(argv[2], F_OK) != 0) usleep(1000);
    struct timespec a, b;
    clock_gettime(CLOCK_MONOTONIC, &a);
    for (long i = 0; i < n; i++) probed("benchmark-string", i);
    clock_gettime(CLOCK_MONOTONIC, &b);
    long ns = (b.tv_sec - a.tv_sec) * 1000000000L + (b.tv_nsec - a.tv_nsec);
    FILE *f = argc > 3 ? fopen(argv[3], "w") : stdout;
    fprintf(f, "loop_ns %ld\n", ns);
    fclose(f);
    return 0;
}
