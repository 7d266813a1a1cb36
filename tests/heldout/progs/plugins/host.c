#include <dlfcn.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
struct vec { double x, y; int tag; };
struct poly { int n; struct vec pts[6]; const char *name; };
struct plugin_req { const char *verb; int level; long cookie; };
long poly_area2(const struct poly *p);
int poly_tagsum(const struct poly *p, int bias);
void *volatile keep;

int main(int argc, char **argv)
{
    struct poly sq = { 4, {{0, 0, 1}, {4, 0, 2}, {4, 4, 3}, {0, 4, 4}}, "square" };
    struct poly tri = { 3, {{0, 0, 5}, {6, 0, 6}, {0, 3, 7}}, "triangle" };
    struct poly *ps[] = { &sq, &tri };
    for (int k = 0; k < 4; k++) {
        struct poly *p = ps[k % 2];
        printf("truth pa %s %d tag2=%d\n", p->name, p->n, p->pts[2].tag);
        long a = poly_area2(p);
        printf("truth par %ld\n", a);
        printf("truth ts %d {.n=%d, .pts=[...], .name=\"%s\"}\n", k, p->n, p->name);
        int t = poly_tagsum(p, k);
        printf("truth tsr %d\n", t);
    }
    char path[4096];
    snprintf(path, sizeof path, "%s", argv[0]);
    char *slash = strrchr(path, '/');
    strcpy(slash ? slash + 1 : path, "libplugin.so");
    void *h = dlopen(path, RTLD_NOW);
    if (!h) { fprintf(stderr, "%s\n", dlerror()); return 1; }
    long (*handle)(struct plugin_req *, const char *) = (long (*)(struct plugin_req *, const char *))dlsym(h, "plugin_handle");
    void **ra = (void **)dlsym(h, "plugin_ra");
    const char *args[] = { "alpha", "be", "gamma-ray" };
    for (int i = 0; i < 3; i++) {
        struct plugin_req rq = { i % 2 ? "put" : "get", i + 1, 0xc0ffee + i };
        printf("truth plug %s %d %s %lx\n", rq.verb, rq.level, args[i], rq.cookie);
        long r = handle(&rq, args[i]);
        printf("truth plugr %ld %d\n", r, i + 1);
        printf("truth caller 0x%lx\n", (unsigned long)*ra);
    }
    dlclose(h);
    keep = malloc(100);
    printf("truth pltret 0x%lx\n", (unsigned long)keep);
    free(keep);
    return 0;
}
