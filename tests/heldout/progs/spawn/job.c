#include <stdio.h>
__attribute__((noipa)) int work(const char *what) { return (int)what[0]; }
int main(int argc, char **argv) { return work(argv[1]) == 0; }
