/* Floating-point target variables: double/float parameters, locals, struct members and returns.
   The program prints its own values (IEEE bit patterns and %a) for the tests to compare with. */
#include <stdio.h>
#include <string.h>
#include <stdint.h>

struct point { int id; float f; double d; };

static uint64_t bits_of(double x) { uint64_t u; memcpy(&u, &x, 8); return u; }

__attribute__((noinline)) double scale(double x, float y, int n)
{
    double r = x * y + n;
    printf("scale x=%#lx y=%#lx n=%d r=%#lx\n", (unsigned long)bits_of(x), (unsigned long)bits_of(y), n,
           (unsigned long)bits_of(r));
    return r;
}

__attribute__((noinline)) float half(float v)
{
    return v / 2;
}

__attribute__((noinline)) double mid(struct point *p, double k)
{
    double s = p->d + p->f * k;
    printf("mid f=%#lx d=%#lx k=%#lx s=%#lx\n", (unsigned long)bits_of(p->f), (unsigned long)bits_of(p->d),
           (unsigned long)bits_of(k), (unsigned long)bits_of(s));
    return s * 3;
}

__attribute__((noinline)) long double wide(long double q, int k)
{
    long double z = q * k;
    printf("wide z=%La\n", z);
    return z;
}

double g_ratio = 2.5;
float g_small = -0.375f;

int main(void)
{
    struct point pt = { 4, 1.25f, -3.5 };
    volatile double a = 1.0 / 3.0;
    double r = scale(a, 0.1f, 7);
    printf("scale ret=%#lx\n", (unsigned long)bits_of(r));
    float h = half((float)r);
    printf("half ret=%#lx\n", (unsigned long)bits_of(h));
    double m = mid(&pt, a);
    printf("mid ret=%#lx\n", (unsigned long)bits_of(m));
    wide(1.5L, 3);
    printf("globals g_ratio=%#lx g_small=%#lx\n", (unsigned long)bits_of(g_ratio), (unsigned long)bits_of(g_small));
    return 0;
}
