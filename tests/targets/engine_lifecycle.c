/* fork-heavy, vfork+exec, exec of itself, exit status and death by signal. */
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/wait.h>
#include <unistd.h>

volatile long sink;
__attribute__((noinline)) long f(long x) { sink += x; return x + 1; }

int main(int argc, char **argv) {
    const char *mode = argc > 1 ? argv[1] : "";
    if (!strcmp(mode, "fork")) {
        int kids = atoi(argv[2]), calls = atoi(argv[3]);
        for (int k = 0; k < kids; k++) {
            pid_t p = fork();
            if (p == 0) { for (int i = 0; i < calls; i++) f(i); _exit(0); }
        }
        int st, bad = 0;
        while (wait(&st) > 0) if (!WIFEXITED(st) || WEXITSTATUS(st)) bad++;
        for (int i = 0; i < calls; i++) f(i);
        printf("forked %d bad %d\n", kids, bad);
        return bad;
    }
    if (!strcmp(mode, "exec")) {        /* call f 3 times, then exec ourselves to call it 5 times */
        for (int i = 0; i < 3; i++) f(i);
        execl(argv[0], argv[0], "calls", "5", (char *)0);
        return 99;
    }
    if (!strcmp(mode, "vfork")) {
        f(1);
        pid_t p = vfork();
        if (p == 0) { execl(argv[0], argv[0], "calls", "2", (char *)0); _exit(98); }
        int st; waitpid(p, &st, 0);
        f(2);
        return WEXITSTATUS(st);
    }
    if (!strcmp(mode, "calls")) {
        int n = atoi(argv[2]);
        for (int i = 0; i < n; i++) f(i);
        return 0;
    }
    if (!strcmp(mode, "exit")) { f(0); return atoi(argv[2]); }
    if (!strcmp(mode, "kill")) { f(0); raise(atoi(argv[2])); return 0; }
    return 0;
}
