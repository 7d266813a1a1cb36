/* SDT markers with register, constant and memory operands; prints the values it passes. */
#include <stdio.h>
#include <sys/sdt.h>

long counter = 1000;
static char msg[] = "marker-string";

__attribute__((noinline)) void fire(long x, int y, short z) {
    signed char sc = (signed char)(y - 300);
    printf("fire x=%ld y=%d z=%d sc=%d counter=%ld msg=%s\n", x, y, z, sc, counter, msg);
    DTRACE_PROBE5(tvprov, tick, x, y, z, sc, counter);
    DTRACE_PROBE2(tvprov, text, msg, 42);
    DTRACE_PROBE(tvprov, bare);
}

int main(void) {
    fire(-5, 77, -3);
    counter += 11;
    fire(1L << 40, 300, 1234);
    return 0;
}
