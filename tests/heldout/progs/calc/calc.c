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

static const char *const op_names[] = { "op_add", "op_mul", "op_sub" };

int main(int argc, char **argv)
{
    long acc = argc;
    for (int i = 1; i < argc; i++) {
        char buf[32];
        int len = (int)strlen(argv[i]) < 31 ? (int)strlen(argv[i]) : 31;
        printf("truth pw %s %d word=0x%lx len=0x%x out=0x%lx\n", argv[i], len, (unsigned long)argv[i], len,
               (unsigned long)buf);
        int n = parse_word(argv[i], len, buf);
        printf("truth pwr %d %s\n", n, buf);
        const struct op *o = &ops[i % 3];
        long b = atol(buf) + i;
        printf("truth apply %s %ld %ld fn=%s\n", o->sym, acc, b, op_names[i % 3]);
        printf("truth op %s %ld %ld\n", op_names[i % 3], acc, b);
        long r = apply(o, acc, b);
        printf("truth opr %s %ld\n", op_names[i % 3], r);
        acc = r;
    }
    long f = 0;
    for (int n = 1; n <= 6; n++)
        f += fact(n);
    long a = ackermann(2, 3);
    printf("truth sums %ld %ld\n", f, a);
    printf("truth status %d\n", (int)(acc & 0x3f));
    return (int)(acc & 0x3f);
}
