/* Recursion, longjmp out of hijacked frames, and a sleep loop for -x attach. */
#include <setjmp.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

__attribute__((noinline)) long fact(long n) { return n <= 1 ? 1 : n * fact(n - 1); }

static jmp_buf env;
__attribute__((noinline)) long deep(long n) {
    if (n == 0) longjmp(env, 1);
    return deep(n - 1) + 1;
}
__attribute__((noinline)) long jumper(long n) {
    if (setjmp(env) == 0) return deep(n);
    return -1;
}

__attribute__((noinline)) long tick(long i) { return i + 1; }

int main(int argc, char **argv) {
    const char *mode = argc > 1 ? argv[1] : "fact";
    if (!strcmp(mode, "fact")) {
        long s = 0;
        for (int i = 1; i <= 5; i++) s += fact(i);
        printf("fact %ld\n", s);  /* 1+2+6+24+120 = 153 */
    } else if (!strcmp(mode, "longjmp")) {
        long s = 0;
        for (int i = 0; i < 4; i++) s += jumper(3);
        s += fact(3);
        printf("longjmp %ld\n", s);  /* 4*(-1) + 6 = 2 */
    } else if (!strcmp(mode, "sleep")) {
        int n = argc > 2 ? atoi(argv[2]) : 20;
        long s = 0;
        for (int i = 0; i < n; i++) { s += tick(i); usleep(20000); }
        printf("sleep %ld\n", s);
    }
    return 0;
}
