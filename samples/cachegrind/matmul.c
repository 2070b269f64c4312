/* Dense matrix multiply C = A * B (doubles, naive i-j-k order): a strided walk over B
 * that gives the data caches conflict and capacity misses. Deterministic: no input, no time. */
#include <stdio.h>

#ifndef N /* make.sh uses the default; perf/cachegrind-vs-valgrind.sh scales it */
#define N 48
#endif

static double a[N][N], b[N][N], c[N][N];

int main(void)
{
    for (int i = 0; i < N; i++)
        for (int j = 0; j < N; j++) {
            a[i][j] = (double)(i + 2 * j) / N;
            b[i][j] = (double)(3 * i - j) / N;
        }
    for (int i = 0; i < N; i++)
        for (int j = 0; j < N; j++) {
            double s = 0.0;
            for (int k = 0; k < N; k++)
                s += a[i][k] * b[k][j];
            c[i][j] = s;
        }
    double trace = 0.0;
    for (int i = 0; i < N; i++)
        trace += c[i][i];
    printf("matmul trace %.6f\n", trace);
    return 0;
}
