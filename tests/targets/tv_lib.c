/* A shared library whose globals a probe in the executable reads with @var("name", "lib"). */
int libcalls = 40;
const char *libname = "tvlib";
int libbump(int k) { libcalls += k; return libcalls; }
