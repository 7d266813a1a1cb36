/* bench target: `hits_target N` calls probed(s, i) N times in a tight loop. */
#include <stdlib.h>
volatile long sink;
__attribute__((noinline)) long probed(const char *s, long i) { sink += i + s[0]; return i; }
int main(int argc, char **argv) {
    long n = atol(argv[1]);
    for (long i = 0; i < n; i++) probed("benchmark-string", i);
    return 0;
}
