/* Multi-dimensional arrays through target variables; prints the values it holds. */
#include <stdio.h>

int grid[3][4];
struct board { char names[2][6]; short cells[2][3]; } board = {{"ab", "cdef"}, {{1, 2, 3}, {4, 5, -6}}};

__attribute__((noipa)) int peek(struct board *b, int r, int c) {
    printf("peek grid[2][3]=%d cells[1][2]=%d names[1]=%s\n", grid[2][3], b->cells[r][c], b->names[1]);
    return grid[r][c];
}

int main(void) {
    for (int i = 0; i < 3; i++)
        for (int j = 0; j < 4; j++)
            grid[i][j] = 10 * i + j;
    return peek(&board, 1, 2) == 12 ? 0 : 1;
}
