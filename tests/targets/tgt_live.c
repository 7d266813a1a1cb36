/* A long-running target for the "nothing lost" tests: tgt_live DIR MAXTICKS STATUS.
 * Writes its pid to DIR/pid, calls tick() every 10 ms until DIR/stop exists or MAXTICKS ticks,
 * then writes "ticks=N sum=S\n" to DIR/done and exits with STATUS. */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

__attribute__((noinline)) int tick(int i) { return 2 * i; }

static void put(const char *dir, const char *name, const char *text)
{
    char path[4096], tmp[4100];
    snprintf(path, sizeof path, "%s/%s", dir, name);
    snprintf(tmp, sizeof tmp, "%s.tmp", path);
    FILE *f = fopen(tmp, "w");
    if (!f) return;
    fputs(text, f);
    fclose(f);
    rename(tmp, path);
}

int main(int argc, char **argv)
{
    const char *dir = argv[1];
    int max = atoi(argv[2]), i;
    long sum = 0;
    char buf[64], stop[4096];
    snprintf(buf, sizeof buf, "%d\n", getpid());
    put(dir, "pid", buf);
    snprintf(stop, sizeof stop, "%s/stop", dir);
    for (i = 0; i < max && access(stop, F_OK) != 0; i++) {
        sum += tick(i);
        usleep(10000);
    }
    snprintf(buf, sizeof buf, "ticks=%d sum=%ld\n", i, sum);
    put(dir, "done", buf);
    return atoi(argv[3]);
}
