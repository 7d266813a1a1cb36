/* Threads: each worker processes jobs with a per-thread id; counts are exact. */
#include <pthread.h>
#include <stdio.h>
#include <string.h>

#define NW 4
#define JOBS 250
struct job { int worker; int seq; char label[16]; long payload; };
struct worker { pthread_t th; int id; long done; long sum; };

static pthread_mutex_t lock = PTHREAD_MUTEX_INITIALIZER;
long total_done;

__attribute__((noinline)) long process_job(struct job *j)
{
    long v = j->payload * 3 + j->seq;
    pthread_mutex_lock(&lock);
    total_done++;
    pthread_mutex_unlock(&lock);
    return v;
}

static void *run(void *arg)
{
    struct worker *w = arg;
    for (int s = 0; s < JOBS + w->id * 10; s++) {
        struct job j = { w->id, s, "", (long)w->id * 1000 + s };
        snprintf(j.label, sizeof j.label, "w%d-%d", w->id, s % 3);
        w->sum += process_job(&j);
        w->done++;
    }
    return 0;
}

int main(void)
{
    struct worker ws[NW];
    for (int i = 0; i < NW; i++) {
        memset(&ws[i], 0, sizeof ws[i]);
        ws[i].id = i;
        pthread_create(&ws[i].th, 0, run, &ws[i]);
    }
    for (int i = 0; i < NW; i++)
        pthread_join(ws[i].th, 0);
    for (int i = 0; i < NW; i++) {
        long n = ws[i].done, lo = (long)i * 1000, hi = lo + n - 1, tot = 0;
        for (long s = 0; s < n; s++) tot += lo + s;
        printf("truth worker %d %ld %ld\n", i, n, ws[i].sum);
        printf("truth lat %d %ld %ld %ld %ld\n", i, n, lo, hi, tot / n);
        printf("truth tb\n");
        for (int k = 0; k < 3; k++)
            printf("truth lab w%d-%d %ld\n", i, k, (n - k + 2) / 3);
    }
    printf("truth total %ld\n", total_done);
    return 0;
}
