/* Recursion, function pointers, a dispatch table, strings passed down a call chain, -c arguments. */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

typedef long (*binop_fn)(long, long);
struct op { const char *sym; binop_fn fn; int prec; };

__attribute__((noinline)) long op_add(long a, long b) { return a + b; }
__attribute__((noinline)) long op_mul(long a, long b) { return a * b; }
__attribute__((noinline)) long op_sub(long a, long b) { return a - b; }

static struct op ops[] = { {"+", op_add, 1}, {"*", op_mul, 2}, {"-", op_sub, 1} };

__attribute__((noinline)) long apply(const struct op *o, long a, long b)
{
    long r = o->fn(a, b);
    return r;
}

__attribute__((noinline)) long fact(int n)
{
    if (n <= 1)
        return 1;
    return n * fact(n - 1);
}

__attribute__((noinline)) long ackermann(long m, long n)
{
    if (m == 0) return n + 1;
    if (n == 0) return ackermann(m - 1, 1);
    return ackermann(m - 1, ackermann(m, n - 1));
}

__attribute__((noinline)) int parse_word(const char *word, int len, char *out)
{
    memcpy(out, word, len);
    out[len] = 0;
    return (int)strlen(out);
}

long ack_calls;

int main(int argc, char **argv)
{
    long acc = argc;
    for (int i = 1; i < argc; i++) {
        char buf[32];
        int n = parse_word(argv[i], (int)strlen(argv[i]) < 31 ? (int)strlen(argv[i]) : 31, buf);
        printf("truth word %d %s %d\n", i, buf, n);
        const struct op *o = &ops[i % 3];
        long r = apply(o, acc, atol(buf) + i);
        printf("truth apply %s %ld %ld %ld\n", o->sym, acc, atol(buf) + i, r);
        acc = r;
    }
    for (int n = 1; n <= 6; n++)
        printf("truth fact %d %ld\n", n, fact(n));
    printf("truth ack %ld\n", ackermann(2, 3));
    return (int)(acc & 0x3f);
}
