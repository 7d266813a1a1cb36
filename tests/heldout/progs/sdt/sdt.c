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
__attribute__((noinline)) void mixed(int i)
{
    char c = (char)(-5 - i);
    short s = (short)(-300 * (i + 1));
    int n = -70000 - i;
    long long big = (1LL << 40) + i;
    unsigned char u = (unsigned char)(250 + i);
    STAP_PROBE5(httpd, mixed, c, s, n, big, u);
    printf("truth mixed %d %d %d %lld %u\n", c, s, n, big, u);
}
int main(void)
{
    const char *paths[] = { "/index.html", "/img/logo.png", "/api/v1/items" };
    STAP_PROBE(httpd, boot);
    printf("truth boot boot\n");
    for (int i = 0; i < 6; i++) {
        struct request r = { 100 + i, paths[i % 3], 1000L * (i + 1) + 7 };
        printf("truth start %d %s %ld request__start httpd\n", r.id, r.path, r.bytes);
        long c = serve(&r);
        printf("truth done %d %ld parms=[$arg1=0x%x $arg2=0x%lx]\n", r.id, c, r.id, c);
    }
    for (int i = 0; i < 3; i++)
        mixed(i);
    STAP_PROBE1(httpd, shutdown, served_bytes);
    printf("truth shutdown %ld\n", served_bytes);
    return 0;
}
