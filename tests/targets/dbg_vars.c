/* Variables read at probe points in a live process: main blocks on stdin until the test is ready. */
#include <stdio.h>
#include <unistd.h>

struct pt { int x, y; };
typedef unsigned long ulong_t;

long counter = 1234;
static const char *greeting = "hello, vars";

__attribute__((noinline)) int add(int a, int b)
{
    int c = a + b;
    return c;
}

__attribute__((noinline)) long show(struct pt *p, const char *tag, ulong_t big)
{
    long sum = p->x + p->y + (long)big;
    printf("%s %ld\n", tag, sum);
    return sum;
}

int main(void)
{
    char buf[8];
    struct pt q = {11, -22};
    if (read(0, buf, 1) < 0)
        return 1;
    int r = add(40, 2);
    r += (int)show(&q, greeting, 0x123456789aUL);
    return r + (int)counter == 0;
}
