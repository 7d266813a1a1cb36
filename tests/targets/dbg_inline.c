/* Inlining, lexical blocks, labels and a partially inlined static function (build with -O2). */
#include <stdio.h>
#include <stdlib.h>

static inline int square(int x) { return x * x; }

static int __attribute__((noinline)) accumulate(int n)
{
    int total = 0;
    for (int i = 0; i < n; i++) {
        int sq = square(i);
        total += sq;
    }
    if (total > 1000)
        goto big;
    return total;
big:
    return -total;
}

int main(int argc, char **argv)
{
    int n = argc > 1 ? atoi(argv[1]) : 5;
    int r = accumulate(n) + square(n);
    printf("%d\n", r);
    return 0;
}
