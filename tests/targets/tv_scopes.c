/* Nested lexical scopes for $$vars/$$locals/$$parms at a statement probe; prints its own values. */
#include <stdio.h>

__attribute__((noinline)) int loop(int n) {
    int acc = 0;
    for (int i = 0; i < n; i++) {
        int t = i * i;
        printf("iter t=%d i=%d n=%d acc=%d\n", t, i, n, acc); /* PROBE-HERE */
        acc += t;
    }
    printf("loop acc=%d\n", acc);
    return acc;
}

int main(void) {
    return loop(4) == 14 ? 0 : 1;
}
