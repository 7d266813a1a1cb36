/* SDT markers with floating-point operands: sys/sdt.h writes them as `8f@...` / `4f@...`. */
#include <stdio.h>
#include <string.h>
#include <sys/sdt.h>

__attribute__((noinline)) void go(double d, float f)
{
    unsigned long ud = 0, uf = 0;
    STAP_PROBE2(app, fp, d, f);
    memcpy(&ud, &d, 8);
    memcpy(&uf, &f, 4);
    printf("go d=%#lx f=%#lx\n", ud, uf);
}

int main(void)
{
    go(2.75, -1.5f);
    return 0;
}
