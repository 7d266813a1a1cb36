/* SDT markers in the forms GCC emits: registers, stack slots, RIP-relative globals, constants. */
#define _SDT_HAS_SEMAPHORES 1
#include <sys/sdt.h>
#include <stdio.h>

long global_value = 42;
#define SEM(p, n) unsigned short p##_##n##_semaphore __attribute__((unused, section(".probes")))
SEM(pv, start); SEM(pv, args); SEM(pv, mixed); SEM(pv, busy); SEM(other, tick);
#define PV_BUSY_ENABLED() __builtin_expect(pv_busy_semaphore, 0)

int work(int n, const char *s)
{
    long local = n * 3;
    DTRACE_PROBE(pv, start);
    DTRACE_PROBE2(pv, args, n, s);
    DTRACE_PROBE3(pv, mixed, local, global_value, 5);
    if (PV_BUSY_ENABLED())
        DTRACE_PROBE1(pv, busy, n);
    STAP_PROBE1(other, tick, (char)n);
    return (int)local;
}

int main(int argc, char **argv)
{
    int r = 0;
    for (int i = 0; i < 3; i++)
        r += work(argc + i, argv[0]);
    printf("%d\n", r);
    return 0;
}
