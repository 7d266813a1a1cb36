/* fork + exec of another program, twice: process("P").begin/.end follow exec as stap's task finder does. */
#include <stdio.h>
#include <string.h>
#include <unistd.h>
#include <sys/wait.h>
int main(int argc, char **argv)
{
    char job[4096];
    snprintf(job, sizeof job, "%s", argv[0]);
    strcpy(strrchr(job, '/') + 1, "job");
    setvbuf(stdout, NULL, _IOLBF, 0);
    printf("truth parent %d\n", getpid());
    for (int i = 0; i < 2; i++) {
        pid_t p = fork();
        if (p == 0) { execl(job, job, i ? "beta" : "alpha", (char *)0); _exit(127); }
        printf("truth child %d\n", p);
        waitpid(p, 0, 0);
    }
    return 0;
}
