/* Known syscalls for process.syscall probes; the program prints its own truth.
 *   engine_syscalls calls N     N 1-byte writes to a pipe, 3 getpid, one openat failing with ENOENT,
 *                               one unknown syscall (1000: -ENOSYS), then prints what it saw
 *   engine_syscalls threads T M T threads, each M getppid; prints the total
 *   engine_syscalls wait STOP   getppid + 1 ms nanosleep until the file STOP exists; prints "done N ok"
 *                               when every getppid returned the same parent
 *   engine_syscalls signals N   N times kill(self, SIGUSR1) (its handler does one getppid); prints the count
 *   engine_syscalls fork M      a child and the parent each make M getppid; prints the total
 *   engine_syscalls exec        one getppid, then exec of itself as `calls 3`
 */
#include <errno.h>
#include <fcntl.h>
#include <pthread.h>
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/syscall.h>
#include <time.h>
#include <sys/wait.h>
#include <unistd.h>

static int per_thread;
static volatile int handled;

static void on_usr1(int sig) {
    (void)sig;
    syscall(SYS_getppid);
    handled++;
}

static void *worker(void *arg) {
    (void)arg;
    for (int i = 0; i < per_thread; i++) syscall(SYS_getppid);
    return 0;
}

int main(int argc, char **argv) {
    const char *mode = argc > 1 ? argv[1] : "calls";
    if (!strcmp(mode, "calls")) {
        int n = argc > 2 ? atoi(argv[2]) : 10, fds[2];
        if (pipe(fds)) return 2;
        long wrote = 0;
        for (int i = 0; i < n; i++) wrote += syscall(SYS_write, fds[1], "x", 1);
        long pid = 0;
        for (int i = 0; i < 3; i++) pid = syscall(SYS_getpid);
        long r = syscall(SYS_openat, AT_FDCWD, "/nonexistent-stapy-dir/file", O_RDONLY);
        int open_errno = errno;
        long u = syscall(1000, 1, 2, 3);
        int unknown_errno = errno;
        printf("fd=%d wrote=%ld pid=%ld open=%ld/%d unknown=%ld/%d\n", fds[1], wrote, pid, r, open_errno, u,
               unknown_errno);
        return 0;
    }
    if (!strcmp(mode, "threads")) {
        int t = atoi(argv[2]);
        per_thread = atoi(argv[3]);
        pthread_t th[64];
        for (int i = 0; i < t && i < 64; i++) pthread_create(&th[i], 0, worker, 0);
        for (int i = 0; i < t && i < 64; i++) pthread_join(th[i], 0);
        printf("getppid calls %d\n", t * per_thread);
        return 0;
    }
    if (!strcmp(mode, "wait")) {
        long first = syscall(SYS_getppid), n = 1, same = 1;
        struct timespec ms = {0, 1000000};
        while (access(argv[2], F_OK) != 0) {
            same &= syscall(SYS_getppid) == first;
            n++;
            nanosleep(&ms, 0);
        }
        printf("done %ld %s\n", n, same ? "ok" : "bad");
        return 0;
    }
    if (!strcmp(mode, "signals")) {
        int n = atoi(argv[2]);
        signal(SIGUSR1, on_usr1);
        for (int i = 0; i < n; i++) syscall(SYS_kill, getpid(), SIGUSR1);
        printf("handled %d\n", handled);
        return 0;
    }
    if (!strcmp(mode, "fork")) {
        int m = atoi(argv[2]), st = 0;
        fflush(stdout);
        pid_t kid = fork();
        for (int i = 0; i < m; i++) syscall(SYS_getppid);
        if (kid == 0) _exit(0);
        waitpid(kid, &st, 0);
        printf("getppid calls %d status %d\n", 2 * m, st);
        return 0;
    }
    if (!strcmp(mode, "exec")) {
        syscall(SYS_getppid);
        execl(argv[0], argv[0], "calls", "3", (char *)0);
        return 3;
    }
    return 1;
}
