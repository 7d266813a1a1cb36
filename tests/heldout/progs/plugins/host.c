#include <dlfcn.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
struct vec { double x, y; int tag; };
struct poly { int n; struct vec pts[6]; const char *name; };
struct plugin_req { const char *verb; int level; long cookie; };
long poly_area2(const struct poly *p);
int poly_tagsum(const struct poly *p, int bias);

int main(int argc, char **argv)
{
    struct poly sq = { 4, {{0, 0, 1}, {4, 0, 2}, {4, 4, 3}, {0, 4, 4}}, "square" };
    struct poly tri = { 3, {{0, 0, 5}, {6, 0, 6}, {0, 3, 7}}, "triangle" };
    struct poly *ps[] = { &sq, &tri };
    for (int k = 0; k < 4; k++) {
        struct poly *p = ps[k % 2];
        long a = poly_area2(p);
        int t = poly_tagsum(p, k);
        printf("truth area %s %d %ld\ntruth tags %s %d %d\n", p->name, p->n, a, p->name, k, t);
    }
    char path[4096];
    snprintf(path, sizeof path, "%s", argv[0]);
    char *slash = strrchr(path, '/');
    strcpy(slash ? slash + 1 : path, "libplugin.so");
    void *h = dlopen(path, RTLD_NOW);
    if (!h) { fprintf(stderr, "%s\n", dlerror()); return 1; }
    long (*handle)(struct plugin_req *, const char *) = (long (*)(struct plugin_req *, const char *))dlsym(h, "plugin_handle");
    const char *args[] = { "alpha", "be", "gamma-ray" };
    for (int i = 0; i < 3; i++) {
        struct plugin_req rq = { i % 2 ? "put" : "get", i + 1, 0xc0ffee + i };
        long r = handle(&rq, args[i]);
        printf("truth plugin %s %d %s %ld\n", rq.verb, rq.level, args[i], r);
    }
    dlclose(h);
    char *m = malloc(100);
    free(m);
    return 0;
}
