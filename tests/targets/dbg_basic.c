/* Debuginfo test target: parameters, locals, structs, a PLT call, a static function. */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

struct pt { int x, y; };
typedef unsigned long ulong_t;
enum color { RED, GREEN = 5, BLUE };
union num { int i; float f; };
struct flags { unsigned a : 3; unsigned b : 5; int c; };

int counter = 7;
static const char *greeting = "hello";
char buffer[16];

int add(int a, int b)
{
    int c = a + b;
    return c;
}

static int show(struct pt *p, const char *tag)
{
    printf("%s %d\n", tag, p->x);
    return p->y;
}

ulong_t mix(enum color col, union num n, struct flags *f, char arr[4], double d)
{
    ulong_t r = (ulong_t)col + (ulong_t)n.i + f->a + f->b + (ulong_t)arr[0] + (ulong_t)d;
    return r;
}

int main(int argc, char **argv)
{
    struct pt q = {1, 2};
    struct flags f = {1, 2, 3};
    union num n; n.i = 4;
    char arr[4] = "abc";
    int r = add(argc, 2);
    if (argc > 1 && strcmp(argv[1], "sleep") == 0)
        sleep(5);
    strcpy(buffer, greeting);
    r += show(&q, buffer);
    r += (int)mix(GREEN, n, &f, arr, 1.5);
    return r + counter == 12345;
}
