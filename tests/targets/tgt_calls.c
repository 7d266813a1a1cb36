/* A target for pass-5 tests: calls add() five times, greet() three times, prints what it did. */
#include <stdio.h>
#include <stdlib.h>
#include <unistd.h>

int add(int a, int b) { return a + b; }
int greet(const char *who, int n) { return printf("hello %s %d\n", who, n); }

int main(int argc, char **argv) {
    int s = 0;
    for (int i = 0; i < 5; i++) s = add(s, i);
    printf("sum=%d\n", s);
    for (int i = 0; i < 3; i++) greet(i ? "world" : "stap", i);
    fflush(stdout);
    if (argc > 1) usleep(atoi(argv[1]) * 1000);
    if (argc > 2) { FILE *f = fopen(argv[2], "w"); if (f) { fputs("done\n", f); fclose(f); } }
    return argc > 3 ? atoi(argv[3]) : 0;
}
