/* Deep recursion: depth(N) recurses N frames deep (not a tail call), R rounds; the program prints the
 * number of calls it made, so return-probe counts can be judged against the nesting limit. */
#include <stdio.h>
#include <stdlib.h>

__attribute__((noinline)) long depth(long n) {
    if (n <= 0) return 0;
    return depth(n - 1) + 1;
}

int main(int argc, char **argv) {
    long n = argc > 1 ? atol(argv[1]) : 2000, rounds = argc > 2 ? atol(argv[2]) : 1, s = 0;
    for (long r = 0; r < rounds; r++) s += depth(n);
    printf("calls %ld sum %ld\n", rounds * (n + 1), s);
    return 0;
}
