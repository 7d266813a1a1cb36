/* A long-running target for -x: ticks every 20 ms, N times, then prints the sum. */
#include <stdio.h>
#include <stdlib.h>
#include <unistd.h>

int tick(int i) { return i * 2; }

int main(int argc, char **argv) {
    int n = argc > 1 ? atoi(argv[1]) : 50;
    long s = 0;
    for (int i = 0; i < n; i++) { s += tick(i); usleep(20000); }
    printf("sum=%ld\n", s);
    return 0;
}
