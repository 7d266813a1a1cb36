/* dlopen libm, call frexp through dlsym, dlclose; twice.  Probes on libm must follow. */
#include <dlfcn.h>
#include <stdio.h>

int main(void) {
    int ok = 0;
    for (int round = 0; round < 2; round++) {
        void *h = dlopen("libm.so.6", RTLD_NOW);
        if (!h) return 2;
        double (*fx)(double, int *) = (double (*)(double, int *))dlsym(h, "frexp");
        int e;
        for (int i = 0; i < 3; i++) fx(8.0 * (i + 1), &e);
        ok += e == 5;
        dlclose(h);
    }
    printf("ok=%d\n", ok);
    return ok == 2 ? 0 : 1;
}
