/*
 * Pareto/NBD (Schmittlein, Morrison & Colombo 1987): family descriptor for
 * the generic BTYD machinery in btyd.c. Work in progress.
 */
#include "btyd_internal.h"

static const char *const pnbd_names[] = {"r", "alpha", "s", "beta"};

double churn__pnbd_p_alive_at(const double *params, double t, double x, double tx, double T)
{
    (void)params; (void)t; (void)x; (void)tx; (void)T;
    return NAN;
}

const churn__btyd_family churn__pnbd_family = {
    CHURN_FAMILY_PNBD, 4, pnbd_names, NULL, NULL, NULL, NULL, NULL, NULL,
};
