/* Return-probe context: main prints caller's run-time address (the load bias for the test, which
 * finds the call to callee in caller's code: the return address is the instruction after it). */
#include <stdio.h>

__attribute__((noinline)) int callee(int x) {
    return x * 3;
}

__attribute__((noinline)) int caller(int x) {
    int r = callee(x);
    return r + 1;
}

int main(void) {
    printf("caller=%p\n", (void *)caller);
    fflush(stdout);
    return caller(4) == 13 ? 0 : 1;
}
