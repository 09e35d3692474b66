/*
 * Small dense linear algebra for the Newton steps of the model fits: the
 * Cholesky factor of a k x k symmetric matrix and the solve with it. Sizes are
 * a handful of parameters (BTYD, Gamma-Gamma) up to a few hundred features
 * (Cox, AFT); large systems go to OpenBLAS/LAPACK instead (regression/).
 *
 * Calls: nothing else in lib/.
 */
#include "core/internal.h"

int churn__chol(double *a, size_t k, double rel_tol)
{
    for (size_t j = 0; j < k; j++) {
        double diag = a[j * k + j], s = diag;
        for (size_t l = 0; l < j; l++)
            s -= a[j * k + l] * a[j * k + l];
        if (!(s > rel_tol * fabs(diag)) || !isfinite(s))
            return -1;
        double d = sqrt(s);
        a[j * k + j] = d;
        for (size_t i = j + 1; i < k; i++) {
            double t = a[i * k + j];
            for (size_t l = 0; l < j; l++)
                t -= a[i * k + l] * a[j * k + l];
            a[i * k + j] = t / d;
        }
    }
    return 0;
}

void churn__chol_solve(const double *L, double *b, size_t k)
{
    for (size_t i = 0; i < k; i++) {
        double t = b[i];
        for (size_t l = 0; l < i; l++)
            t -= L[i * k + l] * b[l];
        b[i] = t / L[i * k + i];
    }
    for (size_t i = k; i-- > 0;) {
        double t = b[i];
        for (size_t l = i + 1; l < k; l++)
            t -= L[l * k + i] * b[l];
        b[i] = t / L[i * k + i];
    }
}
