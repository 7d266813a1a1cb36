/* SDT markers in a request loop. */
#include <sys/sdt.h>
#include <stdio.h>
#include <string.h>
struct request { int id; const char *path; long bytes; };
long served_bytes;
__attribute__((noinline)) long serve(struct request *r)
{
    STAP_PROBE3(httpd, request__start, r->id, r->path, r->bytes);
    long cost = r->bytes / 10 + (long)strlen(r->path);
    served_bytes += r->bytes;
    STAP_PROBE2(httpd, request__done, r->id, cost);
    return cost;
}
int main(void)
{
    const char *paths[] = { "/index.html", "/img/logo.png", "/api/v1/items" };
    STAP_PROBE(httpd, boot);
    for (int i = 0; i < 6; i++) {
        struct request r = { 100 + i, paths[i % 3], 1000L * (i + 1) + 7 };
        long c = serve(&r);
        printf("truth req %d %s %ld %ld\n", r.id, r.path, r.bytes, c);
    }
    STAP_PROBE1(httpd, shutdown, served_bytes);
    printf("truth served %ld\n", served_bytes);
    return 0;
}
