/* Uses tv_lib.c's library; prints the library's values (libcalls is never referenced here directly). */
#include <stdio.h>
int libbump(int);
extern const char *libname;
__attribute__((noipa)) void report(int v) { printf("report libcalls=%d libname=%s\n", v, libname); }
int main(void) { report(libbump(2)); return 0; }
