/* Transaction logs: appends, bulk arrays, ids, rollback, lookups. */
#include "churn.h"
#include "testutil.h"

#include <stdlib.h>
#include <string.h>

static churn_txlog *new_log(void)
{
    churn_txlog *log = NULL;
    CU_ASSERT_FATAL(churn_txlog_new(&log) == CHURN_OK);
    return log;
}

static void test_empty(void)
{
    churn_txlog *log = new_log();
    CU_ASSERT_EQUAL(churn_txlog_num_transactions(log), 0);
    CU_ASSERT_EQUAL(churn_txlog_num_customers(log), 0);
    CU_ASSERT_EQUAL(churn_txlog_num_products(log), 0);
    CU_ASSERT_PTR_NULL(churn_txlog_times(log));
    CU_ASSERT_PTR_NULL(churn_txlog_customer_id(log, 0));
    CU_ASSERT(isnan(churn_txlog_min_time(log)));
    CU_ASSERT(isnan(churn_txlog_max_time(log)));
    churn_txlog_free(log);
    churn_txlog_free(NULL);
    CU_ASSERT_EQUAL(churn_txlog_new(NULL), CHURN_EINVAL);
    /* NULL-tolerant accessors */
    CU_ASSERT_EQUAL(churn_txlog_num_transactions(NULL), 0);
    CU_ASSERT_PTR_NULL(churn_txlog_amounts(NULL));
}

static void test_appends(void)
{
    churn_txlog *log = new_log();
    CU_ASSERT_EQUAL(churn_txlog_append(log, "alice", 86400 * 3, 10.0), CHURN_OK);
    CU_ASSERT_EQUAL(churn_txlog_append(log, "bob", 86400 * 1, -4.5), CHURN_OK); /* refund */
    CU_ASSERT_EQUAL(churn_txlog_append_ex(log, "alice", 86400 * 2, 0.0, 3, "sku-1"), CHURN_OK);
    CU_ASSERT_EQUAL(churn_txlog_append_ex(log, "carol", 86400 * 9, 1.0, NAN, NULL), CHURN_OK);
    CU_ASSERT_EQUAL(churn_txlog_num_transactions(log), 4);
    CU_ASSERT_EQUAL(churn_txlog_num_customers(log), 3);
    CU_ASSERT_EQUAL(churn_txlog_num_products(log), 1);
    /* customers in order of first appearance; rows in input order */
    CU_ASSERT_STRING_EQUAL(churn_txlog_customer_id(log, 0), "alice");
    CU_ASSERT_STRING_EQUAL(churn_txlog_customer_id(log, 2), "carol");
    const uint32_t *c = churn_txlog_customers(log);
    CU_ASSERT(c[0] == 0 && c[1] == 1 && c[2] == 0 && c[3] == 2);
    CU_ASSERT_EQUAL(churn_txlog_amounts(log)[1], -4.5);
    CU_ASSERT_EQUAL(churn_txlog_amounts(log)[2], 0.0);
    CU_ASSERT(isnan(churn_txlog_quantities(log)[0]));
    CU_ASSERT_EQUAL(churn_txlog_quantities(log)[2], 3);
    CU_ASSERT_EQUAL(churn_txlog_products(log)[0], UINT32_MAX);
    CU_ASSERT_EQUAL(churn_txlog_products(log)[2], 0);
    CU_ASSERT_STRING_EQUAL(churn_txlog_product_id(log, 0), "sku-1");
    CU_ASSERT_EQUAL(churn_txlog_min_time(log), 86400);
    CU_ASSERT_EQUAL(churn_txlog_max_time(log), 86400 * 9);

    /* bad appends are rejected with a message naming the argument, and change nothing */
    CU_ASSERT_EQUAL(churn_txlog_append(log, "", 0, 1), CHURN_EINVAL);
    CU_ASSERT(strstr(churn_last_error_message(), "customer_id") != NULL);
    CU_ASSERT_EQUAL(churn_txlog_append(log, NULL, 0, 1), CHURN_EINVAL);
    CU_ASSERT_EQUAL(churn_txlog_append(log, "dave", NAN, 1), CHURN_EINVAL);
    CU_ASSERT(strstr(churn_last_error_message(), "time") != NULL);
    CU_ASSERT_EQUAL(churn_txlog_append(log, "dave", 0, INFINITY), CHURN_EINVAL);
    CU_ASSERT(strstr(churn_last_error_message(), "amount") != NULL);
    CU_ASSERT_EQUAL(churn_txlog_append_ex(log, "dave", 0, 1, -INFINITY, NULL), CHURN_EINVAL);
    CU_ASSERT(strstr(churn_last_error_message(), "quantity") != NULL);
    CU_ASSERT_EQUAL(churn_txlog_append(NULL, "dave", 0, 1), CHURN_EINVAL);
    CU_ASSERT_EQUAL(churn_txlog_num_transactions(log), 4);
    CU_ASSERT_EQUAL(churn_txlog_num_customers(log), 3);
    churn_txlog_free(log);
}

static void test_find_customer(void)
{
    churn_txlog *log = new_log();
    char id[32];
    /* enough ids to grow the intern table several times */
    for (int i = 0; i < 5000; i++) {
        snprintf(id, sizeof id, "cust-%d", i * 7919 % 5000);
        CU_ASSERT_EQUAL(churn_txlog_append(log, id, i, 1), CHURN_OK);
    }
    CU_ASSERT_EQUAL(churn_txlog_num_customers(log), 5000);
    size_t k = 99, bad = 0;
    for (int i = 0; i < 5000; i++) {
        snprintf(id, sizeof id, "cust-%d", i * 7919 % 5000);
        if (churn_txlog_find_customer(log, id, &k) != CHURN_OK || k != (size_t)i ||
            strcmp(churn_txlog_customer_id(log, k), id) != 0)
            bad++;
    }
    CU_ASSERT_EQUAL(bad, 0);
    CU_ASSERT_EQUAL(churn_txlog_find_customer(log, "cust-5000", &k), CHURN_ENOTFOUND);
    CU_ASSERT(strstr(churn_last_error_message(), "cust-5000") != NULL);
    /* a prefix of an existing id is a different id */
    CU_ASSERT_EQUAL(churn_txlog_find_customer(log, "cust-1", &k), CHURN_OK);
    CU_ASSERT_EQUAL(churn_txlog_find_customer(log, "cust-", &k), CHURN_ENOTFOUND);
    CU_ASSERT_EQUAL(churn_txlog_find_customer(log, NULL, &k), CHURN_EINVAL);
    CU_ASSERT_EQUAL(churn_txlog_find_customer(log, "x", NULL), CHURN_EINVAL);
    churn_txlog_free(log);
}

static void test_arrays_int_ids(void)
{
    churn_txlog *log = new_log();
    const int64_t ids[] = {42, -7, 42, 9007199254740993LL, 0};
    const double t[] = {5, 4, 3, 2, 1}, a[] = {1, 2, 3, 4, 5}, q[] = {1, NAN, 2, 3, 4};
    const int64_t prod[] = {100, 200, 100, 300, 200};
    CU_ASSERT_EQUAL(churn_txlog_append_arrays(log, 5, ids, t, a, q, prod), CHURN_OK);
    CU_ASSERT_EQUAL(churn_txlog_num_transactions(log), 5);
    CU_ASSERT_EQUAL(churn_txlog_num_customers(log), 4);
    CU_ASSERT_EQUAL(churn_txlog_num_products(log), 3);
    /* integer ids come back as their decimal text, exactly */
    CU_ASSERT_STRING_EQUAL(churn_txlog_customer_id(log, 0), "42");
    CU_ASSERT_STRING_EQUAL(churn_txlog_customer_id(log, 1), "-7");
    CU_ASSERT_STRING_EQUAL(churn_txlog_customer_id(log, 2), "9007199254740993");
    CU_ASSERT_STRING_EQUAL(churn_txlog_customer_id(log, 3), "0");
    CU_ASSERT_STRING_EQUAL(churn_txlog_product_id(log, 2), "300");
    CU_ASSERT_EQUAL(churn_txlog_customers(log)[2], 0);
    CU_ASSERT_EQUAL(churn_txlog_products(log)[4], 1);
    CU_ASSERT(isnan(churn_txlog_quantities(log)[1]));
    CU_ASSERT_EQUAL(churn_txlog_min_time(log), 1);
    CU_ASSERT_EQUAL(churn_txlog_max_time(log), 5);
    /* without quantities and products */
    CU_ASSERT_EQUAL(churn_txlog_append_arrays(log, 2, ids, t, a, NULL, NULL), CHURN_OK);
    CU_ASSERT_EQUAL(churn_txlog_num_transactions(log), 7);
    CU_ASSERT(isnan(churn_txlog_quantities(log)[6]));
    CU_ASSERT_EQUAL(churn_txlog_products(log)[6], UINT32_MAX);
    CU_ASSERT_EQUAL(churn_txlog_append_arrays(log, 0, NULL, NULL, NULL, NULL, NULL), CHURN_OK);
    CU_ASSERT_EQUAL(churn_txlog_append_arrays(log, 2, ids, NULL, a, NULL, NULL), CHURN_EINVAL);
    churn_txlog_free(log);
}

static void test_arrays_rollback(void)
{
    churn_txlog *log = new_log();
    CU_ASSERT_EQUAL(churn_txlog_append(log, "old", 100, 1), CHURN_OK);
    /* string ids; row 3 is bad: nothing of the batch is kept */
    const char *ids[] = {"new1", "old", "new2", "new3"};
    double t[] = {1, 2, 3, 4}, a[] = {1, 2, 3, 4};
    const char *prods[] = {"p", NULL, "q", "r"};
    a[3] = NAN;
    CU_ASSERT_EQUAL(churn_txlog_append_arrays_str(log, 4, ids, t, a, NULL, prods),
                    CHURN_EINVAL);
    CU_ASSERT(strstr(churn_last_error_message(), "row 3") != NULL);
    CU_ASSERT_EQUAL(churn_txlog_num_transactions(log), 1);
    CU_ASSERT_EQUAL(churn_txlog_num_customers(log), 1);
    CU_ASSERT_EQUAL(churn_txlog_num_products(log), 0);
    CU_ASSERT_EQUAL(churn_txlog_min_time(log), 100);
    size_t k;
    CU_ASSERT_EQUAL(churn_txlog_find_customer(log, "new1", &k), CHURN_ENOTFOUND);
    /* an empty id in the middle */
    a[3] = 4;
    ids[2] = "";
    CU_ASSERT_EQUAL(churn_txlog_append_arrays_str(log, 4, ids, t, a, NULL, prods),
                    CHURN_EINVAL);
    CU_ASSERT(strstr(churn_last_error_message(), "row 2") != NULL);
    CU_ASSERT_EQUAL(churn_txlog_num_transactions(log), 1);
    /* the good batch goes in whole */
    ids[2] = "new2";
    CU_ASSERT_EQUAL(churn_txlog_append_arrays_str(log, 4, ids, t, a, NULL, prods), CHURN_OK);
    CU_ASSERT_EQUAL(churn_txlog_num_transactions(log), 5);
    CU_ASSERT_EQUAL(churn_txlog_num_customers(log), 4);
    CU_ASSERT_EQUAL(churn_txlog_num_products(log), 3);
    CU_ASSERT_EQUAL(churn_txlog_customers(log)[2], 0); /* "old" */
    CU_ASSERT_EQUAL(churn_txlog_products(log)[2], UINT32_MAX);
    CU_ASSERT_EQUAL(churn_txlog_min_time(log), 1);
    /* the intern table still finds everything after the rollbacks */
    CU_ASSERT(churn_txlog_find_customer(log, "new3", &k) == CHURN_OK && k == 3);
    churn_txlog_free(log);
}

/* Allocation failures in the middle of a bulk append leave the log as it was. */
static long budget = -1;
static void *failing_alloc(void *ud, void *ptr, size_t n)
{
    (void)ud;
    if (n == 0) {
        free(ptr);
        return NULL;
    }
    if (budget == 0)
        return NULL;
    if (budget > 0)
        budget--;
    return realloc(ptr, n);
}

static void test_out_of_memory(void)
{
    enum { N = 3000 };
    int64_t *ids = malloc(N * sizeof *ids);
    double *t = malloc(N * sizeof *t), *a = malloc(N * sizeof *a);
    for (int i = 0; i < N; i++) {
        ids[i] = i;
        t[i] = i;
        a[i] = 1;
    }
    int done = 0;
    for (long b = 0; b < 5000 && !done; b += 1 + b / 8) {
        churn_txlog *log = new_log();
        CU_ASSERT_EQUAL(churn_txlog_append(log, "first", 0, 1), CHURN_OK);
        churn_set_allocator(failing_alloc, NULL);
        budget = b;
        int rc = churn_txlog_append_arrays(log, N, ids, t, a, NULL, NULL);
        budget = -1;
        churn_set_allocator(NULL, NULL);
        CU_ASSERT(rc == CHURN_OK || rc == CHURN_ENOMEM);
        if (rc == CHURN_OK) {
            done = 1;
            CU_ASSERT_EQUAL(churn_txlog_num_customers(log), N + 1);
        } else {
            CU_ASSERT_EQUAL(churn_txlog_num_transactions(log), 1);
            CU_ASSERT_EQUAL(churn_txlog_num_customers(log), 1);
        }
        churn_txlog_free(log);
    }
    CU_ASSERT(done);
    free(ids);
    free(t);
    free(a);
}

int main(void)
{
    CU_TestInfo tests[] = {
        {"empty", test_empty},
        {"appends", test_appends},
        {"find_customer", test_find_customer},
        {"arrays_int_ids", test_arrays_int_ids},
        {"arrays_rollback", test_arrays_rollback},
        {"out_of_memory", test_out_of_memory},
        CU_TEST_INFO_NULL,
    };
    return churn_test_run("txlog", tests);
}
