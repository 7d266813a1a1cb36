/* A linked shared library. */
#include <math.h>
struct vec { double x, y; int tag; };
struct poly { int n; struct vec pts[6]; const char *name; };
int geom_calls;
long poly_area2(const struct poly *p)
{
    long a = 0;
    geom_calls++;
    for (int i = 0; i < p->n; i++) {
        const struct vec *u = &p->pts[i], *v = &p->pts[(i + 1) % p->n];
        a += (long)(u->x * v->y - v->x * u->y);
    }
    return a < 0 ? -a : a;
}
int poly_tagsum(const struct poly *p, int bias)
{
    int s = bias;
    for (int i = 0; i < p->n; i++) s += p->pts[i].tag;
    return s;
}

/* Runs from the library's constructor, before main: a probe on a linked library is armed by then
   under stap (uprobes are registered on the file) and bpftrace. */
#include <stdio.h>
__attribute__((noinline)) int geom_setup(int level) { return level + geom_calls; }
__attribute__((constructor)) static void geom_ctor(void)
{
    printf("truth setup 7\n");
    geom_setup(7);
}
