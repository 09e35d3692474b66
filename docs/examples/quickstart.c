/*
 * libchurn in C: read a purchase history, build the customer table as of a
 * cutoff, fit BG/NBD, and print the customers most likely to have left among
 * those who bought most often.
 *
 *   cc quickstart.c $(pkg-config --cflags --libs churn) -o quickstart
 *   ./quickstart transactions.csv 2025-01-01
 *
 * The CSV needs a header with customer_id, date and amount columns (what
 * `churn simulate` writes).
 */
#include <churn.h>

#include <stdio.h>
#include <stdlib.h>
#include <string.h>

static int fail(const char *what, int rc)
{
    fprintf(stderr, "%s: %s (%s)\n", what, churn_last_error_message(), churn_strerror(rc));
    return 1;
}

int main(int argc, char **argv)
{
    if (argc < 3) {
        fprintf(stderr, "usage: %s transactions.csv CUTOFF-DATE\n", argv[0]);
        return 2;
    }
    churn_txlog *log = NULL;
    churn_customers *table = NULL;
    churn_model *model = NULL;
    int rc, status = 1;

    if ((rc = churn_txlog_new(&log)) || (rc = churn_txlog_read_csv(log, argv[1], NULL))) {
        status = fail("reading transactions", rc);
        goto done;
    }

    churn_customer_options opts = CHURN_CUSTOMER_OPTIONS_INIT;
    opts.time_unit = CHURN_UNIT_WEEK;
    if ((rc = churn_parse_date(argv[2], strlen(argv[2]), CHURN_DATE_AUTO, &opts.cutoff)) ||
        (rc = churn_customers_build(&table, log, &opts))) {
        status = fail("building the customer table", rc);
        goto done;
    }
    size_t n = churn_customers_num_rows(table);
    const double *x = churn_customers_column(table, "frequency");
    const double *t_x = churn_customers_column(table, "recency");
    const double *T = churn_customers_column(table, "T");

    rc = churn_btyd_fit(&model, CHURN_FAMILY_BGNBD, n, x, t_x, T, NULL, NULL);
    if (rc) {
        status = fail("fitting BG/NBD", rc);
        goto done;
    }
    printf("BG/NBD on %zu customers: log-likelihood %.2f\n", n, churn_model_loglik(model));

    double *p_alive = malloc(n * sizeof *p_alive);
    double *expected = malloc(n * sizeof *expected);
    if (!p_alive || !expected) {
        free(p_alive);
        free(expected);
        fprintf(stderr, "out of memory\n");
        goto done;
    }
    rc = churn_btyd_score(model, 52.0, n, x, t_x, T, p_alive, expected);
    if (rc) {
        status = fail("scoring", rc);
    } else {
        /* frequent buyers (5+ repeat purchases) who have probably left */
        printf("%-12s %9s %8s %10s\n", "customer", "frequency", "p_alive", "E[52 wk]");
        int shown = 0;
        for (size_t i = 0; i < n && shown < 10; i++)
            if (x[i] >= 5 && p_alive[i] < 0.5) {
                printf("%-12s %9.0f %8.3f %10.2f\n", churn_customers_id(table, i), x[i],
                       p_alive[i], expected[i]);
                shown++;
            }
        status = 0;
    }
    free(p_alive);
    free(expected);
done:
    churn_model_free(model);
    churn_customers_free(table);
    churn_txlog_free(log);
    return status;
}
